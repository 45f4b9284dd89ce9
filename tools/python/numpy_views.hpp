#pragma once
// numpy <-> C++ without copies where possible: inputs are read in place when they are already
// C-contiguous of the right dtype (forcecast converts anything else once); outputs hand the C++ vector's
// buffer to numpy, which frees it through a capsule.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <span>
#include <string>
#include <vector>

#include "models/error.hpp"

namespace dkm::python {

namespace py = pybind11;

template <class T>
using InArray = py::array_t<T, py::array::c_style | py::array::forcecast>;

template <class T>
std::span<const T> view(const InArray<T>& a) {
  return {a.data(), static_cast<size_t>(a.size())};
}

// A writable float32 C-contiguous array written in place (never a converted temporary).
inline std::span<float> writable_view(py::array a, const char* what) {
  if (!py::isinstance<py::array_t<float>>(a) || !(a.flags() & py::array::c_style) || !a.writeable())
    throw UsageError(std::string(what) + ": expected a writable C-contiguous float32 array");
  return {static_cast<float*>(a.mutable_data()), static_cast<size_t>(a.size())};
}

// Rows and columns of a 2-D array, or of a 1-D array read as (n, dim) when dim > 0.
inline std::pair<int64_t, int64_t> rows_and_dim(const py::array& a, int64_t dim, const char* what) {
  if (a.ndim() == 2) {
    if (dim > 0 && a.shape(1) != dim)
      throw UsageError(std::string(what) + ": expected " + std::to_string(dim) + " columns");
    return {a.shape(0), a.shape(1)};
  }
  if (a.ndim() == 1 && dim > 0 && a.shape(0) % dim == 0) return {a.shape(0) / dim, dim};
  throw UsageError(std::string(what) + ": expected a 2-D array (vectors x dim), or 1-D with dim given");
}

template <class T>
py::array_t<T> to_numpy(std::vector<T>&& values, std::vector<py::ssize_t> shape) {
  auto* owned = new std::vector<T>(std::move(values));
  py::capsule free_when_done(owned, [](void* p) { delete static_cast<std::vector<T>*>(p); });
  return py::array_t<T>(shape, owned->data(), free_when_done);
}

template <class T>
py::array_t<T> to_numpy(std::vector<T>&& values) {
  const auto n = static_cast<py::ssize_t>(values.size());
  return to_numpy(std::move(values), {n});
}

template <class T>
std::vector<T> to_vector(const InArray<T>& a) {
  return std::vector<T>(a.data(), a.data() + a.size());
}

void bind_kmeans(py::module_& m);
void bind_container(py::module_& m);
void bind_models(py::module_& m);
void bind_estimator(py::module_& m);

}  // namespace dkm::python
