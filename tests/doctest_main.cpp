// The suites' main: doctest, plus skips that ctest reports as skipped rather than passed. A test case
// that cannot run here (no GPU, no browser, no fetched model) calls dkm::test::skip(why) and returns;
// when every test case the process ran was skipped, it exits with kSkipExitCode, which ctest's
// SKIP_RETURN_CODE (tests/CMakeLists.txt) turns into "Skipped". ctest runs one test case per process.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <string>

#include "tests/support.hpp"

namespace {

int started = 0;
int skipped = 0;

struct CaseCounter : doctest::IReporter {
  explicit CaseCounter(const doctest::ContextOptions&) {}
  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats&) override {}
  void test_case_start(const doctest::TestCaseData&) override { ++started; }
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats&) override {}
  void test_case_exception(const doctest::TestCaseException&) override {}
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData&) override {}
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData&) override {}
};

}  // namespace

DOCTEST_REGISTER_LISTENER("dkm-case-counter", 1, CaseCounter);

namespace dkm::test {

void skip(const std::string& why) {
  ++skipped;
  std::printf("skipped: %s\n", why.c_str());
  std::fflush(stdout);
}

}  // namespace dkm::test

int main(int argc, char** argv) {
  doctest::Context context(argc, argv);
  const int rc = context.run();
  if (context.shouldExit()) return rc;
  if (rc == 0 && started > 0 && skipped >= started) return dkm::test::kSkipExitCode;
  return rc;
}
