// The compressed container: a hand-made model whose bytes are worked out by hand, write -> read -> equal,
// decompress == codebook[label], readability by a plain safetensors parser, and every corruption.
#include <doctest/doctest.h>

#include <cstring>
#include <functional>
#include <limits>
#include <random>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "kmeans/container.hpp"
#include "models/atomic_file.hpp"
#include "models/error.hpp"
#include "models/tensor_io.hpp"
#include "tests/support.hpp"

using namespace dkm;
using namespace dkm::kmeans;
using dkm::test::TempDir;
using nlohmann::json;

using dkm::test::input_error;

namespace {

// conv1: OIHW [2,1,2,3], rows of 3, k = 3; fc: [2,4] scalar with a single centre; conv2: [2,2,1,1] filters.
CompressedModel hand_model() {
  CompressedModel m;
  m.model = "tiny";
  m.random_weights = true;
  m.weights_seed = 18446744073709551615ull;
  CompressedLayer conv1;
  conv1.name = "conv1";
  conv1.granularity = Granularity::row;
  conv1.weight_shape = {2, 1, 2, 3};
  conv1.k = 3;
  conv1.dim = 3;
  conv1.sparsity = 0.25;
  conv1.sparsity_variant = SparsityVariant::zero_norm;
  conv1.seed = 7;
  conv1.codebook = {0.f, 0.f, 0.f, 1.f, 2.f, 3.f, -1.5f, 0.5f, 4.f};
  conv1.labels = {2, 0, 1, 2};
  conv1.bias = {0.5f, -0.5f};
  conv1.mse = 0.0123456789012345678;
  conv1.iterations = 12;
  CompressedLayer fc;
  fc.name = "classifier.fc";
  fc.granularity = Granularity::scalar;
  fc.weight_shape = {2, 4};
  fc.k = 1;
  fc.dim = 1;
  fc.codebook = {0.125f};
  fc.labels = std::vector<int32_t>(8, 0);
  CompressedLayer conv2;
  conv2.name = "conv2";
  conv2.granularity = Granularity::filter;
  conv2.weight_shape = {2, 2, 1, 1};
  conv2.k = 2;
  conv2.dim = 2;
  conv2.sparsity_variant = SparsityVariant::near_mean;
  conv2.codebook = {1.f, -1.f, 3.f, 5.f};
  conv2.labels = {1, 0};
  m.layers = {conv1, fc, conv2};
  return m;
}

void check_equal(const CompressedModel& a, const CompressedModel& b) {
  CHECK(a.model == b.model);
  CHECK(a.random_weights == b.random_weights);
  CHECK(a.weights_seed == b.weights_seed);
  REQUIRE(a.layers.size() == b.layers.size());
  for (size_t i = 0; i < a.layers.size(); ++i) {
    const CompressedLayer &x = a.layers[i], &y = b.layers[i];
    CAPTURE(x.name);
    CHECK(x.name == y.name);
    CHECK(x.granularity == y.granularity);
    CHECK(x.weight_shape == y.weight_shape);
    CHECK(x.k == y.k);
    CHECK(x.dim == y.dim);
    CHECK(x.sparsity == y.sparsity);
    CHECK(x.sparsity_variant == y.sparsity_variant);
    CHECK(x.seed == y.seed);
    CHECK(x.codebook == y.codebook);
    CHECK(x.labels == y.labels);
    CHECK(x.bias == y.bias);
    CHECK(x.mse == y.mse);  // exact: JSON doubles round-trip
    CHECK(x.iterations == y.iterations);
  }
}

// Rewrites the container at `path` after `edit` changed its safetensors content.
void rewrite(const std::string& path, const std::function<void(Safetensors&, json& layers)>& edit) {
  Safetensors f = read_safetensors(path);
  json layers = json::parse(f.metadata.at("layers"));
  edit(f, layers);
  f.metadata["layers"] = layers.dump();
  write_safetensors(path, f);
}

}  // namespace

TEST_CASE("container: a hand-made model round-trips and its bytes are as documented") {
  TempDir dir;
  CompressedModel m = hand_model();
  write_compressed(dir / "m.dkm.safetensors", m);
  check_equal(read_compressed(dir / "m.dkm.safetensors"), m);

  Safetensors raw = read_safetensors(dir / "m.dkm.safetensors");
  CHECK(raw.metadata.at("format") == "dkm-compressed/1");
  CHECK(raw.metadata.at("random_weights") == "true");
  CHECK(raw.metadata.at("weights_seed") == "18446744073709551615");
  // conv1 labels {2,0,1,2} at 2 bits, LSB-first: bits 0 1 | 0 0 | 1 0 | 0 1 -> byte 0b10010010.
  CHECK(raw.tensors.at("conv1.labels").bytes == std::string("\x92", 1));
  // Histogram {1,1,2} -> lengths {2,2,1}; canonical words 2=0, 0=10, 1=11; "0 10 11 0" MSB-first -> 0x58.
  CHECK(raw.tensors.at("conv1.huffman_lengths").bytes == std::string("\x02\x02\x01", 3));
  CHECK(raw.tensors.at("conv1.huffman").bytes == std::string("\x58", 1));
  CHECK(raw.tensors.at("conv1.codebook").shape == std::vector<int64_t>{3, 3});
  CHECK(raw.tensors.at("conv1.bias").shape == std::vector<int64_t>{2});
  // k = 1 needs no label bits at all; its Huffman code still spends one bit per vector.
  CHECK(raw.tensors.at("classifier.fc.labels").shape == std::vector<int64_t>{0});
  CHECK(raw.tensors.at("classifier.fc.huffman").bytes == std::string("\x00", 1));
  CHECK(!raw.tensors.contains("conv2.bias"));
  json layers = json::parse(raw.metadata.at("layers"));
  CHECK(layers[0]["huffman_bits"] == 6);
  CHECK(layers[0]["label_bits"] == 2);
  CHECK(layers[0]["vectors"] == 4);
  CHECK(layers[0]["granularity"] == "row");
  CHECK(layers[0]["sparsity_variant"] == "zero-norm");
  CHECK(layers[1]["huffman_bits"] == 8);
  CHECK(layers[2]["granularity"] == "filter");
}

TEST_CASE("container: decompress rebuilds exactly codebook[label] in OIHW, plus the biases") {
  TempDir dir;
  write_compressed(dir / "m.safetensors", hand_model());
  Weights w = decompress(read_compressed(dir / "m.safetensors"));
  REQUIRE(w.size() == 4);
  CHECK(w.at("conv1.weight").shape == std::vector<int64_t>{2, 1, 2, 3});
  CHECK(w.at("conv1.weight").values ==
        std::vector<float>{-1.5f, 0.5f, 4.f, 0.f, 0.f, 0.f, 1.f, 2.f, 3.f, -1.5f, 0.5f, 4.f});
  CHECK(w.at("conv1.bias").values == std::vector<float>{0.5f, -0.5f});
  CHECK(w.at("classifier.fc.weight").shape == std::vector<int64_t>{2, 4});
  CHECK(w.at("classifier.fc.weight").values == std::vector<float>(8, 0.125f));
  CHECK(w.at("conv2.weight").values == std::vector<float>{3.f, 5.f, 1.f, -1.f});
  CHECK(!w.contains("conv2.bias"));
}

TEST_CASE("container: a larger random layer round-trips bit for bit") {
  std::mt19937_64 rng(3);
  CompressedModel m;
  m.model = "random";
  for (int64_t k : {2, 17, 256}) {
    CompressedLayer l;
    l.name = fmt::format("layer{}", k);
    l.granularity = Granularity::kernel;
    l.weight_shape = {16, 8, 3, 3};
    l.k = k;
    l.dim = 9;
    l.codebook.resize(static_cast<size_t>(k * 9));
    std::normal_distribution<float> normal(0.f, 0.05f);
    for (auto& c : l.codebook) c = normal(rng);
    std::uniform_int_distribution<int32_t> label(0, static_cast<int32_t>(k - 1));
    l.labels.resize(16 * 8);
    for (auto& x : l.labels) x = label(rng) / (label(rng) % 3 + 1);  // skewed towards small labels
    l.seed = rng();
    l.mse = 1e-5;
    m.layers.push_back(l);
  }
  TempDir dir;
  write_compressed(dir / "r.safetensors", m);
  check_equal(read_compressed(dir / "r.safetensors"), m);
}

TEST_CASE("container: a plain safetensors reader (python json + struct) opens it") {
  TempDir dir;
  write_compressed(dir / "m.safetensors", hand_model());
  if (std::system("python3 -c 'import json, struct' >/dev/null 2>&1") != 0) {
    return dkm::test::skip("no python3 on PATH");
  }
  // The checks the reference safetensors loader makes: header length, JSON, string metadata, and
  // data_offsets tiling the buffer in order with sizes matching dtype x shape.
  write_file_atomic(dir / "check.py", R"(import json, struct, sys
data = open(sys.argv[1], 'rb').read()
n, = struct.unpack('<Q', data[:8])
header = json.loads(data[8:8 + n])
meta = header.pop('__metadata__')
assert all(isinstance(v, str) for v in meta.values())
size = {'F32': 4, 'U8': 1}
end = 0
for name, t in sorted(header.items(), key=lambda kv: kv[1]['data_offsets']):
    b, e = t['data_offsets']
    count = 1
    for d in t['shape']:
        count *= d
    assert b == end and e - b == count * size[t['dtype']], name
    end = e
assert 8 + n + end == len(data)
cb = header['conv1.codebook']
values = struct.unpack('<9f', data[8 + n + cb['data_offsets'][0]:8 + n + cb['data_offsets'][1]])
print(meta['format'], len(header), json.loads(meta['layers'])[0]['name'], values[6:])
)");
  std::string cmd = "python3 '" + (dir / "check.py") + "' '" + (dir / "m.safetensors") + "' > '" + (dir / "out") + "' 2>&1";
  CHECK(std::system(cmd.c_str()) == 0);
  CHECK(dkm::test::slurp(dir / "out") == "dkm-compressed/1 13 conv1 (-1.5, 0.5, 4.0)\n");
}

TEST_CASE("container: every inconsistency is refused with the field and what was expected") {
  TempDir dir;
  const std::string path = dir / "m.safetensors";
  auto error_after = [&](const std::function<void(Safetensors&, json&)>& edit) {
    write_compressed(path, hand_model());
    rewrite(path, edit);
    std::string msg = input_error([&] { read_compressed(path); });
    return msg.substr(0, path.size()) == path ? msg.substr(path.size() + 2) : msg;
  };
  CHECK(error_after([](Safetensors& f, json&) { f.metadata["format"] = "dkm-compressed/2"; }) ==
        "__metadata__.format: expected \"dkm-compressed/1\", got \"dkm-compressed/2\"");
  CHECK(error_after([](Safetensors& f, json&) { f.metadata.erase("format"); }) ==
        "__metadata__.format: expected the key (a dkm compressed model has it, see docs/container.md), got none");
  CHECK(error_after([](Safetensors& f, json&) { f.metadata["weights_seed"] = "-3"; }) ==
        "__metadata__.weights_seed: expected an unsigned decimal integer, got \"-3\"");
  CHECK(error_after([](Safetensors& f, json&) { f.metadata["random_weights"] = "yes"; }) ==
        "__metadata__.random_weights: expected true or false, got \"yes\"");
  CHECK(error_after([](Safetensors&, json& l) { l = json::object(); }) == "__metadata__.layers: expected a JSON array of layers, got an object ({})");
  CHECK(error_after([](Safetensors&, json& l) { l[0].erase("mse"); }) ==
        "__metadata__.layers[0]: expected the key \"mse\"");
  CHECK(error_after([](Safetensors&, json& l) { l[0]["granularity"] = "block"; }) ==
        "__metadata__.layers[0].granularity: expected one of row, kernel, filter, scalar, group, got \"block\"");
  CHECK(error_after([](Safetensors&, json& l) { l[0]["granularity"] = "kernel"; }) ==
        "__metadata__.layers[0].dim: expected 6 for kernel granularity of weight_shape [2,1,2,3], got 3");
  CHECK(error_after([](Safetensors&, json& l) { l[0]["vectors"] = 5; }) ==
        "__metadata__.layers[0].vectors: expected 4 vectors of dim 3 for weight_shape [2,1,2,3], got 5");
  CHECK(error_after([](Safetensors&, json& l) { l[0]["sparsity"] = 1.5; }) ==
        "__metadata__.layers[0].sparsity: expected a number in [0, 1], got 1.5");
  CHECK(error_after([](Safetensors&, json& l) { l[0]["k"] = 0; }) ==
        "__metadata__.layers[0].k: expected an integer in [1, 2147483647], got 0");
  CHECK(error_after([](Safetensors&, json& l) { l[0]["k"] = 4; }) ==
        "tensor 'conv1.codebook': expected float32 of shape [4, 3], got float32 of shape [3, 3]");
  CHECK(error_after([](Safetensors&, json& l) { l[0]["k"] = 5; }) ==
        "__metadata__.layers[0].label_bits: expected 3 (ceil(log2 k) for k = 5), got 2");
  CHECK(error_after([](Safetensors&, json& l) { l[2]["name"] = "conv1"; }) ==
        "tensor 'conv1.codebook': expected the tensor, got none (it is missing)");
  CHECK(error_after([](Safetensors& f, json&) { f.tensors.erase("conv1.bias"); }) ==
        "tensor 'conv1.bias': expected the tensor, got none (it is missing)");
  CHECK(error_after([](Safetensors& f, json&) { f.tensors["extra"] = f.tensors.at("conv1.bias"); }) ==
        "tensor 'extra': expected only tensors of the layers listed in __metadata__.layers, got one more");
  // Label 3 at vector 0 with k = 3 (bits 1 1 in the first two positions).
  CHECK(error_after([](Safetensors& f, json&) { f.tensors.at("conv1.labels").bytes[0] = '\x93'; }) ==
        "tensor 'conv1.labels': expected labels below k = 3, got 3 at vector 0");
  // Labels {1,0,1,2}: valid, but the Huffman stream still says {2,0,1,2}.
  CHECK(error_after([](Safetensors& f, json&) { f.tensors.at("conv1.labels").bytes[0] = '\x91'; }) ==
        "tensor 'conv1.huffman': expected the labels of 'conv1.labels', got 2 instead of 1 at vector 0");
  CHECK(error_after([](Safetensors& f, json&) { f.tensors.at("conv1.huffman").bytes[0] = '\x5A'; }) ==
        "tensor 'conv1.huffman': Huffman stream bit 6: expected zero padding bits after the last code word, got a 1");
  CHECK(error_after([](Safetensors& f, json&) { f.tensors.at("conv1.huffman_lengths").bytes[0] = 1; }) ==
        "tensor 'conv1.huffman': Huffman stream bit 0: expected code lengths that satisfy Kraft's inequality, got an over-subscribed set");
  CHECK(error_after([](Safetensors& f, json&) {
          float nan = std::numeric_limits<float>::quiet_NaN();
          std::memcpy(f.tensors.at("conv2.codebook").bytes.data() + 4, &nan, 4);
        }) == "tensor 'conv2.codebook': expected finite values, got nan at index 1");
  CHECK(error_after([](Safetensors&, json& l) { l[1]["huffman_bits"] = 7; }) ==
        "__metadata__.layers[1].huffman_bits: expected at least one bit per vector (8), got 7");
  CHECK(input_error([&] { read_compressed(dir / "missing.safetensors"); }) ==
        (dir / "missing.safetensors") + ": cannot open file for reading: No such file or directory");
}
