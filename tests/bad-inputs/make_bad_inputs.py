#!/usr/bin/env python3
"""Writes the malformed inputs of tests/bad-inputs/ (the catalogue itself, with the exact expected errors,
is catalogue.json; `--record DKM` prints what the current binary says, to review before updating it).
Needs only the standard library and a dkm binary for the one valid container the container cases start from."""
import json, os, struct, subprocess, sys, zlib

HERE = os.path.dirname(os.path.abspath(__file__))


def put(name, data):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)


def npy(descr="<f4", shape=(2, 2), data=None, fortran=False, version=(1, 0), header=None):
    if header is None:
        header = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (
            descr, "True" if fortran else "False", "(%s,)" % shape[0] if len(shape) == 1 else str(tuple(shape)))
    header += " " * ((64 - (len(header) + 11) % 64) % 64) + "\n"
    length = struct.pack("<H", len(header)) if version[0] == 1 else struct.pack("<I", len(header))
    if data is None:
        n = 1
        for d in shape:
            n *= d
        data = b"\0" * (4 * n)
    return b"\x93NUMPY" + bytes(version) + length + header.encode() + data


def zip_store(members, lie_uncompressed=None, deflate=False):
    """A minimal zip (what numpy.savez writes); `lie_uncompressed` overrides the sizes in both headers."""
    out, central = b"", b""
    for name, data in members:
        method, body = (8, zlib.compress(data)[2:-4]) if deflate else (0, data)
        usize = lie_uncompressed if lie_uncompressed is not None else len(data)
        crc = zlib.crc32(data)
        local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0, crc, len(body), usize, len(name), 0)
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, method, 0, 0, crc, len(body), usize,
                               len(name), 0, 0, 0, 0, 0, len(out)) + name.encode()
        out += local + name.encode() + body
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central), len(out), 0)
    return out + central + end


def safetensors(header, data=b"", length=None):
    h = json.dumps(header, separators=(",", ":")).encode()
    return struct.pack("<Q", len(h) if length is None else length) + h + data


def with_json(path, edit):
    d = json.load(open(os.path.join(HERE, path)))
    edit(d)
    return json.dumps(d, indent=1)


def tfjs_tiny():
    """The base TF.js layers model (tfjs-tiny/): 6x6x1 -> Conv2D 2x3x3 (uint8) -> Flatten -> Dense 3 (float32)."""
    layers = [
        {"class_name": "InputLayer", "name": "x", "config": {"name": "x", "batch_input_shape": [None, 6, 6, 1]},
         "inbound_nodes": []},
        {"class_name": "Conv2D", "name": "conv1", "config": {"name": "conv1", "filters": 2, "kernel_size": [3, 3],
                                                             "activation": "relu"},
         "inbound_nodes": [[["x", 0, 0, {}]]]},
        {"class_name": "Flatten", "name": "flat", "config": {"name": "flat"}, "inbound_nodes": [[["conv1", 0, 0, {}]]]},
        {"class_name": "Dense", "name": "fc", "config": {"name": "fc", "units": 3}, "inbound_nodes": [[["flat", 0, 0, {}]]]},
    ]
    weights = [
        {"name": "conv1/kernel", "shape": [3, 3, 1, 2], "dtype": "float32",
         "quantization": {"dtype": "uint8", "scale": 0.01, "min": -0.5}},
        {"name": "conv1/bias", "shape": [2], "dtype": "float32"},
        {"name": "fc/kernel", "shape": [32, 3], "dtype": "float32"},
        {"name": "fc/bias", "shape": [3], "dtype": "float32"},
    ]
    doc = {"format": "layers-model", "generatedBy": "make_bad_inputs.py",
           "modelTopology": {"model_config": {"class_name": "Model", "config": {
               "name": "tiny", "layers": layers, "input_layers": [["x", 0, 0]], "output_layers": [["fc", 0, 0]]}}},
           "weightsManifest": [{"paths": ["group1-shard1of1.bin"], "weights": weights}]}
    shard = bytes(range(18)) + struct.pack("<2f", 0.1, -0.1) + struct.pack("<99f", *[0.001 * i for i in range(99)])
    return doc, shard


def tfjs(name, edit=None, shard=None, text=None, link=None):
    """A TF.js model folder: model.json (the base edited, or `text`) and its shard (or a symlink `link`)."""
    d = os.path.join(HERE, name)
    os.makedirs(d, exist_ok=True)
    doc, base_shard = tfjs_tiny()
    if edit:
        edit(doc)
    put(os.path.join(name, "model.json"), text if text is not None else json.dumps(doc, indent=1))
    path = os.path.join(d, "group1-shard1of1.bin")
    if os.path.lexists(path):
        os.remove(path)
    if link:
        os.symlink(link, path)
    elif shard is not False:
        put(os.path.join(name, "group1-shard1of1.bin"), base_shard if shard is None else shard)


def tfjs_layer(doc, i):
    return doc["modelTopology"]["model_config"]["config"]["layers"][i]


def tfjs_weight(doc, i):
    return doc["weightsManifest"][0]["weights"][i]


def main():
    tiny = json.load(open(os.path.join(HERE, "tiny-model.json")))

    # --- model specs (dkm info) ---
    put("model-empty.json", "")
    put("model-not-json.json", '{"format": "dkm-model/1", "name": ')
    put("model-trailing.json", json.dumps(tiny) + " }")
    put("model-top-array.json", "[1, 2, 3]")
    put("model-wrong-format.json", with_json("tiny-model.json", lambda d: d.update(format="dkm-model/9")))
    put("model-duplicate-key.json", '{"format": "dkm-model/1", "name": "a", "name": "b", "input": [1, 4, 4], "layers": []}')
    put("model-unknown-type.json", with_json("tiny-model.json", lambda d: d["layers"][0].update(type="conv3d")))
    put("model-huge-channels.json", with_json("tiny-model.json", lambda d: d["layers"][0].update(out_channels=2**62)))
    put("model-huge-input.json", with_json("tiny-model.json", lambda d: d.update(input=[1000000, 1000000, 1000000])))
    put("model-too-big-integer.json", with_json("tiny-model.json", lambda d: d.update(batch=10**30)))
    put("model-negative-kernel.json", with_json("tiny-model.json", lambda d: d["layers"][0].update(kernel=-3)))
    put("model-kernel-too-big.json", with_json("tiny-model.json", lambda d: d["layers"][0].update(kernel=9)))
    put("model-unknown-input.json", with_json("tiny-model.json", lambda d: d["layers"][0].update(inputs="nowhere")))
    put("model-duplicate-layer.json", with_json("tiny-model.json", lambda d: d["layers"].append(dict(d["layers"][0]))))
    put("model-number-overflow.json", with_json("tiny-model.json", lambda d: d.update(batch=1)).replace('"batch": 1', '"batch": 1e999'))
    put("model-bits-33.json", with_json("tiny-model.json", lambda d: d.update(weight_bits=33)))
    # Valid, but 2^40 channels cannot be held: `compress --random-weights` refuses it before drawing any.
    put("model-channels-2e40.json", with_json("tiny-model.json", lambda d: d["layers"][0].update(out_channels=2**40)))

    # --- hardware profiles (dkm estimate --hw) ---
    put("profile-not-json.json", "{\"format\": \"dkm-hwprofile/1\"")
    put("profile-wrong-format.json", '{"format": "dkm-hwprofile/0"}')
    put("profile-no-energy.json", with_json("../../hwprofiles/eyeriss-65nm.json", lambda d: d["mac"].pop("value")))
    put("profile-negative-energy.json", with_json("../../hwprofiles/eyeriss-65nm.json", lambda d: d["mac"].update(value=-1)))
    put("profile-huge-array.json", with_json("../../hwprofiles/eyeriss-65nm.json",
                                             lambda d: d["pe_array"].update(rows=2**62, cols=2**62)))
    put("profile-number-overflow.json", '{"format": "dkm-hwprofile/1", "mac": {"value": 1e999}}')
    put("profile-unit-mismatch.json", with_json("../../hwprofiles/eyeriss-65nm.json", lambda d: d["mac"].update(unit="pJ")))
    put("profile-duplicate-key.json", with_json("../../hwprofiles/eyeriss-65nm.json", lambda d: None)
        .replace('"pe_array": {', '"pe_array": {"cols": 14,', 1))
    put("profile-huge-energy.json", with_json("../../hwprofiles/eyeriss-65nm.json", lambda d: d["dram"]["energy"].update(value=1e308)))

    # --- plans (dkm estimate --plan) ---
    put("plan-not-json.json", "{\"format\": ")
    put("plan-wrong-format.json", with_json("tiny-plan.json", lambda d: d.update(format="dkm-plan/2")))
    put("plan-k-zero.json", with_json("tiny-plan.json", lambda d: d["layers"][0].update(k=0)))
    put("plan-sparsity-above-one.json", with_json("tiny-plan.json", lambda d: d["layers"][0].update(sparsity=1.5)))
    put("plan-unknown-granularity.json", with_json("tiny-plan.json", lambda d: d["defaults"].update(granularity="channel")))
    put("plan-unmatched-rule.json", with_json("tiny-plan.json", lambda d: d["layers"][0].update(match="conv9")))
    put("plan-number-overflow.json", '{"format": "dkm-plan/1", "layers": [{"match": "conv1", "k": 2e999}]}')
    put("plan-huge-k.json", with_json("tiny-plan.json", lambda d: d["layers"][0].update(k=2**62)))
    # JSON keeps the last of a repeated key; dkm's one reader refuses it in every format.
    put("plan-duplicate-key.json", '{"format": "dkm-plan/1", "defaults": {"k": 2, "k": 3}}')

    # --- .npy (dkm kmeans) ---
    put("npy-empty.npy", b"")
    put("npy-bad-magic.npy", b"\x93NUMPX\x01\x00" + npy()[8:])
    put("npy-version-9.npy", npy(version=(9, 0)))
    put("npy-header-past-end.npy", npy()[:8] + b"\xff\xff" + npy()[10:40])
    put("npy-big-endian.npy", npy(descr=">f4"))
    put("npy-object.npy", npy(descr="|O"))
    put("npy-fortran.npy", npy(fortran=True))
    put("npy-huge-shape.npy", npy(shape=(1000000, 1000000), data=b"\0" * 16))
    put("npy-overflow-shape.npy", npy(shape=(2**40, 2**40, 2**40), data=b"\0" * 16))
    put("npy-truncated-data.npy", npy(shape=(4, 2), data=b"\0" * 20))
    put("npy-structured.npy", npy(header="{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", data=b"\0" * 8))
    put("npy-nan.npy", npy(shape=(2, 1), data=struct.pack("<2f", 1.0, float("nan"))))

    w = struct.pack("<18f", *[0.01 * i for i in range(18)])
    good_weight = npy(shape=(2, 1, 3, 3), data=w)
    # --- .npz (dkm compress --weights) ---
    put("npz-not-zip.npz", b"PK\x03\x04 this is not a zip")
    put("npz-huge-member.npz", zip_store([("conv1.weight.npy", good_weight)], lie_uncompressed=2**32 - 2, deflate=True))
    put("npz-size-mismatch.npz", zip_store([("conv1.weight.npy", good_weight)], lie_uncompressed=len(good_weight) + 1))
    put("npz-not-npy-member.npz", zip_store([("conv1.weight.txt", b"hello")]))
    put("npz-bad-member.npz", zip_store([("conv1.weight.npy", good_weight[:-8])]))
    z = bytearray(zip_store([("conv1.weight.npy", good_weight)], deflate=True))
    z[60] ^= 0xFF  # inside the deflate stream (30-byte header + 16-byte name)
    put("npz-corrupt-deflate.npz", bytes(z))
    put("npz-wrong-shape.npz", zip_store([("conv1.weight.npy", npy(shape=(3, 3)))]))

    # --- safetensors (dkm compress --weights) ---
    put("st-short.safetensors", b"\x10\0\0")
    put("st-huge-header.safetensors", struct.pack("<Q", 2**62) + b"{}")
    put("st-bad-json.safetensors", struct.pack("<Q", 5) + b"{\"a\":")
    put("st-offsets-past-end.safetensors",
        safetensors({"conv1.weight": {"dtype": "F32", "shape": [2, 1, 3, 3], "data_offsets": [0, 72]}}, w[:40]))
    overflow = b'{"conv1.weight":{"dtype":"F32","shape":[1e999],"data_offsets":[0,72]}}'
    put("st-number-overflow.safetensors", struct.pack("<Q", len(overflow)) + overflow + w)
    put("st-huge-shape.safetensors",
        safetensors({"conv1.weight": {"dtype": "F32", "shape": [2**62, 2**62], "data_offsets": [0, 72]}}, w))
    put("st-shape-size-mismatch.safetensors",
        safetensors({"conv1.weight": {"dtype": "F32", "shape": [2, 1, 3, 4], "data_offsets": [0, 72]}}, w))
    put("st-unknown-dtype.safetensors",
        safetensors({"conv1.weight": {"dtype": "F128", "shape": [2, 1, 3, 3], "data_offsets": [0, 72]}}, w))
    put("st-overlap.safetensors",
        safetensors({"a": {"dtype": "F32", "shape": [18], "data_offsets": [0, 72]},
                     "b": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}}, w))
    put("st-missing-weight.safetensors",
        safetensors({"other.weight": {"dtype": "F32", "shape": [2, 1, 3, 3], "data_offsets": [0, 72]}}, w))

    # --- compressed container (dkm decompress) ---
    good = open(os.path.join(HERE, "tiny-compressed.safetensors"), "rb").read()
    n = struct.unpack("<Q", good[:8])[0]
    header, data = json.loads(good[8:8 + n]), good[8 + n:]
    layers = json.loads(header["__metadata__"]["layers"])

    def container(name, edit_layer=None, edit_header=None, edit_data=None):
        h = json.loads(json.dumps(header))
        ls = json.loads(json.dumps(layers))
        if edit_layer:
            edit_layer(ls[0])
        h["__metadata__"]["layers"] = json.dumps(ls, separators=(",", ":"))
        if edit_header:
            edit_header(h)
        d = bytearray(data)
        if edit_data:
            edit_data(h, d)
        put(name, safetensors(h, bytes(d)))

    def tensor_bytes(h, d, tensor, fn):
        a, b = h[tensor]["data_offsets"]
        d[a:b] = fn(bytes(d[a:b]))

    container("ct-no-format.safetensors", edit_header=lambda h: h["__metadata__"].pop("format"))
    container("ct-wrong-format.safetensors", edit_header=lambda h: h["__metadata__"].update(format="dkm-compressed/0"))
    container("ct-number-overflow.safetensors", edit_header=lambda h: h["__metadata__"].update(layers='[{"k": 1e999}]'))
    container("ct-layers-not-json.safetensors", edit_header=lambda h: h["__metadata__"].update(layers="[{"))
    container("ct-huge-k.safetensors", edit_layer=lambda l: l.update(k=2**31 - 1, label_bits=31))
    container("ct-huge-shape.safetensors", edit_layer=lambda l: l.update(weight_shape=[2**40, 2**40, 1, 1]))
    container("ct-vectors-mismatch.safetensors", edit_layer=lambda l: l.update(vectors=l["vectors"] + 1))
    container("ct-label-bits.safetensors", edit_layer=lambda l: l.update(label_bits=7))
    container("ct-missing-codebook.safetensors", edit_header=lambda h: h.pop("conv1.codebook"))
    container("ct-nan-codebook.safetensors",
              edit_data=lambda h, d: tensor_bytes(h, d, "conv1.codebook", lambda b: struct.pack("<f", float("nan")) + b[4:]))
    container("ct-huffman-mismatch.safetensors",
              edit_data=lambda h, d: tensor_bytes(h, d, "conv1.huffman", lambda b: bytes([b[0] ^ 0x80]) + b[1:]))
    container("ct-huffman-lengths.safetensors",
              edit_data=lambda h, d: tensor_bytes(h, d, "conv1.huffman_lengths", lambda b: bytes([40]) + b[1:]))
    container("ct-huffman-short.safetensors", edit_layer=lambda l: l.update(huffman_bits=l["vectors"] - 1))
    container("ct-huge-vectors.safetensors",
              edit_layer=lambda l: l.update(weight_shape=[2**20, 2**20, 3, 3], vectors=2**40, huffman_bits=2**40))
    container("ct-extra-tensor.safetensors",
              edit_data=lambda h, d: (h.update(stray={"dtype": "U8", "shape": [4], "data_offsets": [len(d), len(d) + 4]}),
                                      d.extend(b"\0" * 4)))

    # --- TF.js layers models (dkm info DIR/model.json) ---
    tfjs("tfjs-tiny")
    base, base_shard = tfjs_tiny()
    tfjs("tfjs-not-json", text='{"format": "layers-model",\n "modelTopology": ')
    tfjs("tfjs-duplicate-key", text=json.dumps(base, indent=1).replace('"format": "layers-model",',
                                                                        '"format": "layers-model", "format": "x",'))
    tfjs("tfjs-missing-shard", shard=False)
    tfjs("tfjs-shard-short", shard=base_shard[:-1])
    tfjs("tfjs-shard-dev-zero", link="/dev/zero")
    tfjs("tfjs-shard-escape", edit=lambda d: d["weightsManifest"][0].update(paths=["../tiny-model.json"]))
    tfjs("tfjs-unknown-class", edit=lambda d: tfjs_layer(d, 1).update(class_name="Conv3D"))
    tfjs("tfjs-unsupported-class", edit=lambda d: tfjs_layer(d, 1).update(class_name="Conv2DTranspose"))
    tfjs("tfjs-unknown-dtype", edit=lambda d: tfjs_weight(d, 2).update(dtype="complex64"))
    tfjs("tfjs-unknown-quantization", edit=lambda d: tfjs_weight(d, 0)["quantization"].update(dtype="int4"))
    tfjs("tfjs-huge-shape", edit=lambda d: tfjs_weight(d, 2).update(shape=[2**31, 2**31]))
    tfjs("tfjs-huge-weights", edit=lambda d: tfjs_weight(d, 2).update(shape=[2**29, 3]))
    tfjs("tfjs-shape-mismatch", edit=lambda d: tfjs_weight(d, 0).update(shape=[3, 3, 2, 1]))
    tfjs("tfjs-unused-weight", edit=lambda d: d["weightsManifest"][0]["weights"].append(
        {"name": "stray/kernel", "shape": [0], "dtype": "float32"}))
    tfjs("tfjs-nan-weight", shard=base_shard[:18] + struct.pack("<f", float("nan")) + base_shard[22:])
    tfjs("tfjs-graph-model", edit=lambda d: d.update(format="graph-model"))
    tfjs("tfjs-bare-manifest", text=json.dumps(base["weightsManifest"]))
    tfjs("tfjs-channels-first", edit=lambda d: tfjs_layer(d, 1)["config"].update(data_format="channels_first"))
    tfjs("tfjs-null-input", edit=lambda d: tfjs_layer(d, 0)["config"].update(batch_input_shape=[None, None, None, 1]))
    tfjs("tfjs-shared-layer", edit=lambda d: tfjs_layer(d, 3).update(
        inbound_nodes=[[["flat", 0, 0, {}]], [["flat", 0, 0, {}]]]))

    # --- ONNX (dkm info) ---
    put("onnx-garbage.onnx", b"\x08\x07\x12\xff\xff\xff\xff\x0f not a protobuf")
    put("onnx-empty.onnx", b"")
    sys.path.insert(0, os.path.join(HERE, "..", "fuzz"))
    from make_seeds import field, tensor, value_info
    conv = field(1, "x") + field(1, "w") + field(2, "y") + field(3, "conv1") + field(4, "Conv")
    huge_weight = field(1, conv) + field(2, "g") + field(5, tensor("w", [2**62, 1, 3, 3], [0.5] * 18)) + \
        field(11, value_info("x", [1, 1, 6, 6])) + field(12, value_info("y", [1, 2, 4, 4]))
    put("onnx-huge-weight.onnx", field(1, 8) + field(7, huge_weight) + field(8, field(1, "") + field(2, 13)))
    huge_input = field(1, conv) + field(2, "g") + field(5, tensor("w", [2, 1, 3, 3], [0.5] * 18)) + \
        field(11, value_info("x", [1, 1, 2**40, 2**40])) + field(12, value_info("y", [1, 2, 4, 4]))
    bad_name = field(1, "x") + field(1, "w") + field(2, "y") + field(3, b"conv\xff\xfe") + field(4, "Conv")
    bad_utf8 = field(1, bad_name) + field(2, "g") + field(5, tensor("w", [2, 1, 3, 3], [0.5] * 18)) + \
        field(11, value_info("x", [1, 1, 6, 6])) + field(12, value_info("y", [1, 2, 4, 4]))
    put("onnx-name-not-utf8.onnx", field(1, 8) + field(7, bad_utf8) + field(8, field(1, "") + field(2, 13)))
    put("onnx-huge-input.onnx", field(1, 8) + field(7, huge_input) + field(8, field(1, "") + field(2, 13)))
    # Shape arithmetic on constants (folded at import): a float too large for an integer Cast, and a
    # Transpose whose perm repeats an axis (it used to read past the constant).
    def graph_with(nodes):
        return field(1, 8) + field(7, b"".join(field(1, n) for n in nodes) + field(2, "g") +
                                   field(11, value_info("x", [1, 1, 6, 6])) + field(12, value_info("x", [1, 1, 6, 6]))) + \
            field(8, field(1, "") + field(2, 13))
    def const_node(out, dims, values):  # Constant with a tensor-valued attribute "value" (AttributeProto.t)
        return field(2, out) + field(3, "c") + field(4, "Constant") + \
            field(5, field(1, "value") + field(5, tensor("", dims, values)) + field(20, 4))
    cast = field(1, "c") + field(2, "ci") + field(3, "cast") + field(4, "Cast") + field(5, field(1, "to") + field(3, 7) + field(20, 2))
    put("onnx-cast-overflow.onnx", graph_with([const_node("c", [1], [1e30]), cast]))
    transpose = field(1, "c") + field(2, "ct") + field(3, "tr") + field(4, "Transpose") + \
        field(5, field(1, "perm") + field(8, 0) + field(8, 0) + field(20, 7))
    put("onnx-transpose-bad-perm.onnx", graph_with([const_node("c", [2, 3], [1, 2, 3, 4, 5, 6]), transpose]))
    # Window attributes of Conv and MaxPool, each checked like the spec reader checks its keys (a zero stride
    # used to divide by zero, a huge dilation to overflow, a mistyped attribute to be ignored).
    def ints_attr(name, values):
        return field(5, field(1, name) + b"".join(field(8, v) for v in values) + field(20, 7))
    def window_model(op, attrs, weight=True):
        node = field(1, "x") + (field(1, "w") if weight else b"") + field(2, "y") + field(3, op.lower() + "1") + \
            field(4, op) + attrs
        graph = field(1, node) + field(2, "g") + \
            (field(5, tensor("w", [2, 1, 3, 3], [0.5] * 18)) if weight else b"") + \
            field(11, value_info("x", [1, 1, 6, 6])) + field(12, value_info("y", [1, 2, 4, 4]))
        return field(1, 8) + field(7, graph) + field(8, field(1, "") + field(2, 13))
    put("onnx-conv-zero-stride.onnx", window_model("Conv", ints_attr("strides", [0, 1])))
    put("onnx-conv-huge-dilation.onnx", window_model("Conv", ints_attr("dilations", [2**62, 1])))
    put("onnx-conv-negative-pad.onnx", window_model("Conv", ints_attr("pads", [0, 2**64 - 1, 0, 0])))  # -1 as a varint
    put("onnx-conv-group-not-dividing.onnx", window_model("Conv", field(5, field(1, "group") + field(3, 2) + field(20, 2))))
    put("onnx-conv-strides-wrong-type.onnx", window_model("Conv", field(5, field(1, "strides") + field(3, 2) + field(20, 2))))
    put("onnx-conv-kernel-mismatch.onnx", window_model("Conv", ints_attr("kernel_shape", [3])))
    put("onnx-maxpool-zero-stride.onnx",
        window_model("MaxPool", ints_attr("kernel_shape", [2, 2]) + ints_attr("strides", [1, 0]), weight=False))
    put("onnx-maxpool-zero-kernel.onnx", window_model("MaxPool", ints_attr("kernel_shape", [0, 2]), weight=False))
    put("onnx-maxpool-pads-and-auto-pad.onnx",
        window_model("MaxPool", ints_attr("kernel_shape", [2, 2]) + ints_attr("pads", [1, 1, 1, 1]) +
                     field(5, field(1, "auto_pad") + field(4, "SAME_UPPER") + field(20, 3)), weight=False))
    # ConvTranspose with a rank-1 weight: ONNX's own inference read the weight's second dim (SIGSEGV in libonnx).
    up = field(1, "x") + field(1, "w") + field(2, "y") + field(3, "up") + field(4, "ConvTranspose")
    put("onnx-convtranspose-rank1-weight.onnx",
        field(1, 8) + field(7, field(1, up) + field(2, "g") + field(5, tensor("w", [16], [0.5] * 16)) +
                             field(11, value_info("x", [1, 4, 8, 8])) + field(12, value_info("y", [1, 4, 8, 8]))) +
        field(8, field(1, "") + field(2, 13)))
    # ConvTranspose attributes, checked as strictly as Conv's (x [1, 2, 4, 4], weight [C_in 2, M/group 1, 3, 3]).
    def convt_model(attrs, x=(1, 2, 4, 4), y=(1, 1, 6, 6)):
        node = field(1, "x") + field(1, "w") + field(2, "y") + field(3, "up") + field(4, "ConvTranspose") + attrs
        graph = field(1, node) + field(2, "g") + field(5, tensor("w", [2, 1, 3, 3], [0.5] * 18)) + \
            field(11, value_info("x", list(x))) + field(12, value_info("y", list(y)))
        return field(1, 8) + field(7, graph) + field(8, field(1, "") + field(2, 13))
    put("onnx-convtranspose-zero-stride.onnx", convt_model(ints_attr("strides", [0, 1])))
    put("onnx-convtranspose-negative-output-padding.onnx", convt_model(ints_attr("output_padding", [2**64 - 1, 0])))
    put("onnx-convtranspose-output-padding-too-big.onnx",
        convt_model(ints_attr("strides", [2, 2]) + ints_attr("output_padding", [2, 2]), y=(1, 1, 11, 11)))
    put("onnx-convtranspose-group-not-dividing.onnx",
        convt_model(field(5, field(1, "group") + field(3, 3) + field(20, 2)), y=(1, 3, 6, 6)))
    put("onnx-convtranspose-huge-output-shape.onnx", convt_model(ints_attr("output_shape", [2**40, 6])))
    put("onnx-convtranspose-output-shape-too-big.onnx", convt_model(ints_attr("output_shape", [20, 20]), y=(1, 1, 20, 20)))

    # --- dkm run / calibrate / evaluate on tiny-model.json (input 1x6x6, conv1 2x1x3x3, fc 3x32) ---
    fc = npy(shape=(3, 32), data=struct.pack("<96f", *[0.001 * i for i in range(96)]))
    put("run-weights.npz", zip_store([("conv1.weight.npy", good_weight), ("fc.weight.npy", fc)]))
    put("run-input.npy", npy(shape=(1, 1, 6, 6)))
    put("run-wrong-shape.npy", npy(shape=(1, 1, 5, 6)))
    put("run-nan-input.npy", npy(shape=(1, 1, 6, 6), data=struct.pack("<36f", *[float("nan") if i == 7 else 0.0 for i in range(36)])))
    put("run-missing-weight.npz", zip_store([("conv1.weight.npy", good_weight)]))
    put("run-weight-shape.npz", zip_store([("conv1.weight.npy", npy(shape=(2, 1, 9), data=w)), ("fc.weight.npy", fc)]))
    put("run-labels-fraction.npy", npy(shape=(1,), data=struct.pack("<f", 1.5)))


def record(dkm):
    cat = json.load(open(os.path.join(HERE, "catalogue.json")))
    import tempfile
    for case in cat["cases"]:
        with tempfile.TemporaryDirectory() as out:
            args = [a.replace("{dir}", HERE).replace("{out}", out) for a in case["args"]]
            p = subprocess.run([dkm] + args, capture_output=True, text=True)
            print(json.dumps({"name": case["name"], "exit": p.returncode,
                              "stderr": p.stderr.replace(HERE, "{dir}").replace(out, "{out}")}))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--record":
        record(sys.argv[2])
    else:
        main()
