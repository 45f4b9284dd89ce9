// dkm._dkm: k-means and the re-training regulariser.
#include <pybind11/stl.h>

#include <fmt/core.h>

#include "kmeans/kmeans.hpp"
#include "kmeans/regularizer.hpp"
#include "tools/python/numpy_views.hpp"

namespace dkm::python {

namespace {

using kmeans::Init;
using kmeans::KMeansParams;
using kmeans::RegularizerBasis;
using kmeans::RegularizerVariant;

Init init_from_name(const std::string& name) {
  if (name == "kmeans++" || name == "kmeans_plus_plus") return Init::kmeans_plus_plus;
  if (name == "linear") return Init::linear;
  if (name == "random") return Init::random;
  if (name == "given") return Init::given;
  if (name == "optimal_1d") return Init::optimal_1d;
  if (name == "afk_mc2") return Init::afk_mc2;
  throw UsageError("init: expected kmeans++, linear, random, given, optimal_1d or afk_mc2, got '" + name + "'");
}

KMeansParams params_from(int64_t k, const std::string& init, int max_iter, double tol, uint64_t seed, int threads,
                         const py::object& initial_centers) {
  KMeansParams p;
  p.k = k;
  p.init = init_from_name(init);
  p.max_iter = max_iter;
  p.tol = tol;
  p.seed = seed;
  p.threads = threads;
  if (!initial_centers.is_none()) {
    p.init = Init::given;
    p.initial_centers = to_vector(initial_centers.cast<InArray<float>>());
  }
  return p;
}

py::dict result_dict(kmeans::KMeansResult&& r) {
  py::dict d;
  const auto k = static_cast<py::ssize_t>(r.k), dim = static_cast<py::ssize_t>(r.dim);
  d["centers"] = to_numpy(std::move(r.centers), {k, dim});
  d["labels"] = to_numpy(std::move(r.labels));
  d["inertia"] = r.inertia;
  d["iterations"] = r.iterations;
  d["converged"] = r.converged;
  return d;
}

py::dict basis_dict(RegularizerBasis&& b) {
  py::dict d;
  d["variant"] = std::string(kmeans::to_string(b.variant));
  d["vectors"] = b.vectors;
  d["dim"] = b.dim;
  d["k"] = b.k;
  d["rank"] = b.rank;
  d["vacuous"] = b.vacuous;
  d["warning"] = b.warning;
  d["singular_values"] = to_numpy(std::move(b.singular_values));
  d["basis"] = to_numpy(std::move(b.basis), {static_cast<py::ssize_t>(b.vectors),
                                              static_cast<py::ssize_t>(b.basis_columns)});
  d["labels"] = to_numpy(std::move(b.labels));
  return d;
}

// The basis as the C++ type again; the arrays are read in place where their dtype and layout allow.
RegularizerBasis basis_from(const py::dict& d) {
  RegularizerBasis b;
  const auto variant = kmeans::parse_regularizer_variant(d["variant"].cast<std::string>());
  if (!variant) throw UsageError("regulariser basis: 'variant' must be 'spectral' or 'hard'");
  b.variant = *variant;
  b.vectors = d["vectors"].cast<int64_t>();
  b.dim = d["dim"].cast<int64_t>();
  b.k = d["k"].cast<int64_t>();
  b.rank = d["rank"].cast<int64_t>();
  b.vacuous = d["vacuous"].cast<bool>();
  if (b.variant == RegularizerVariant::hard) {
    b.labels = to_vector(d["labels"].cast<InArray<int32_t>>());
  } else {
    auto f = d["basis"].cast<InArray<double>>();
    if (f.ndim() != 2) throw UsageError("regulariser basis: 'basis' must be 2-D (vectors x columns)");
    b.basis_columns = f.shape(1);
    b.basis = to_vector(f);
  }
  return b;
}

}  // namespace

void bind_kmeans(py::module_& m) {
  m.def(
      "kmeans",
      [](const InArray<float>& points, int64_t k, const std::string& init, int max_iter, double tol, uint64_t seed,
         int threads, const py::object& initial_centers, int64_t dim) {
        const auto [n, d] = rows_and_dim(points, dim, "kmeans points");
        (void)n;
        auto p = params_from(k, init, max_iter, tol, seed, threads, initial_centers);
        kmeans::KMeansResult r;
        {
          py::gil_scoped_release release;
          r = kmeans::kmeans(view(points), d, p);
        }
        return result_dict(std::move(r));
      },
      py::arg("points"), py::arg("k"), py::kw_only(), py::arg("init") = "kmeans++", py::arg("max_iter") = 300,
      py::arg("tol") = 1e-4, py::arg("seed") = 0, py::arg("threads") = 0,
      py::arg("initial_centers") = py::none(), py::arg("dim") = 0,
      "k-means of the rows of `points` (N x d). Returns a dict: centers (K x d), labels (N, int32), inertia, "
      "iterations, converged.");

  m.def(
      "inertia",
      [](const InArray<float>& points, const InArray<float>& centers, const InArray<int32_t>& labels) {
        const auto [n, d] = rows_and_dim(points, 0, "inertia points");
        (void)n;
        return kmeans::inertia(view(points), d, view(centers), view(labels), 0);
      },
      py::arg("points"), py::arg("centers"), py::arg("labels"),
      "Sum of squared distances of the points to centers[labels].");

  m.def(
      "count_distinct",
      [](const InArray<float>& points, int64_t limit) {
        const auto [n, d] = rows_and_dim(points, 0, "count_distinct points");
        (void)n;
        return kmeans::count_distinct(view(points), d, limit);
      },
      py::arg("points"), py::arg("limit"));

  m.def(
      "spectral_basis",
      [](const InArray<float>& vectors, int64_t k, int64_t dim) {
        const auto [n, d] = rows_and_dim(vectors, dim, "spectral_basis vectors");
        (void)n;
        return basis_dict(kmeans::spectral_basis(view(vectors), d, k));
      },
      py::arg("vectors"), py::arg("k"), py::kw_only(), py::arg("dim") = 0,
      "F = the top-K right singular vectors of W (vectors are W's columns). Returns a dict; 'vacuous' is "
      "True (with a 'warning') when K >= rank(W).");

  m.def(
      "hard_basis",
      [](const InArray<float>& vectors, int64_t k, const std::string& init, int max_iter, double tol, uint64_t seed,
         int threads, int64_t dim) {
        const auto [n, d] = rows_and_dim(vectors, dim, "hard_basis vectors");
        (void)n;
        auto p = params_from(k, init, max_iter, tol, seed, threads, py::none());
        RegularizerBasis b;
        {
          py::gil_scoped_release release;
          b = kmeans::hard_basis(view(vectors), d, p);
        }
        return basis_dict(std::move(b));
      },
      py::arg("vectors"), py::arg("k"), py::kw_only(), py::arg("init") = "kmeans++", py::arg("max_iter") = 300,
      py::arg("tol") = 1e-4, py::arg("seed") = 0, py::arg("threads") = 0, py::arg("dim") = 0,
      "F = the normalised indicator of dkm's k-means assignment (K clamped to the distinct vectors).");

  m.def(
      "hard_basis_from_labels",
      [](const InArray<int32_t>& labels, int64_t dim) {
        return basis_dict(kmeans::hard_basis_from_labels(view(labels), dim));
      },
      py::arg("labels"), py::arg("dim"));

  m.def(
      "regularizer",
      [](const InArray<float>& vectors, const py::dict& basis, double lam, const py::object& gradient) {
        const RegularizerBasis b = basis_from(basis);
        if (vectors.size() != b.vectors * b.dim)
          throw UsageError(fmt::format("regularizer: {} values, the basis is for {} x {}", vectors.size(),
                                       b.vectors, b.dim));
        std::span<float> g;
        py::object out = gradient;
        if (gradient.is_none()) {
          out = py::array_t<float>(std::vector<py::ssize_t>(vectors.shape(), vectors.shape() + vectors.ndim()));
          g = writable_view(out.cast<py::array>(), "regularizer gradient");
        } else {
          g = writable_view(gradient.cast<py::array>(), "regularizer gradient");
        }
        double value = 0;
        {
          py::gil_scoped_release release;
          value = kmeans::regularizer(view(vectors), b, lam, g);
        }
        return py::make_tuple(value, out);
      },
      py::arg("vectors"), py::arg("basis"), py::arg("lam"), py::arg("gradient") = py::none(),
      "(lam/2)[Tr(W^T W) - Tr(F^T W^T W F)] and its gradient lam * W (I - F F^T), as (value, gradient). "
      "A float32 C-contiguous `gradient` array is written in place.");
}

}  // namespace dkm::python
