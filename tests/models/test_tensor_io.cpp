// .npy, .npz and safetensors: round trips, NumPy-made fixtures (tests/data/tensor_io/make_fixtures.py),
// a live cross-check against NumPy when a python3 with numpy is installed, and malformed inputs.
#include <doctest/doctest.h>

#include <cstring>
#include <functional>

#include "models/atomic_file.hpp"
#include "models/error.hpp"
#include "models/tensor_io.hpp"
#include "tests/support.hpp"

using namespace dkm;
using dkm::test::TempDir;

using dkm::test::input_error;

namespace {

std::string fixture(const std::string& name) { return test::source_path("tests/data/tensor_io/" + name); }

template <typename T>
Array make_array(DType dtype, std::vector<int64_t> shape, std::vector<T> values) {
  Array a;
  a.dtype = dtype;
  a.shape = std::move(shape);
  a.bytes.assign(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
  return a;
}

bool same(const Array& a, const Array& b) { return a.dtype == b.dtype && a.shape == b.shape && a.bytes == b.bytes; }

std::string le64(uint64_t v) {
  std::string s(8, '\0');
  std::memcpy(s.data(), &v, 8);
  return s;
}

std::string safetensors_bytes(const std::string& header, const std::string& data) {
  return le64(header.size()) + header + data;
}

// A python3 that can import numpy (Debian's /usr/bin/python3 first), or "".
std::string python_with_numpy() {
  for (std::string py : {"/usr/bin/python3", "python3"})
    if (std::system((py + " -c 'import numpy' >/dev/null 2>&1").c_str()) == 0) return py;
  return "";
}

const std::vector<float> kA = {0.f, 0.25f, 0.5f, 0.75f, 1.f, 1.25f};  // arange(6).reshape(2, 3) / 4

}  // namespace

TEST_CASE("npy: every dtype round-trips through encode and parse") {
  std::vector<Array> arrays = {
      make_array<uint16_t>(DType::f16, {2}, {0x3C00, 0xC000}),
      make_array<float>(DType::f32, {2, 3}, kA),
      make_array<double>(DType::f64, {1}, {3.5}),
      make_array<int8_t>(DType::i8, {3}, {-128, 0, 127}),
      make_array<uint8_t>(DType::u8, {1, 2}, {0, 255}),
      make_array<int16_t>(DType::i16, {1}, {-300}),
      make_array<uint16_t>(DType::u16, {1}, {65535}),
      make_array<int32_t>(DType::i32, {2, 1, 1}, {-7, 9}),
      make_array<uint32_t>(DType::u32, {1}, {4000000000u}),
      make_array<int64_t>(DType::i64, {}, {-5}),
      make_array<float>(DType::f32, {0, 3}, {}),
  };
  for (const Array& a : arrays) {
    CAPTURE(to_string(a.dtype));
    std::string bytes = encode_npy(a);
    CHECK((bytes.size() - a.bytes.size()) % 64 == 0);  // data 64-byte aligned, as numpy writes
    CHECK(same(parse_npy(bytes, "x.npy"), a));
  }
}

TEST_CASE("npy: the encoder writes what numpy.save writes, and reads versions 2.0 and 3.0") {
  Array u8 = make_array<uint8_t>(DType::u8, {1, 2}, {0, 255});
  CHECK(encode_npy(u8) == dkm::test::slurp(fixture("u8.npy")));
  for (const char* name : {"v2.npy", "v3.npy"}) {
    Tensor t = read_npy(fixture(name)).to_tensor(name, "a");
    CHECK(t.shape == std::vector<int64_t>{2, 3});
    CHECK(t.values == kA);
  }
  TempDir dir;
  write_npy(dir / "a.npy", make_array<float>(DType::f32, {2, 3}, kA));
  Weights w = load_weights(dir / "a.npy");
  REQUIRE(w.size() == 1);
  CHECK(w.at("a").values == kA);
}

TEST_CASE("npy: fortran order and big-endian data are refused with a way out") {
  CHECK(input_error([] { read_npy(fixture("fortran.npy")); }) ==
        fixture("fortran.npy") + ": byte 10: expected C-order data (fortran_order: False); save with numpy.ascontiguousarray()");
  CHECK(input_error([] { read_npy(fixture("bigendian.npy")); }) ==
        fixture("bigendian.npy") +
            ": byte 20: expected a little-endian dtype, got big-endian '>f4' (convert with "
            "array.astype(array.dtype.newbyteorder('<')))");
}

TEST_CASE("npy: malformed headers name the byte and what was expected") {
  std::string good = encode_npy(make_array<float>(DType::f32, {2, 3}, kA));
  auto header = [](const std::string& dict, const std::string& data = "") {
    std::string s = std::string("\x93NUMPY\x01\x00", 8);
    s.push_back(static_cast<char>(dict.size() & 0xFF));
    s.push_back(static_cast<char>(dict.size() >> 8));
    return s + dict + data;
  };
  CHECK(input_error([] { parse_npy("PK\x03\x04 not npy", "x.npy"); }) ==
        "x.npy: byte 0: expected the .npy magic \\x93NUMPY (not a NumPy .npy file)");
  std::string v4 = good;
  v4[6] = 4;
  CHECK(input_error([&] { parse_npy(v4, "x.npy"); }) == "x.npy: byte 6: expected npy format version 1.0, 2.0 or 3.0, got 4.0");
  CHECK(input_error([&] { parse_npy(good.substr(0, 40), "x.npy"); }) ==
        "x.npy: byte 8: expected a header length within the file (30 bytes after the length field), got 118");
  // A header promising 10^12 float32 values is refused before anything is allocated.
  CHECK(input_error([&] {
          parse_npy(header("{'descr': '<f4', 'fortran_order': False, 'shape': (1000000, 1000000), }"), "x.npy");
        }) == "x.npy: byte 81: shape (1000000, 1000000) of float32 needs more than the 0 data bytes in the file");
  CHECK(input_error([&] {
          parse_npy(header("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", "12345"), "x.npy");
        }) == "x.npy: byte 67: expected 8 data bytes for shape (2) of float32, got 5");
  CHECK(input_error([&] { parse_npy(header("{'descr': '<c8', 'fortran_order': False, 'shape': (), }"), "x.npy"); }) ==
        "x.npy: byte 20: expected 'descr' one of <f2 <f4 <f8 |i1 |u1 <i2 <u2 <i4 <u4 <i8, got '<c8'");
  CHECK(input_error([&] { parse_npy(header("{'descr': '<f4', 'shape': (), }"), "x.npy"); }) ==
        "x.npy: byte 10: expected a header with 'descr', 'fortran_order' and 'shape'");
  CHECK(input_error([&] { parse_npy(header("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }"), "x.npy"); }) ==
        "x.npy: byte 61: expected a non-negative integer dimension in 'shape'");
  CHECK(input_error([&] { parse_npy(header("{'descr': '<f4', 'fortran_order': Nope, 'shape': (), }"), "x.npy"); }) ==
        "x.npy: byte 44: expected True or False for 'fortran_order'");
  CHECK(input_error([&] { parse_npy(header("{'descr': '<f4', 'extra': 1, }"), "x.npy"); }) ==
        "x.npy: byte 27: expected only the keys 'descr', 'fortran_order' and 'shape', got 'extra'");
  CHECK(input_error([&] { parse_npy(header("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (), }"), "x.npy"); }) ==
        "x.npy: byte 20: expected 'descr' as a dtype string such as '<f4' (structured arrays are not supported)");
}

TEST_CASE("npz: numpy.savez and numpy.savez_compressed archives read back exactly") {
  for (const char* name : {"savez.npz", "savez_compressed.npz"}) {
    CAPTURE(name);
    ArrayMap arrays = read_npz(fixture(name));
    REQUIRE(arrays.size() == 3);
    CHECK(arrays.at("b").dtype == DType::i16);
    Weights w = load_weights(fixture(name));
    CHECK(w.at("conv1.weight").shape == std::vector<int64_t>{2, 3});
    CHECK(w.at("conv1.weight").values == kA);
    CHECK(w.at("b").values == std::vector<float>{-1.f, 2.f, 300.f});
    CHECK(w.at("c").values == std::vector<float>{0.5f, -2.f, 65504.f, 5.9604645e-8f});  // f16 incl. a subnormal
  }
}

TEST_CASE("npz: members with data descriptors (written to an unseekable stream) read back") {
  ArrayMap arrays = read_npz(fixture("descriptor.npz"));
  REQUIRE(arrays.size() == 2);
  CHECK(arrays.at("conv1.weight").to_tensor("d", "c").values == kA);
  CHECK(arrays.at("b").to_tensor("d", "b").values == std::vector<float>{-1.f, 2.f, 300.f});
}

TEST_CASE("npz: zip64 end records and zip64 extra fields are followed") {
  // Rewrites a one-member stored archive from write_npz in its zip64 form: saturated 32-bit fields in the
  // central record and the end record, the real values in a zip64 extra field and a zip64 end record.
  TempDir dir;
  write_npz(dir / "one.npz", {{"x", make_array<float>(DType::f32, {2}, {1.f, 2.f})}});
  std::string zip = dkm::test::slurp(dir / "one.npz");
  auto get = [&](size_t at, int width) {
    uint64_t v = 0;
    std::memcpy(&v, zip.data() + at, static_cast<size_t>(width));
    return v;
  };
  auto put = [](std::string& s, uint64_t v, int width) { s.append(reinterpret_cast<const char*>(&v), static_cast<size_t>(width)); };
  size_t eocd = zip.size() - 22, central = get(eocd + 16, 4);
  uint64_t size = get(central + 20, 4), name_len = get(central + 28, 2);
  std::string record = zip.substr(central, 46 + name_len);
  uint32_t saturated = 0xFFFFFFFF;
  std::memcpy(record.data() + 20, &saturated, 4);
  std::memcpy(record.data() + 24, &saturated, 4);
  std::memcpy(record.data() + 42, &saturated, 4);
  uint16_t extra_len = 28;
  std::memcpy(record.data() + 30, &extra_len, 2);
  put(record, 0x0001, 2);
  put(record, 24, 2);
  put(record, size, 8);  // uncompressed
  put(record, size, 8);  // compressed
  put(record, 0, 8);     // local header offset
  std::string out = zip.substr(0, central) + record;
  uint64_t zip64_end = out.size();
  put(out, 0x06064b50, 4);
  put(out, 44, 8);
  put(out, 45, 2);
  put(out, 45, 2);
  put(out, 0, 4);
  put(out, 0, 4);
  put(out, 1, 8);
  put(out, 1, 8);
  put(out, record.size(), 8);
  put(out, central, 8);
  put(out, 0x07064b50, 4);
  put(out, 0, 4);
  put(out, zip64_end, 8);
  put(out, 1, 4);
  put(out, 0x06054b50, 4);
  put(out, 0, 4);
  put(out, 0xFFFF, 2);
  put(out, 0xFFFF, 2);
  put(out, saturated, 4);
  put(out, saturated, 4);
  put(out, 0, 2);
  write_file_atomic(dir / "zip64.npz", out);
  ArrayMap arrays = read_npz(dir / "zip64.npz");
  REQUIRE(arrays.size() == 1);
  CHECK(arrays.at("x").to_tensor("z", "x").values == std::vector<float>{1.f, 2.f});
  // The same archive with the zip64 record's signature broken.
  out[zip64_end] = 'X';
  write_file_atomic(dir / "zip64.npz", out);
  CHECK(input_error([&] { read_npz(dir / "zip64.npz"); }) ==
        (dir / "zip64.npz") + ": byte " + std::to_string(zip64_end) + ": expected the zip64 end-of-central-directory record");
}

TEST_CASE("npz: write_npz round-trips, deterministically") {
  TempDir dir;
  ArrayMap arrays = {{"conv1.weight", make_array<float>(DType::f32, {2, 3}, kA)},
                     {"fc.bias", make_array<int32_t>(DType::i32, {2}, {-4, 4})},
                     {"empty", make_array<float>(DType::f32, {0}, {})}};
  write_npz(dir / "w.npz", arrays);
  ArrayMap back = read_npz(dir / "w.npz");
  REQUIRE(back.size() == 3);
  for (const auto& [name, a] : arrays) CHECK(same(back.at(name), a));
  CHECK(dkm::test::slurp(dir / "w.npz") == (write_npz(dir / "w2.npz", arrays), dkm::test::slurp(dir / "w2.npz")));  // deterministic
}

TEST_CASE("npz: numpy reads what write_npz writes") {
  std::string py = python_with_numpy();
  if (py.empty()) return dkm::test::skip("no python3 with numpy (tools/deps.sh test installs python3-numpy)");
  TempDir dir;
  write_npz(dir / "w.npz", {{"conv1.weight", make_array<float>(DType::f32, {2, 3}, kA)},
                            {"fc.bias", make_array<int32_t>(DType::i32, {2}, {-4, 4})},
                            {"empty", make_array<float>(DType::f32, {0}, {})}});
  std::string script = dir / "check.py";
  write_file_atomic(script,
                    "import sys, numpy as np\n"
                    "z = np.load(sys.argv[1])\n"
                    "print(sorted(z.files), z['conv1.weight'].tolist(), z['fc.bias'].dtype, z['fc.bias'].tolist(),"
                    " z['empty'].shape)\n");
  std::string cmd = py + " '" + script + "' '" + (dir / "w.npz") + "' > '" + (dir / "out.txt") + "' 2>&1";
  CHECK(std::system(cmd.c_str()) == 0);
  CHECK(dkm::test::slurp(dir / "out.txt") ==
        "['conv1.weight', 'empty', 'fc.bias'] [[0.0, 0.25, 0.5], [0.75, 1.0, 1.25]] int32 [-4, 4] (0,)\n");
}

TEST_CASE("npz: corrupt archives are refused with the byte offset") {
  TempDir dir;
  std::string good = dkm::test::slurp(fixture("savez.npz"));
  auto error_for = [&](const std::string& bytes) {
    write_file_atomic(dir / "bad.npz", bytes);
    std::string msg = input_error([&] { read_npz(dir / "bad.npz"); });
    return msg.empty() ? msg : msg.substr(msg.find(": ") + 2);
  };
  CHECK(error_for("hello") == "byte 0: expected a zip archive (.npz), got a file shorter than a zip end record");
  CHECK(error_for(std::string(100, 'x')) == "byte 100: expected a zip end-of-central-directory record (not a .npz / zip archive)");
  // Flip one data byte of the first member: the CRC catches it.
  std::string flipped = good;
  flipped[0x40 + 130] ^= 1;
  CHECK(error_for(flipped) == "member 'conv1.weight.npy', byte 66: expected CRC-32 a4009c0a, got 2525f92d (corrupt data)");
  std::string compressed = dkm::test::slurp(fixture("savez_compressed.npz"));
  std::string broken = compressed;
  for (size_t i = 0x40; i < 0x48; ++i) broken[i] = '\xff';
  CHECK(error_for(broken).rfind("member 'conv1.weight.npy', byte ", 0) == 0);
  CHECK(error_for(broken).find(": expected a valid deflate stream of 152 bytes (corrupt)") != std::string::npos);
  // A member that is not an .npy file.
  ArrayMap one = {{"x", make_array<float>(DType::f32, {1}, {1.f})}};
  write_npz(dir / "one.npz", one);
  std::string renamed = dkm::test::slurp(dir / "one.npz");
  for (size_t pos = renamed.find("x.npy"); pos != std::string::npos; pos = renamed.find("x.npy", pos + 1))
    renamed.replace(pos, 5, "x.txt");
  CHECK(error_for(renamed) == "byte 167: expected only .npy members, got 'x.txt'");
  // A truncated archive loses its end record.
  CHECK(error_for(good.substr(0, good.size() - 30)).find("a zip end-of-central-directory record") != std::string::npos);
}

TEST_CASE("safetensors: round trip with metadata, and a hand-written file") {
  Safetensors file;
  file.tensors["a.weight"] = make_array<float>(DType::f32, {2, 3}, kA);
  file.tensors["a.labels"] = make_array<uint8_t>(DType::u8, {3}, {1, 2, 3});
  file.tensors["z"] = make_array<int64_t>(DType::i64, {0}, {});
  file.metadata["format"] = "test";
  std::string bytes = encode_safetensors(file);
  uint64_t header_len;
  std::memcpy(&header_len, bytes.data(), 8);
  CHECK(header_len % 8 == 0);
  Safetensors back = parse_safetensors(bytes, "t.safetensors");
  CHECK(back.metadata == file.metadata);
  REQUIRE(back.tensors.size() == 3);
  for (const auto& [name, a] : file.tensors) CHECK(same(back.tensors.at(name), a));

  std::string data(6, '\0');
  data[0] = 7;
  data[2] = '\x01';
  data[3] = '\x80';
  Safetensors hand = parse_safetensors(
      safetensors_bytes(R"({"b":{"dtype":"I16","shape":[2],"data_offsets":[2,6]},"a":{"dtype":"U8","shape":[2],)"
                        R"("data_offsets":[0,2]},"__metadata__":{"k":"v"}})",
                        data),
      "h.safetensors");
  CHECK(hand.tensors.at("a").to_tensor("h", "a").values == std::vector<float>{7.f, 0.f});
  CHECK(hand.tensors.at("b").to_tensor("h", "b").values == std::vector<float>{-32767.f, 0.f});
  CHECK(hand.metadata.at("k") == "v");

  TempDir dir;
  Weights w = {{"conv.weight", Tensor{{1, 1, 1, 2}, {1.5f, -2.f}}}, {"conv.bias", Tensor{{1}, {0.25f}}}};
  save_weights(dir / "w.safetensors", w);
  save_weights(dir / "w.npz", w);
  for (const char* name : {"w.safetensors", "w.npz"}) {
    Weights r = load_weights(dir / name);
    CHECK(r.at("conv.weight").shape == w.at("conv.weight").shape);
    CHECK(r.at("conv.weight").values == w.at("conv.weight").values);
    CHECK(r.at("conv.bias").values == w.at("conv.bias").values);
  }
  CHECK(input_error([&] { load_weights(dir / "w.pt"); }) ==
        (dir / "w.pt") + ": expected a weights file ending in .npy, .npz or .safetensors");
  CHECK_THROWS_AS(save_weights(dir / "w.pt", w), UsageError);
}

TEST_CASE("safetensors: malformed headers and offsets are refused") {
  auto error_for = [](const std::string& header, const std::string& data) {
    return input_error([&] { parse_safetensors(safetensors_bytes(header, data), "s.safetensors"); });
  };
  CHECK(input_error([] { parse_safetensors("abc", "s.safetensors"); }) ==
        "s.safetensors: byte 0: expected an 8-byte safetensors header length (file too short)");
  CHECK(input_error([] { parse_safetensors(le64(1000) + "{}", "s.safetensors"); }) ==
        "s.safetensors: byte 0: expected a header length within the file (2 bytes after the length field), got 1000");
  CHECK(error_for("[1]", "") == "s.safetensors: header: expected a JSON object as the safetensors header, got an array ([1])");
  CHECK(error_for("{\"a\":", "") ==
        "s.safetensors: header, line 1, column 6: expected valid JSON: syntax error while parsing value - unexpected end "
        "of input; expected '[', '{', or a literal");
  // A tensor named twice is refused (JSON alone would keep the last one).
  CHECK(error_for(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})", "x") ==
        "s.safetensors: header.a: expected each key once in an object, got a duplicate key");
  CHECK(error_for(R"({"a":{"dtype":"BF16","shape":[1],"data_offsets":[0,2]}})", "xx") ==
        "s.safetensors: tensor 'a': expected dtype one of F16 F32 F64 I8 U8 I16 U16 I32 U32 I64, got \"BF16\"");
  CHECK(error_for(R"({"a":{"dtype":"F32","shape":[1]}})", "") ==
        "s.safetensors: tensor 'a': expected an object with 'dtype', 'shape' and 'data_offsets'");
  CHECK(error_for(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", "xxxx") ==
        "s.safetensors: tensor 'a': expected 'shape' as an array of non-negative integers, got [-1]");
  CHECK(error_for(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,8]}})", "xxxx") ==
        "s.safetensors: tensor 'a': expected 'data_offsets' [0, 8] within the 4-byte data buffer");
  CHECK(error_for(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", "xxxxxxxx") ==
        "s.safetensors: tensor 'a': expected 8 bytes for shape [2] of F32, got data_offsets [0, 4] (4 bytes)");
  // 10^12 elements against a 4-byte range: refused before any allocation.
  CHECK(error_for(R"({"a":{"dtype":"F32","shape":[1000000,1000000],"data_offsets":[0,4]}})", "xxxx") ==
        "s.safetensors: tensor 'a': shape [1000000, 1000000] of F32 needs more than the 4-byte data buffer");
  CHECK(error_for(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],)"
                  R"("data_offsets":[1,3]}})",
                  "xxx") ==
        "s.safetensors: tensor 'b': expected data_offsets starting at byte 2 of the buffer (tensors must be contiguous and "
        "not overlap), got 1");
  CHECK(error_for(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}})", "xxx") ==
        "s.safetensors: tensor 'a': expected data_offsets starting at byte 0 of the buffer (tensors must be contiguous and "
        "not overlap), got 1");
  CHECK(error_for(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}})", "xxxx") ==
        "s.safetensors: byte 63: expected the end of the file after the last tensor, got 2 more bytes");
  CHECK(error_for(R"({"__metadata__":{"n":1}})", "") == "s.safetensors: __metadata__.n: expected a string value");
}
