// The compressed container (docs/container.md): a plain safetensors file, so any safetensors reader opens
// it. Per layer: `<layer>.codebook` F32 [k, dim], `<layer>.labels` U8 (ceil(log2 k)-bit indexes, LSB-first),
// `<layer>.huffman` U8 (canonical Huffman stream, MSB-first) with `<layer>.huffman_lengths` U8 [k], and
// `<layer>.bias` F32 when the layer has one. Everything else is JSON in "__metadata__".
#include "kmeans/container.hpp"

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <set>
#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "kmeans/huffman.hpp"
#include "models/atomic_file.hpp"
#include "models/error.hpp"
#include "models/json_reader.hpp"
#include "models/tensor_io.hpp"

namespace dkm::kmeans {
namespace {

using nlohmann::json;

constexpr std::string_view kFormat = "dkm-compressed/1";

constexpr std::pair<Granularity, std::string_view> kGranularities[] = {
    {Granularity::row, "row"}, {Granularity::kernel, "kernel"}, {Granularity::filter, "filter"},
    {Granularity::scalar, "scalar"}, {Granularity::group, "group"}};
constexpr std::pair<SparsityVariant, std::string_view> kVariants[] = {
    {SparsityVariant::none, "none"}, {SparsityVariant::zero_norm, "zero-norm"},
    {SparsityVariant::near_mean, "near-mean"}};
constexpr std::pair<Weighting, std::string_view> kWeightings[] = {{Weighting::plain, "plain"},
                                                                  {Weighting::activation, "activation"}};

template <typename E, size_t N>
std::string_view name_of(const std::pair<E, std::string_view> (&table)[N], E value) {
  for (const auto& [v, name] : table)
    if (v == value) return name;
  return "?";
}

// Bits per packed label: ceil(log2 k); 0 when k == 1 (every label is 0).
int label_bits(int64_t k) { return k <= 1 ? 0 : static_cast<int>(std::bit_width(static_cast<uint64_t>(k - 1))); }

uint64_t packed_bytes(uint64_t vectors, int bits) { return (vectors * static_cast<uint64_t>(bits) + 7) / 8; }

// Label i occupies stream bits [i*b, (i+1)*b), least significant bit first; stream bit j is bit j%8 of byte j/8.
std::string pack_labels(const std::vector<int32_t>& labels, int bits) {
  std::string out(packed_bytes(labels.size(), bits), '\0');
  // Through a 64-bit accumulator: at most 7 pending bits plus a label of at most 31.
  uint64_t acc = 0, pos = 0;
  int pending = 0;
  for (int32_t label : labels) {
    acc |= static_cast<uint64_t>(static_cast<uint32_t>(label)) << pending;
    pending += bits;
    for (; pending >= 8; pending -= 8, acc >>= 8) out[pos++] = static_cast<char>(acc & 0xFF);
  }
  if (pending > 0) out[pos] = static_cast<char>(acc & 0xFF);
  return out;
}

// The expected extent of a granularity's vectors for an OIHW weight, a linear one as the 1x1 convolution it
// equals (other ranks: no rule beyond divisibility).
int64_t granularity_dim(Granularity g, const std::vector<int64_t>& weight_shape) {
  if (weight_shape.size() == 2) return granularity_dim(g, {weight_shape[0], weight_shape[1], 1, 1});  // linear (out, in)
  const auto& shape = weight_shape;
  if (shape.size() != 4) return 0;
  switch (g) {
    case Granularity::row: return shape[3];
    case Granularity::kernel: return shape[2] * shape[3];
    case Granularity::filter: return shape[1] * shape[2] * shape[3];
    case Granularity::scalar: return 1;
    case Granularity::group: return 0;  // G: any length dividing I*kh*kw (checked by the reader)
  }
  return 0;
}

template <typename T>
std::string_view raw_bytes(const std::vector<T>& v) {
  return std::string_view(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

void check_layer(const CompressedLayer& l) {
  auto fail = [&](const std::string& what) {
    throw std::invalid_argument(fmt::format("write_compressed: layer '{}': {}", l.name, what));
  };
  if (l.name.empty()) fail("empty name");
  if (l.k < 1 || l.k > std::numeric_limits<int32_t>::max() || l.dim < 1) fail("k and dim must be at least 1");
  if (static_cast<int64_t>(l.codebook.size()) != l.k * l.dim) fail("codebook size is not k x dim");
  int64_t numel = 1;
  for (int64_t d : l.weight_shape) numel *= d;
  if (l.weight_shape.empty() || numel != l.vectors() * l.dim) fail("weight_shape does not hold vectors x dim values");
  for (int32_t label : l.labels)
    if (label < 0 || label >= l.k) fail(fmt::format("label {} outside [0, {})", label, l.k));
  for (float v : l.codebook)
    if (!std::isfinite(v)) fail("non-finite codebook value");
  for (float v : l.bias)
    if (!std::isfinite(v)) fail("non-finite bias value");
  if (!std::isfinite(l.mse) || !std::isfinite(l.sparsity)) fail("non-finite mse or sparsity");
}

}  // namespace

ContainerWriter::ContainerWriter(std::function<void(std::string_view)> data) : data_(std::move(data)) {}

void ContainerWriter::put(const std::string& name, DType dtype, std::vector<int64_t> shape, std::string_view bytes) {
  spans_.push_back({name, dtype, std::move(shape), offset_, offset_ + bytes.size()});
  offset_ += bytes.size();
  data_(bytes);
}

void ContainerWriter::add(const CompressedLayer& l) {
  check_layer(l);
  if (!names_.insert(l.name).second)
    throw std::invalid_argument(fmt::format("write_compressed: layer '{}' appears twice", l.name));
  const int bits = label_bits(l.k);
  const HuffmanStream huffman = huffman_encode(l.labels, static_cast<int32_t>(l.k));
  put(l.name + ".codebook", DType::f32, {l.k, l.dim}, raw_bytes(l.codebook));
  const std::string packed = pack_labels(l.labels, bits);
  put(l.name + ".labels", DType::u8, {static_cast<int64_t>(packed.size())}, packed);
  put(l.name + ".huffman", DType::u8, {static_cast<int64_t>(huffman.bits.size())}, raw_bytes(huffman.bits));
  put(l.name + ".huffman_lengths", DType::u8, {l.k}, raw_bytes(huffman.code_lengths));
  if (!l.bias.empty()) put(l.name + ".bias", DType::f32, {static_cast<int64_t>(l.bias.size())}, raw_bytes(l.bias));
  layers_.push_back({{"name", l.name},
                     {"granularity", name_of(kGranularities, l.granularity)},
                     {"weight_shape", l.weight_shape},
                     {"k", l.k},
                     {"dim", l.dim},
                     {"vectors", l.vectors()},
                     {"sparsity", l.sparsity},
                     {"sparsity_variant", name_of(kVariants, l.sparsity_variant)},
                     {"seed", l.seed},
                     {"mse", l.mse},
                     {"iterations", l.iterations},
                     {"label_bits", bits},
                     {"huffman_bits", huffman.bit_count},
                     {"bias", l.bias.size()},
                     {"weighting", name_of(kWeightings, l.weighting)},
                     {"bias_corrected", l.bias_corrected}});
}

std::string ContainerWriter::header(const CompressedModel& model) const {
  std::map<std::string, std::string> metadata;
  metadata["format"] = std::string(kFormat);
  metadata["model"] = model.model;
  metadata["random_weights"] = model.random_weights ? "true" : "false";
  metadata["weights_seed"] = std::to_string(model.weights_seed);
  metadata["layers"] = json(layers_.empty() ? json::array() : layers_).dump();
  return safetensors_header(spans_, metadata);
}

std::string encode_compressed(const CompressedModel& model) {
  std::string data;
  ContainerWriter writer([&](std::string_view bytes) { data.append(bytes); });
  for (const CompressedLayer& l : model.layers) writer.add(l);
  return writer.header(model) + data;
}

void write_compressed(const std::string& path, const CompressedModel& model) {
  write_file_atomic(path, encode_compressed(model));
}

namespace {

// Reads one layer's entry of "__metadata__.layers" and its tensors, checking each field on the way.
class LayerReader {
 public:
  LayerReader(const std::string& path, Safetensors& file, const Json& entry, size_t index)
      : json_(path), file_(file), entry_(entry), where_(fmt::format("__metadata__.layers[{}]", index)) {}

  [[noreturn]] void fail(const std::string& field, const std::string& message) const {
    json_.fail(field.empty() ? where_ : where_ + "." + field, message);
  }
  const Json& field(const std::string& key) const { return json_.field(entry_, where_, key); }
  int64_t integer(const std::string& key, int64_t min, int64_t max) const {
    return json_.integer(field(key), at(key), min, max, fmt::format("an integer in [{}, {}]", min, max));
  }
  double number(const std::string& key, double min, double max) const {
    return json_.number(field(key), at(key), min, max, fmt::format("a number in [{}, {}]", min, max));
  }
  std::string string(const std::string& key) const { return json_.string(field(key), at(key), "a string"); }
  bool flag(const std::string& key) const { return json_.boolean(field(key), at(key)); }
  template <typename E, size_t N>
  E choice(const std::string& key, const std::pair<E, std::string_view> (&table)[N]) const {
    std::string value = string(key);
    std::string names;
    for (const auto& [v, name] : table) {
      if (name == value) return v;
      names.append(names.empty() ? "" : ", ").append(name);
    }
    fail(key, fmt::format("expected one of {}, got \"{}\"", names, value));
  }
  uint64_t seed(const std::string& key) const {
    return json_.unsigned_integer(field(key), at(key), "an unsigned 64-bit integer");
  }
  // Takes the tensor out of the file (so leftovers can be reported) after checking dtype and shape.
  Array take(const std::string& name, DType dtype, const std::vector<int64_t>& shape) {
    auto it = file_.tensors.find(name);
    if (it == file_.tensors.end())
      json_.fail(fmt::format("tensor '{}'", name), "expected the tensor, got none (it is missing)");
    Array a = std::move(it->second);
    file_.tensors.erase(it);
    if (a.dtype != dtype || a.shape != shape)
      json_.fail(fmt::format("tensor '{}'", name),
                 fmt::format("expected {} of shape [{}], got {} of shape [{}]", to_string(dtype),
                             join_dims(shape, ", "), to_string(a.dtype), join_dims(a.shape, ", ")));
    return a;
  }

 private:
  std::string at(const std::string& key) const { return where_ + "." + key; }
  JsonReader json_;
  Safetensors& file_;
  const Json& entry_;
  std::string where_;
};

CompressedLayer read_layer(const std::string& path, Safetensors& file, const Json& entry, size_t index) {
  LayerReader r(path, file, entry, index);
  if (!entry.is_object())
    r.fail("", fmt::format("expected an object describing one layer, got {}", json_type_name(entry)));
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  CompressedLayer l;
  l.name = r.string("name");
  if (l.name.empty()) r.fail("name", "expected a non-empty layer name, got \"\"");
  l.granularity = r.choice("granularity", kGranularities);
  const Json& shape = r.field("weight_shape");
  if (!shape.is_array() || shape.empty())
    r.fail("weight_shape", fmt::format("expected a non-empty array of positive integers, got {}", json_shown(shape)));
  uint64_t numel = 1;
  for (const Json& d : shape) {
    if (!d.is_number_unsigned() || d.get<uint64_t>() == 0 || d.get<uint64_t>() > (uint64_t{1} << 40) ||
        numel > (uint64_t{1} << 62) / d.get<uint64_t>())
      r.fail("weight_shape", fmt::format("expected a non-empty array of positive integers, got {}", json_shown(shape)));
    numel *= d.get<uint64_t>();
    l.weight_shape.push_back(d.get<int64_t>());
  }
  l.k = r.integer("k", 1, std::numeric_limits<int32_t>::max());
  l.dim = r.integer("dim", 1, kMax);
  int64_t vectors = r.integer("vectors", 0, kMax);
  if (numel % static_cast<uint64_t>(l.dim) != 0 || numel / static_cast<uint64_t>(l.dim) != static_cast<uint64_t>(vectors))
    r.fail("vectors", fmt::format("expected {} vectors of dim {} for weight_shape {}, got {}", numel / static_cast<uint64_t>(l.dim),
                                  l.dim, shape.dump(), vectors));
  if (l.granularity == Granularity::group && (l.weight_shape.size() < 2 || (numel / static_cast<uint64_t>(l.weight_shape[0])) %
                                                                             static_cast<uint64_t>(l.dim) != 0))
    r.fail("dim", fmt::format("expected a length dividing the weights per output channel for group granularity of "
                              "weight_shape {}, got {}", shape.dump(), l.dim));
  int64_t expected_dim = granularity_dim(l.granularity, l.weight_shape);
  if (expected_dim != 0 && expected_dim != l.dim)
    r.fail("dim", fmt::format("expected {} for {} granularity of weight_shape {}, got {}", expected_dim,
                              name_of(kGranularities, l.granularity), shape.dump(), l.dim));
  l.sparsity = r.number("sparsity", 0.0, 1.0);
  l.sparsity_variant = r.choice("sparsity_variant", kVariants);
  l.seed = r.seed("seed");
  l.mse = r.number("mse", 0.0, std::numeric_limits<double>::max());
  l.iterations = static_cast<int>(r.integer("iterations", 0, std::numeric_limits<int>::max()));
  int bits = label_bits(l.k);
  if (r.integer("label_bits", 0, 32) != bits)
    r.fail("label_bits", fmt::format("expected {} (ceil(log2 k) for k = {}), got {}", bits, l.k, entry["label_bits"].dump()));
  int64_t bias = r.integer("bias", 0, kMax);
  // Containers written before activation weighting have neither field: plain k-means, bias unchanged.
  if (entry.contains("weighting")) l.weighting = r.choice("weighting", kWeightings);
  if (entry.contains("bias_corrected")) l.bias_corrected = r.flag("bias_corrected");

  // Shapes first, so every allocation below is bounded by a tensor the file really holds.
  Array codebook = r.take(l.name + ".codebook", DType::f32, {l.k, l.dim});
  l.codebook.resize(static_cast<size_t>(l.k * l.dim));
  std::memcpy(l.codebook.data(), codebook.bytes.data(), codebook.bytes.size());
  for (size_t i = 0; i < l.codebook.size(); ++i)
    if (!std::isfinite(l.codebook[i]))
      throw InputError(path, fmt::format("tensor '{}.codebook'", l.name), fmt::format("expected finite values, got {} at index {}", l.codebook[i], i));

  HuffmanStream huffman;
  huffman.bit_count = static_cast<uint64_t>(r.integer("huffman_bits", 0, kMax));
  if (static_cast<uint64_t>(vectors) > huffman.bit_count)
    r.fail("huffman_bits", fmt::format("expected at least one bit per vector ({}), got {}", vectors, huffman.bit_count));
  Array stream = r.take(l.name + ".huffman", DType::u8, {static_cast<int64_t>((huffman.bit_count + 7) / 8)});
  huffman.bits.assign(stream.bytes.begin(), stream.bytes.end());
  Array lengths = r.take(l.name + ".huffman_lengths", DType::u8, {l.k});
  huffman.code_lengths.assign(lengths.bytes.begin(), lengths.bytes.end());
  Array packed = r.take(l.name + ".labels", DType::u8, {static_cast<int64_t>(packed_bytes(static_cast<uint64_t>(vectors), bits))});

  // Unpack the fixed-width labels, then check the Huffman stream decodes to the same ones.
  const std::string labels_where = fmt::format("tensor '{}.labels'", l.name);
  auto bit = [&](uint64_t pos) { return (static_cast<unsigned char>(packed.bytes[pos >> 3]) >> (pos & 7)) & 1u; };
  l.labels.resize(static_cast<size_t>(vectors));
  uint64_t pos = 0;
  for (size_t i = 0; i < l.labels.size(); ++i) {
    uint32_t label = 0;
    for (int t = 0; t < bits; ++t, ++pos) label |= bit(pos) << t;
    if (label >= static_cast<uint64_t>(l.k))
      throw InputError(path, labels_where, fmt::format("expected labels below k = {}, got {} at vector {}", l.k, label, i));
    l.labels[i] = static_cast<int32_t>(label);
  }
  for (; pos < packed.bytes.size() * 8; ++pos)
    if (bit(pos)) throw InputError(path, labels_where, fmt::format("expected zero padding bits after the last label, got a 1 at bit {}", pos));
  std::vector<int32_t> decoded = huffman_decode(huffman, vectors, fmt::format("{}: tensor '{}.huffman'", path, l.name));
  for (size_t i = 0; i < decoded.size(); ++i)
    if (decoded[i] != l.labels[i])
      throw InputError(path, fmt::format("tensor '{}.huffman'", l.name),
                       fmt::format("expected the labels of '{}.labels', got {} instead of {} at vector {}", l.name, decoded[i],
                                   l.labels[i], i));
  if (bias > 0) {
    Array b = r.take(l.name + ".bias", DType::f32, {bias});
    l.bias.resize(static_cast<size_t>(bias));
    std::memcpy(l.bias.data(), b.bytes.data(), b.bytes.size());
    for (size_t i = 0; i < l.bias.size(); ++i)
      if (!std::isfinite(l.bias[i]))
        throw InputError(path, fmt::format("tensor '{}.bias'", l.name),
                         fmt::format("expected finite values, got {} at index {}", l.bias[i], i));
  }
  return l;
}

bool parse_flag(const std::string& path, const std::string& value) {
  if (value == "true") return true;
  if (value == "false") return false;
  throw InputError(path, "__metadata__.random_weights", fmt::format("expected true or false, got \"{}\"", value));
}

}  // namespace

CompressedModel read_compressed(const std::string& path) {
  Safetensors file = read_safetensors(path);
  auto meta = [&](const std::string& key) -> const std::string& {
    auto it = file.metadata.find(key);
    if (it == file.metadata.end())
      throw InputError(path, "__metadata__." + key, "expected the key (a dkm compressed model has it, see docs/container.md), got none");
    return it->second;
  };
  if (meta("format") != kFormat)
    throw InputError(path, "__metadata__.format", fmt::format("expected \"{}\", got \"{}\"", kFormat, meta("format")));
  CompressedModel model;
  model.model = meta("model");
  model.random_weights = parse_flag(path, meta("random_weights"));
  const std::string& seed = meta("weights_seed");
  size_t used = 0;
  try {
    if (seed.empty() || seed[0] == '-') throw std::invalid_argument(seed);
    model.weights_seed = std::stoull(seed, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != seed.size())
    throw InputError(path, "__metadata__.weights_seed", fmt::format("expected an unsigned decimal integer, got \"{}\"", seed));
  const Json layers = parse_json(meta("layers"), path, "a JSON array of layers", "__metadata__.layers");
  if (!layers.is_array()) JsonReader(path).wrong(layers, "__metadata__.layers", "a JSON array of layers");
  std::set<std::string> names;
  for (size_t i = 0; i < layers.size(); ++i) {
    model.layers.push_back(read_layer(path, file, layers[i], i));
    if (!names.insert(model.layers.back().name).second)
      throw InputError(path, fmt::format("__metadata__.layers[{}].name", i),
                       fmt::format("expected a name not used before, got \"{}\" again", model.layers.back().name));
  }
  if (!file.tensors.empty())
    throw InputError(path, fmt::format("tensor '{}'", file.tensors.begin()->first),
                     "expected only tensors of the layers listed in __metadata__.layers, got one more");
  return model;
}

Weights decompress(const CompressedModel& model) {
  Weights weights;
  for (const CompressedLayer& l : model.layers) {
    check_layer(l);
    // Vectors are consecutive in OIHW order for every granularity, so rebuilding is a plain gather.
    Tensor w;
    w.shape = l.weight_shape;
    w.values.resize(static_cast<size_t>(l.vectors() * l.dim));
    const size_t dim = static_cast<size_t>(l.dim);
    for (size_t i = 0; i < l.labels.size(); ++i)
      std::memcpy(w.values.data() + i * dim, l.codebook.data() + static_cast<size_t>(l.labels[i]) * dim,
                  dim * sizeof(float));
    weights[l.name + ".weight"] = std::move(w);
    if (!l.bias.empty()) weights[l.name + ".bias"] = Tensor{{static_cast<int64_t>(l.bias.size())}, l.bias};
  }
  return weights;
}

}  // namespace dkm::kmeans
