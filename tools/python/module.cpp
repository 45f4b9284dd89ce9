// The compiled half of the `dkm` Python package (dkm._dkm). The Python side (dkm/__init__.py,
// dkm/torch.py) re-exports these functions; docs/python.md shows use.
#include "models/error.hpp"
#include "tools/python/numpy_views.hpp"

PYBIND11_MODULE(_dkm, m) {
  m.doc() = "dkm: k-means weight sharing, the re-training regulariser, the compressed container, the estimator";
  // Bad input surfaces as ValueError with dkm's one-line message (file, place, expectation).
  pybind11::register_exception<dkm::InputError>(m, "InputError", PyExc_ValueError);
  pybind11::register_exception<dkm::UsageError>(m, "UsageError", PyExc_ValueError);
  dkm::python::bind_kmeans(m);
  dkm::python::bind_container(m);
  dkm::python::bind_models(m);
  dkm::python::bind_estimator(m);
}
