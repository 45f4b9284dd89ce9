#pragma once
// A dense float32 tensor and a named set of them (a model's weights). Layout is row-major; conv
// weights are OIHW (out channels, in channels / groups, kernel height, kernel width), linear weights
// (out features, in features). Names follow PyTorch: "<layer>.weight", "<layer>.bias".
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace dkm {

struct Tensor {
  std::vector<int64_t> shape;
  std::vector<float> values;

  int64_t numel() const {
    int64_t n = 1;
    for (auto d : shape) n *= d;
    return n;
  }
};

using Weights = std::map<std::string, Tensor>;

}  // namespace dkm
