// `dkm kmeans X.npy --k K ... -o OUT.npz`: clusters the rows of an N x d float array and writes
// centers (K x d float32), labels (N int32), inertia (float64) and iterations (int64). The plain entry
// point for benchmarks and users' scripts (docs/kmeans.md).
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <memory>

#include <fmt/core.h>

#include "kmeans/kmeans.hpp"
#include "kmeans/plan.hpp"
#include "models/error.hpp"
#include "models/output_files.hpp"
#include "models/tensor_io.hpp"
#include "tools/command.hpp"
#include "tools/usage.hpp"

namespace dkm::cli {
namespace {

struct KMeansOptions {
  std::string input, output, init = "k-means++", init_centers;
  int64_t k = 0;
  int max_iter = 300;
  double tol = 1e-4;
  uint64_t seed = 0;
  int threads = 0;
};

// N x d rows from a 2-D array (a 1-D array is N x 1).
Tensor read_rows(const std::string& path) {
  const Array a = read_npy(path);
  if (a.shape.size() != 1 && a.shape.size() != 2)
    throw InputError(path, "shape", fmt::format("a 1-D or 2-D array (N x d), got {} dimensions", a.shape.size()));
  Tensor t = a.to_tensor(path, "array");
  if (t.shape.size() == 1) t.shape.push_back(1);
  const int64_t dim = t.shape[1];
  for (size_t i = 0; i < t.values.size(); ++i)
    if (!std::isfinite(t.values[i]))
      throw InputError(path, fmt::format("row {}, column {}", static_cast<int64_t>(i) / dim, static_cast<int64_t>(i) % dim),
                       fmt::format("expected finite values, got {}", t.values[i]));
  return t;
}

template <class T>
Array scalar_array(DType dtype, T value) {
  Array a;
  a.dtype = dtype;
  a.bytes.resize(sizeof(T));
  std::memcpy(a.bytes.data(), &value, sizeof(T));
  return a;
}

void run_kmeans(const KMeansOptions& o) {
  if (std::filesystem::path(o.output).extension() != ".npz")
    throw UsageError(fmt::format("--output '{}': expected a name ending in .npz", o.output));
  OutputFiles files({o.input, o.init_centers});
  files.add("--output", o.output);
  kmeans::KMeansParams p;
  p.k = o.k;
  p.max_iter = o.max_iter;
  p.tol = o.tol;
  p.seed = o.seed;
  p.threads = o.threads;
  if (!o.init_centers.empty()) {
    if (o.init != "k-means++" && o.init != "given")
      throw UsageError(fmt::format("--init {} conflicts with --init-centers", o.init));
    p.init = kmeans::Init::given;
  } else if (o.init == "given") {
    throw UsageError("--init given needs --init-centers C.npy");
  } else if (auto init = kmeans::parse_init(o.init)) {
    p.init = *init;
  } else {
    throw UsageError(fmt::format("--init {}: expected k-means++, linear, random, optimal-1d or afk-mc2", o.init));
  }
  const Tensor x = read_rows(o.input);
  const int64_t n = x.shape[0], dim = x.shape[1];
  if (p.init == kmeans::Init::given) {
    const Tensor c = read_rows(o.init_centers);
    if (c.shape[0] != o.k || c.shape[1] != dim)
      throw InputError(o.init_centers, "shape",
                       fmt::format("{} x {} centres (--k x the dimension of {}), got {} x {}", o.k, dim, o.input,
                                   c.shape[0], c.shape[1]));
    p.initial_centers = c.values;
  }
  const auto start = std::chrono::steady_clock::now();
  const kmeans::KMeansResult r = kmeans::kmeans(x.values, dim, p);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();

  ArrayMap out;
  Array centers;
  centers.dtype = DType::f32;
  centers.shape = {r.k, r.dim};
  centers.bytes.assign(reinterpret_cast<const char*>(r.centers.data()), r.centers.size() * sizeof(float));
  Array labels;
  labels.dtype = DType::i32;
  labels.shape = {n};
  labels.bytes.assign(reinterpret_cast<const char*>(r.labels.data()), r.labels.size() * sizeof(int32_t));
  out["centers"] = std::move(centers);
  out["labels"] = std::move(labels);
  out["inertia"] = scalar_array(DType::f64, r.inertia);
  out["iterations"] = scalar_array(DType::i64, int64_t{r.iterations});
  files.set("--output", encode_npz(out, o.output));
  files.commit();
  fmt::print("k-means: N = {}, d = {}, K = {}, init {}, {} iterations ({}), inertia {:.9g}, {:.1f} ms; wrote {}\n", n,
             dim, r.k, kmeans::to_string(p.init), r.iterations, r.converged ? "converged" : "max_iter reached",
             r.inertia, ms, o.output);
}

void setup_kmeans(CLI::App& app) {
  auto o = std::make_shared<KMeansOptions>();
  auto* cmd = app.add_subcommand("kmeans", "k-means on the rows of an N x d .npy (scikit-learn's Lloyd, fast)");
  cmd->add_option("X", o->input, "points: N x d (or N) array in .npy, float32")->required();
  cmd->add_option("--k", o->k, "clusters")->required()->check(integer_in(1, INT32_MAX));
  cmd->add_option("--init", o->init, "k-means++ | linear | random | optimal-1d (d = 1) | afk-mc2 (very large N)")->capture_default_str();
  cmd->add_option("--init-centers", o->init_centers, "K x d .npy of initial centres (implies --init given)");
  cmd->add_option("--max-iter", o->max_iter, "Lloyd iterations at most")->capture_default_str()->check(integer_in(0, 1000000));
  cmd->add_option("--tol", o->tol, "stop when the centre shift <= tol x mean variance; 0 = run --max-iter")
      ->capture_default_str()->check(number_in(0, 1e300, false, "a tolerance"));
  cmd->add_option("--seed", o->seed, "random seed")->capture_default_str();
  cmd->add_option("--threads", o->threads, "threads, 0 = all; results do not depend on it")->capture_default_str()
      ->check(integer_in(0, 4096));
  cmd->add_option("-o,--output", o->output, "output .npz: centers, labels, inertia, iterations")->required();
  cmd->callback([o] { run_kmeans(*o); });
}

const bool registered = register_command({40, setup_kmeans});

}  // namespace
}  // namespace dkm::cli
