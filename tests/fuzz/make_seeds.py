#!/usr/bin/env python3
"""Writes the seed corpora of tests/fuzz/corpus/ that are not copies of files elsewhere in the tree: a tiny
hand-encoded ONNX model (no onnx Python package needed) and Huffman decoder inputs. The other seeds are
small copies of the zoo, the shipped profiles and plans, and tests/bad-inputs/ files (see run.sh)."""
import os, struct

HERE = os.path.dirname(os.path.abspath(__file__))


def varint(v):
    out = b""
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def field(num, value):
    """One protobuf field: ints as varints, bytes/str as length-delimited."""
    if isinstance(value, int):
        return varint(num << 3) + varint(value)
    if isinstance(value, str):
        value = value.encode()
    return varint((num << 3) | 2) + varint(len(value)) + value


def value_info(name, dims):
    shape = b"".join(field(1, field(1, d)) for d in dims)                 # TensorShapeProto.dim.dim_value
    return field(1, name) + field(2, field(1, field(1, 1) + field(2, shape)))  # TypeProto.tensor_type


def tensor(name, dims, values):
    return b"".join(field(1, d) for d in dims) + field(2, 1) + field(8, name) + \
        field(9, struct.pack("<%df" % len(values), *values))


def onnx_model():
    conv = field(1, "x") + field(1, "w") + field(2, "y") + field(3, "conv1") + field(4, "Conv") + \
        field(5, field(1, "kernel_shape") + b"".join(field(8, 3) for _ in range(2)) + field(20, 7))
    relu = field(1, "y") + field(2, "z") + field(3, "relu1") + field(4, "Relu")
    graph = field(1, conv) + field(1, relu) + field(2, "tiny") + \
        field(5, tensor("w", [2, 1, 3, 3], [0.1 * i for i in range(18)])) + \
        field(11, value_info("x", [1, 1, 6, 6])) + field(12, value_info("z", [1, 2, 4, 4]))
    return field(1, 8) + field(7, graph) + field(8, field(1, "") + field(2, 13))


def huffman(lengths, count, bits, unused):
    data = bytes([len(lengths) - 1]) + bytes(lengths) + struct.pack("<H", count) + bytes([unused])
    return data + bytes(bits)


def put(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


if __name__ == "__main__":
    put("onnx", "tiny-conv-relu.onnx", onnx_model())
    # lengths 1,2,3,3 -> codes 0, 10, 110, 111; symbols 0 1 2 3 0 = 0 10 110 111 0 -> 0101 1011 10.. (10 bits)
    put("huffman", "four-symbols", huffman([1, 2, 3, 3], 5, [0b01011011, 0b10000000], 6))
    put("huffman", "one-symbol", huffman([1], 3, [0b00000000], 5))
    put("huffman", "absent-symbols", huffman([0, 2, 0, 2, 2, 2], 4, [0b00011011], 0))
