#pragma once
// The vocabulary of the JSON model spec (docs/model-spec.md), shared by its reader and its writer.
#include <string>
#include <string_view>
#include <vector>

#include "models/model.hpp"

namespace dkm::models {

// The "format" value of the specs this version reads and writes.
inline constexpr std::string_view kModelFormat = "dkm-model/1";

// One value of a layer's "type": its kind, the keys it accepts (beyond the common ones) and those it
// requires. Activation functions are types of their own ("relu") as well as values of "activation".
struct LayerType {
  std::string_view name;
  LayerKind kind;
  std::string_view activation;  // for the short activation types
  std::vector<std::string_view> keys;
  std::vector<std::string_view> required;
};

const LayerType* find_layer_type(std::string_view name);
std::string layer_type_list();   // "conv2d, linear, ..." for messages
std::string activation_list();   // "relu, relu6, ..." for messages

// The "type" a layer is written with: the activation function for activation layers, else its kind.
std::string_view spec_type(const Layer& layer);

}  // namespace dkm::models
