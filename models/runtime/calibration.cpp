#include "models/runtime/calibration.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "models/error.hpp"
#include "models/input_file.hpp"

namespace dkm::runtime {
namespace {

constexpr std::string_view kStatsFormat = "dkm-stats/1";

// Running sums for one layer's input: exact order (image, channel, pixel), so batch boundaries change nothing.
struct Sums {
  int64_t count = 0;
  std::vector<double> sum, sum_sq, max_abs;
};

// A linear layer reads its input flattened: one channel per feature.
void accumulate(Sums& s, const Activations& in, bool per_feature) {
  const int64_t channels = per_feature ? in.shape.numel() : in.shape.c;
  const int64_t plane = per_feature ? 1 : in.shape.h * in.shape.w;
  if (s.sum.empty()) s.sum.assign(channels, 0.0), s.sum_sq.assign(channels, 0.0), s.max_abs.assign(channels, 0.0);
  for (int64_t n = 0; n < in.batch; ++n)
    for (int64_t c = 0; c < channels; ++c) {
      const float* x = in.values.data() + (n * channels + c) * plane;
      double sum = 0, sum_sq = 0, top = s.max_abs[c];
      for (int64_t i = 0; i < plane; ++i) {
        const double v = x[i];
        sum += v;
        sum_sq += v * v;
        top = std::max(top, std::abs(v));
      }
      s.sum[c] += sum;
      s.sum_sq[c] += sum_sq;
      s.max_abs[c] = top;
    }
  s.count += in.batch * plane;
}

}  // namespace

Calibration calibrate(const models::Model& model, const Weights& weights, const Activations& data,
                      const CalibrateOptions& options) {
  std::map<std::string, Sums> sums;
  RunOptions run_options;
  run_options.threads = options.threads;
  run_options.weights_source = options.weights_source;
  run_options.hook = [&](const models::Layer& l, std::span<const Activations* const> in, const Activations&) {
    if (l.has_weights()) accumulate(sums[l.name], *in[0], l.kind == models::LayerKind::linear);
  };
  const int64_t batch = std::max<int64_t>(options.batch, 1);
  for (int64_t b = 0; b < data.batch; b += batch) run(model, weights, slice(data, b, std::min(data.batch, b + batch)), run_options);
  Calibration c{model.name, data.batch, {}};
  for (auto& [name, s] : sums) {
    InputStats st;
    st.values_per_channel = s.count;
    st.max_abs = s.max_abs;
    for (size_t i = 0; i < s.sum.size(); ++i) {
      st.mean.push_back(s.sum[i] / static_cast<double>(s.count));
      st.second_moment.push_back(s.sum_sq[i] / static_cast<double>(s.count));
    }
    c.layers[name] = std::move(st);
  }
  return c;
}

std::string to_json(const Calibration& stats) {
  nlohmann::ordered_json layers = nlohmann::ordered_json::object();
  for (const auto& [name, s] : stats.layers)
    layers[name] = {{"input_channels", s.mean.size()},
                    {"values_per_channel", s.values_per_channel},
                    {"mean", s.mean},
                    {"second_moment", s.second_moment},
                    {"max_abs", s.max_abs}};
  nlohmann::ordered_json j = {{"format", kStatsFormat},
                              {"model", stats.model},
                              {"images", stats.images},
                              {"units", "mean and max_abs in the units of the layer input, second_moment in those units squared"},
                              {"layers", layers}};
  return j.dump(1) + "\n";
}

Calibration parse_calibration(const std::string& json_text, const std::string& source) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(json_text);
  } catch (const nlohmann::json::parse_error& e) {
    throw InputError(source, fmt::format("byte {}", e.byte), "expected valid JSON");
  }
  auto fail = [&](const std::string& where, const std::string& what) -> void { throw InputError(source, where, what); };
  if (!j.is_object() || !j.contains("format") || j["format"] != kStatsFormat)
    fail("format", fmt::format("expected \"{}\" (written by `dkm calibrate`)", kStatsFormat));
  Calibration c;
  if (!j.contains("model") || !j["model"].is_string()) fail("model", "expected a string");
  c.model = j["model"].get<std::string>();
  if (!j.contains("images") || !j["images"].is_number_integer() || j["images"].get<int64_t>() < 1)
    fail("images", "expected a positive integer");
  c.images = j["images"].get<int64_t>();
  if (!j.contains("layers") || !j["layers"].is_object()) fail("layers", "expected an object of layers");
  for (const auto& [name, l] : j["layers"].items()) {
    const std::string at = "layers." + name;
    if (!l.is_object() || !l.contains("input_channels") || !l["input_channels"].is_number_unsigned())
      fail(at + ".input_channels", "expected a positive integer");
    const size_t channels = l["input_channels"].get<size_t>();
    InputStats s;
    if (!l.contains("values_per_channel") || !l["values_per_channel"].is_number_unsigned() ||
        l["values_per_channel"].get<int64_t>() < 1)
      fail(at + ".values_per_channel", "expected a positive integer");
    s.values_per_channel = l["values_per_channel"].get<int64_t>();
    for (auto [key, out] : {std::pair{"mean", &s.mean}, {"second_moment", &s.second_moment}, {"max_abs", &s.max_abs}}) {
      const bool non_negative = std::string_view(key) != "mean";
      if (!l.contains(key) || !l[key].is_array() || l[key].size() != channels)
        fail(at + "." + key, fmt::format("expected an array of {} numbers (input_channels)", channels));
      for (size_t i = 0; i < channels; ++i) {
        const auto& v = l[key][i];
        if (!v.is_number() || !std::isfinite(v.get<double>()) || (non_negative && v.get<double>() < 0))
          fail(fmt::format("{}.{}[{}]", at, key, i),
               non_negative ? "expected a finite number >= 0" : "expected a finite number");
        out->push_back(v.get<double>());
      }
    }
    c.layers[name] = std::move(s);
  }
  return c;
}

kmeans::ActivationStats load_activation_stats(const std::string& path) {
  const Calibration c = parse_calibration(read_file(path, kMaxTextInputBytes), path);
  kmeans::ActivationStats out;
  out.model = c.model;
  out.source = path;
  for (const auto& [name, s] : c.layers) out.layers[name] = {s.mean, s.second_moment};
  return out;
}

}  // namespace dkm::runtime
