// What a command writes (models/output_files.hpp): a symlink keeps pointing at the file it names, a FIFO
// is written through and stays a FIFO, `-` is standard output, an input is never overwritten, and a
// command whose later output fails replaces none. Everything happens in a scratch folder; FIFOs are opened
// for reading without blocking and every dkm run has a time limit, so a regression fails, never hangs.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "tests/support.hpp"

using dkm::test::run_dkm;
using dkm::test::slurp;
using dkm::test::source_path;
using dkm::test::TempDir;
namespace fs = std::filesystem;

namespace {

const std::string kTiny = source_path("tests/bad-inputs/tiny-model.json");
const std::string kPlan = source_path("tests/bad-inputs/tiny-plan.json");
const std::string kContainer = source_path("tests/bad-inputs/tiny-compressed.safetensors");
constexpr int kLimit = 60;  // seconds for any one run

std::string q(const std::string& s) { return "'" + s + "'"; }

void write_text(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

// The read end of a FIFO, opened without waiting for a writer; everything written to it so far.
struct FifoReader {
  int fd = -1;
  explicit FifoReader(const std::string& path) : fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK)) {}
  ~FifoReader() {
    if (fd >= 0) ::close(fd);
  }
  std::string drain() const {
    std::string s;
    char buf[4096];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) s.append(buf, static_cast<size_t>(n));
    return s;
  }
};

}  // namespace

TEST_CASE("outputs: a symlink keeps pointing at its file, which gets the output") {
  TempDir dir;
  write_text(dir / "real.csv", "old\n");
  fs::create_symlink("real.csv", dir.path / "link.csv");
  fs::create_symlink("new.json", dir.path / "dangling.json");
  auto r = run_dkm("estimate " + q(kTiny) + " --csv " + q(dir / "link.csv") + " --json " + q(dir / "dangling.json"), kLimit);
  CHECK(r.exit_code == 0);
  CHECK(r.err == "");
  CHECK(fs::is_symlink(dir.path / "link.csv"));
  CHECK(fs::read_symlink(dir.path / "link.csv") == "real.csv");
  CHECK(slurp(dir / "real.csv").starts_with("layer,type,"));
  CHECK(fs::is_symlink(dir.path / "dangling.json"));
  CHECK(nlohmann::json::parse(slurp(dir / "new.json"))["model"] == "tiny");
  // Nothing else: no temporary left beside either file.
  CHECK(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()) == 4);
}

TEST_CASE("outputs: a FIFO is written through and stays a FIFO") {
  TempDir dir;
  REQUIRE(::mkfifo((dir / "table.csv").c_str(), 0600) == 0);
  FifoReader reader(dir / "table.csv");
  REQUIRE(reader.fd >= 0);
  auto r = run_dkm("info " + q(kTiny) + " --csv " + q(dir / "table.csv"), kLimit);
  CHECK(r.exit_code == 0);
  CHECK(r.err == "");
  CHECK(reader.drain().starts_with("name,type,output_shape"));
  CHECK(fs::is_fifo(dir.path / "table.csv"));
}

TEST_CASE("outputs: - is standard output, which then carries the data alone") {
  TempDir dir;
  auto r = run_dkm("estimate " + q(kTiny) + " --plan " + q(kPlan) + " --json -", kLimit);
  CHECK(r.exit_code == 0);
  const nlohmann::json j = nlohmann::json::parse(r.out);  // the whole of standard output is the JSON
  CHECK(j["model"] == "tiny");
  CHECK(r.err.find("paper metric:") != std::string::npos);  // the summary went to standard error
  auto csv = run_dkm("sweep " + q(kTiny) + " --rates 0.5,1 --csv -", kLimit);
  CHECK(csv.exit_code == 0);
  CHECK(csv.out.starts_with("cluster_rate,"));
  CHECK(csv.out.find("R^2") == std::string::npos);
  CHECK(!fs::exists("-"));
  auto twice = run_dkm("estimate " + q(kTiny) + " --csv - --json -", kLimit);
  CHECK(twice.exit_code == 2);
  CHECK(twice.err == "dkm: error: --csv - and --json -: the same file; give each output its own path\n");
  CHECK(run_dkm("estimate --help").out.find("(- for standard output)") != std::string::npos);
  // A link to the file standard output is open on (as /dev/stdout is) is standard output too; the link
  // lives in the scratch folder, so an old binary replacing it harms nothing.
  fs::create_symlink("/proc/self/fd/1", dir.path / "stdout");
  auto link = run_dkm("estimate " + q(kTiny) + " --json " + q(dir / "stdout"), kLimit);
  CHECK(link.exit_code == 0);
  CHECK(nlohmann::json::parse(link.out)["model"] == "tiny");
  CHECK(fs::is_symlink(dir.path / "stdout"));
}

TEST_CASE("outputs: an input is never overwritten (same path, hard link, symlink), for every command") {
  TempDir dir;
  fs::copy_file(kContainer, dir.path / "c.safetensors");
  fs::copy_file(kTiny, dir.path / "spec.json");
  fs::copy_file(kPlan, dir.path / "plan.json");
  fs::create_hard_link(dir.path / "c.safetensors", dir.path / "hard.safetensors");
  fs::create_symlink("spec.json", dir.path / "spec-link.json");
  const std::string container = slurp(dir / "c.safetensors"), spec = slurp(dir / "spec.json"),
                    plan = slurp(dir / "plan.json");
  struct Case {
    std::string args, option, output, input;
  };
  const std::vector<Case> cases = {
      {"decompress " + q(dir / "c.safetensors") + " -o " + q(dir / "c.safetensors"), "--output", dir / "c.safetensors",
       dir / "c.safetensors"},
      {"decompress " + q(dir / "c.safetensors") + " -o " + q(dir / "hard.safetensors"), "--output",
       dir / "hard.safetensors", dir / "c.safetensors"},
      {"info " + q(dir / "spec.json") + " --csv " + q(dir / "spec-link.json"), "--csv", dir / "spec-link.json",
       dir / "spec.json"},
      {"estimate " + q(dir / "spec.json") + " --json " + q(dir / "spec.json"), "--json", dir / "spec.json", dir / "spec.json"},
      {"estimate " + q(dir / "spec.json") + " --compressed " + q(dir / "c.safetensors") + " --csv " + q(dir / "c.safetensors"),
       "--csv", dir / "c.safetensors", dir / "c.safetensors"},
      {"sweep " + q(dir / "spec.json") + " --rates 0.5 --json " + q(dir / "spec.json"), "--json", dir / "spec.json",
       dir / "spec.json"},
      {"report " + q(dir / "spec.json") + " --no-sweep -o " + q(dir / "out.html") + " --json " + q(dir / "spec.json"),
       "--json", dir / "spec.json", dir / "spec.json"},
      {"compress " + q(dir / "spec.json") + " --random-weights 1 --plan " + q(dir / "plan.json") + " -o " + q(dir / "plan.json"),
       "--output", dir / "plan.json", dir / "plan.json"},
      {"compare " + q(dir / "spec.json") + " --plan " + q(dir / "plan.json") + " --html " + q(dir / "plan.json"), "--html",
       dir / "plan.json", dir / "plan.json"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.args);
    auto r = run_dkm(c.args, kLimit);
    CHECK(r.exit_code == 2);
    CHECK(r.err == "dkm: error: " + c.option + " " + c.output + ": the same file as the input " + c.input +
                       "; refusing to overwrite an input (give another output path)\n");
    CHECK(slurp(dir / "c.safetensors") == container);
    CHECK(slurp(dir / "spec.json") == spec);
    CHECK(slurp(dir / "plan.json") == plan);
    CHECK(!fs::exists(dir.path / "out.html"));
  }
  // --weights over the container's own output.
  auto r = run_dkm("decompress " + q(dir / "c.safetensors") + " -o " + q(dir / "w.npz"), kLimit);
  REQUIRE(r.exit_code == 0);
  const std::string weights = slurp(dir / "w.npz");
  r = run_dkm("compress " + q(dir / "spec.json") + " --weights " + q(dir / "w.npz") + " --plan " + q(dir / "plan.json") +
                  " -o " + q(dir / "w.npz"),
              kLimit);
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("the same file as the input") != std::string::npos);
  CHECK(slurp(dir / "w.npz") == weights);
}

TEST_CASE("outputs: all are checked before any is replaced; two outputs never share a file") {
  TempDir dir;
  write_text(dir / "keep.csv", "earlier\n");
  auto r = run_dkm("estimate " + q(kTiny) + " --csv " + q(dir / "keep.csv") + " --json " + q(dir / "missing/x.json"), kLimit);
  CHECK(r.exit_code == 2);
  CHECK(r.err == "dkm: error: " + (dir / "missing/x.json") + ": cannot create output in the directory " +
                     (dir / "missing") + ": No such file or directory\n");
  CHECK(slurp(dir / "keep.csv") == "earlier\n");
  r = run_dkm("compress " + q(kTiny) + " --random-weights 1 --plan " + q(kPlan) + " -o " + q(dir / "keep.csv") +
                  " --csv " + q(dir / "c.csv") + " --json " + q(dir / "keep.csv/x.json"),
              kLimit);
  CHECK(r.exit_code == 2);
  CHECK(r.err == "dkm: error: " + (dir / "keep.csv/x.json") + ": cannot create output: " + (dir / "keep.csv") +
                     " is a regular file, not a directory\n");
  CHECK(slurp(dir / "keep.csv") == "earlier\n");
  CHECK(!fs::exists(dir.path / "c.csv"));
  fs::create_directory(dir.path / "sub");
  r = run_dkm("estimate " + q(kTiny) + " --csv " + q(dir / "a.out") + " --json " + q(dir / "sub/../a.out"), kLimit);
  CHECK(r.exit_code == 2);
  CHECK(r.err == "dkm: error: --csv " + (dir / "a.out") + " and --json " + (dir / "sub/../a.out") +
                     ": the same file; give each output its own path\n");
  r = run_dkm("report " + q(kTiny) + " --no-sweep -o " + q(dir.path.string()), kLimit);
  CHECK(r.exit_code == 2);
  CHECK(r.err == "dkm: error: " + dir.path.string() + ": cannot write output to a directory\n");
  CHECK(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()) == 2);  // keep.csv, sub
}

TEST_CASE("inputs: FIFOs, directories, symlink loops and over-long names are one clear error each") {
  TempDir dir;
  REQUIRE(::mkfifo((dir / "fifo").c_str(), 0600) == 0);
  fs::create_symlink("loop-b", dir.path / "loop-a");
  fs::create_symlink("loop-a", dir.path / "loop-b");
  const std::string fifo = dir / "fifo", loop = dir / "loop-a", out = dir / "o";
  const std::string long_name = dir / (std::string(300, 'x') + ".json");
  struct Case {
    std::string args, error;
  };
  const std::string not_regular = ": expected a regular file, got a FIFO (named pipe)";
  const std::vector<Case> cases = {
      {"info " + q(fifo), fifo + not_regular},
      {"estimate " + q(kTiny) + " --hw " + q(fifo), fifo + not_regular},
      {"estimate " + q(kTiny) + " --plan " + q(fifo), fifo + not_regular},
      {"estimate " + q(kTiny) + " --compressed " + q(fifo), fifo + not_regular},
      {"kmeans " + q(fifo) + " --k 2 -o " + q(out + ".npz"), fifo + not_regular},
      {"compress " + q(kTiny) + " --plan " + q(kPlan) + " --weights " + q(fifo + ".npz") + " -o " + q(out), ""},
      {"decompress " + q(fifo) + " -o " + q(out + ".npz"), fifo + not_regular},
      {"compare " + q(fifo), fifo + not_regular},
#ifdef DKM_HAVE_ONNX
      {"info " + q(fifo + ".onnx"), fifo + ".onnx" + not_regular},
      {"export " + q(fifo + ".onnx") + " --weights " + q(fifo + ".npz") + " -o " + q(out), fifo + ".npz" + not_regular},
#endif
      {"info " + q(dir.path.string()), dir.path.string() + ": expected a regular file, got a directory"},
      {"info " + q(loop), loop + ": cannot access: Too many levels of symbolic links"},
      {"estimate " + q(kTiny) + " --plan " + q(loop), loop + ": cannot access: Too many levels of symbolic links"},
      {"info " + q(long_name), long_name + ": cannot access: File name too long"},
      {"info " + q(kTiny) + " --csv " + q(loop), loop + ": cannot write output: Too many levels of symbolic links"},
      {"info " + q(kTiny) + " --csv " + q(long_name), long_name + ": cannot write output: File name too long"},
  };
  REQUIRE(::mkfifo((fifo + ".npz").c_str(), 0600) == 0);
  REQUIRE(::mkfifo((fifo + ".onnx").c_str(), 0600) == 0);
  for (const auto& c : cases) {
    CAPTURE(c.args);
    auto r = run_dkm(c.args, kLimit);
    CHECK(r.exit_code == 2);
    const std::string expected = c.error.empty() ? fifo + ".npz" + not_regular : c.error;
    CHECK(r.err == "dkm: error: " + expected + "\n");
  }
  CHECK(!fs::exists(out));
  CHECK(!fs::exists(out + ".npz"));
}

TEST_CASE("outputs: a device node is written through and stays a device") {
  TempDir dir;
  // A node like /dev/null, made in the scratch folder (needs root; skipped otherwise).
  if (::mknod((dir / "null").c_str(), S_IFCHR | 0600, ::makedev(1, 3)) != 0) {
    dkm::test::skip("mknod needs root");
    return;
  }
  auto r = run_dkm("estimate " + q(kTiny) + " --csv " + q(dir / "null") + " --json " + q(dir / "null"), kLimit);
  CHECK(r.exit_code == 0);
  CHECK(r.err == "");
  struct stat st {};
  REQUIRE(::stat((dir / "null").c_str(), &st) == 0);
  CHECK(S_ISCHR(st.st_mode));
  CHECK(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()) == 1);
}
