// Sizes dkm refuses before the work, each with its limit in the message: an .npz member that inflates to
// 3 GiB from 3 MB (made here with zlib, never allocated by dkm), and a spec with 2^40 channels, which is
// estimated at once and refused by `compress` before any weight is drawn. Every run has a time limit.
#include <doctest/doctest.h>

#include <zlib.h>

#include <cstdint>
#include <fstream>
#include <string>

#include "models/tensor_io.hpp"
#include "tests/support.hpp"

using dkm::test::run_dkm;
using dkm::test::source_path;
using dkm::test::TempDir;

namespace {

constexpr int kLimit = 120;  // seconds for any one run

std::string q(const std::string& s) { return "'" + s + "'"; }

void put(std::string& out, uint64_t value, int width) {
  for (int i = 0; i < width; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}

// Raw deflate of `in`, ended by a full flush: the compressor starts afresh after it, so the same input
// always gives the same bytes, and such pieces can be concatenated into one stream.
std::string deflate_piece(const std::string& in) {
  z_stream z{};
  REQUIRE(deflateInit2(&z, 9, Z_DEFLATED, -MAX_WBITS, 9, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out(deflateBound(&z, in.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&z, Z_FULL_FLUSH) == Z_OK);
  out.resize(out.size() - z.avail_out);
  deflateEnd(&z);
  return out;
}

// An .npz whose one member is a float32 .npy of `total` bytes (header included), all zeros after the
// header: a real deflate stream of about total / 1000 bytes with a correct CRC.
std::string zeros_npz(uint64_t total) {
  const uint64_t chunk = 1 << 20;
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + std::to_string((total - 128) / 4) + ",), }";
  header.append(128 - 10 - 1 - header.size(), ' ');
  header.push_back('\n');
  std::string head = std::string("\x93NUMPY\x01\x00", 8) + char(header.size() & 0xFF) + char(header.size() >> 8) + header;
  const std::string zeros(chunk, '\0');
  std::string first = head + std::string(chunk - head.size(), '\0');
  std::string data = deflate_piece(first);
  const std::string piece = deflate_piece(zeros);
  for (uint64_t done = chunk; done < total; done += chunk) data += piece;
  data += std::string("\x03\x00", 2);  // an empty final block
  uint32_t crc = static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(first.data()), static_cast<uInt>(chunk)));
  const uint32_t zeros_crc = static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(zeros.data()), static_cast<uInt>(chunk)));
  for (uint64_t done = chunk; done < total; done += chunk) crc = static_cast<uint32_t>(crc32_combine(crc, zeros_crc, chunk));
  const std::string name = "conv1.weight.npy";
  auto common = [&](std::string& s) {
    put(s, 20, 2), put(s, 0, 2), put(s, 8, 2), put(s, 0, 2), put(s, 0x21, 2), put(s, crc, 4);
    put(s, data.size(), 4), put(s, total, 4), put(s, name.size(), 2), put(s, 0, 2);
  };
  std::string zip;
  put(zip, 0x04034b50, 4), common(zip);
  zip += name + data;
  std::string central;
  put(central, 0x02014b50, 4), put(central, 20, 2), common(central);
  put(central, 0, 2), put(central, 0, 2), put(central, 0, 2), put(central, 0, 4), put(central, 0, 4);
  central += name;
  const uint64_t at = zip.size();
  zip += central;
  put(zip, 0x06054b50, 4), put(zip, 0, 2), put(zip, 0, 2), put(zip, 1, 2), put(zip, 1, 2);
  put(zip, central.size(), 4), put(zip, at, 4), put(zip, 0, 2);
  return zip;
}

}  // namespace

TEST_CASE("limits: an .npz member inflating to 3 GiB from 3 MB is refused from its declared size") {
  TempDir dir;
  const uint64_t total = uint64_t{3} << 30;
  const std::string npz = zeros_npz(total);
  CHECK(npz.size() < (uint64_t{8} << 20));
  std::ofstream(dir / "bomb.npz", std::ios::binary) << npz;
  const std::string spec = source_path("tests/bad-inputs/tiny-model.json");
  auto r = run_dkm("compress " + q(spec) + " --plan " + q(source_path("tests/bad-inputs/tiny-plan.json")) + " --weights " +
                       q(dir / "bomb.npz") + " -o " + q(dir / "c.safetensors"),
                   kLimit);
  CHECK(r.exit_code == 2);
  CHECK(r.err == "dkm: error: " + (dir / "bomb.npz") + ": byte " + std::to_string(npz.size() - 22 - 62) +
                     ": expected members that inflate to at most 2 GiB (2147483647 bytes) in all, got 3221225472 bytes more in "
                     "'conv1.weight.npy'\n");
}

TEST_CASE("limits: a 64 MiB deflated member is streamed into its array and read back whole") {
  TempDir dir;
  std::ofstream(dir / "w.npz", std::ios::binary) << zeros_npz(uint64_t{64} << 20);
  const dkm::ArrayMap arrays = dkm::read_npz(dir / "w.npz");
  REQUIRE(arrays.size() == 1);
  const dkm::Array& a = arrays.at("conv1.weight");
  CHECK(a.shape == std::vector<int64_t>{((int64_t{64} << 20) - 128) / 4});
  CHECK(a.bytes.size() == (uint64_t{64} << 20) - 128);
  CHECK(a.bytes.find_first_not_of('\0') == std::string::npos);
}

TEST_CASE("limits: a spec with 2^40 channels is estimated at once and refused by compress before any work") {
  TempDir dir;
  std::ofstream(dir / "wide.json") << R"({"format": "dkm-model/1", "name": "wide", "input": [1, 6, 6], "layers": [
    {"name": "conv1", "type": "conv2d", "out_channels": 1099511627776, "kernel": 3, "padding": 1, "bias": false},
    {"name": "conv2", "type": "conv2d", "out_channels": 2, "kernel": 3, "bias": false}]})";
  std::ofstream(dir / "plan.json") << R"({"format": "dkm-plan/1", "layers": [{"match": "conv*", "k": 4}]})";
  auto e = run_dkm("estimate " + q(dir / "wide.json") + " --plan " + q(dir / "plan.json"), kLimit);
  CHECK(e.exit_code == 0);
  CHECK(e.err == "");
  auto c = run_dkm("compress " + q(dir / "wide.json") + " --plan " + q(dir / "plan.json") + " --random-weights 1 -o " +
                       q(dir / "c.safetensors"),
                   kLimit);
  CHECK(c.exit_code == 2);
  CHECK(c.err == "dkm: error: wide: layer 'conv1': expected a weight that fits in 2 GiB (2147483647 bytes) of float32 "
                 "(dkm holds one tensor at a time), got 9895604649984 values\n");
}
