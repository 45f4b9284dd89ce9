// The report in a real browser: tools/browser-check.py loads it in headless Chromium, fails on console
// errors and external requests, checks every chart's marks and the table sort, and saves screenshots
// (light and dark) under screenshots/ in the test's working directory.
#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "models/atomic_file.hpp"
#include "reports/html.hpp"
#include "sample_report.hpp"
#include "tests/support.hpp"

namespace {

bool have_chromium() { return std::filesystem::exists("/usr/bin/chromium"); }

// Runs the checker; returns its exit status and fills `output` with what it printed.
int browser_check(const std::string& report, std::string& output) {
  dkm::test::TempDir dir;
  const std::string cmd = "python3 '" + dkm::test::source_path("tools/browser-check.py") + "' '" + report +
                          "' --screenshots screenshots >'" + (dir / "out") + "' 2>&1";
  const int status = std::system(cmd.c_str());
  output = dkm::test::slurp(dir / "out");
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

TEST_CASE("browser: the sample report loads cleanly in headless chromium, light and dark") {
  if (!have_chromium()) {
    return dkm::test::skip("chromium not installed (apt-get install chromium)");
  }
  dkm::test::TempDir dir;
  const std::string report = dir / "sample-report.html";
  dkm::write_file_atomic(report, dkm::reports::render_report(dkm::test::sample_report_input()));
  std::string output;
  const int rc = browser_check(report, output);
  INFO(output);
  CHECK(rc == 0);
  CHECK(output.find("[light] 7 charts") != std::string::npos);
  CHECK(output.find("[dark] 7 charts") != std::string::npos);
  CHECK(std::filesystem::exists("screenshots/sample-report-light.png"));
  CHECK(std::filesystem::exists("screenshots/sample-report-dark.png"));
}

TEST_CASE("browser: the checker catches an external request and a console error") {
  if (!have_chromium()) {
    return dkm::test::skip("chromium not installed (apt-get install chromium)");
  }
  dkm::test::TempDir dir;
  std::string html = dkm::reports::render_report(dkm::test::sample_report_input());
  const std::string bad = "<img alt=\"\" src=\"https://example.invalid/x.png\">\n<script>console.error('boom')</script>\n";
  html.insert(html.find("</main>"), bad);
  const std::string report = dir / "bad-report.html";
  dkm::write_file_atomic(report, html);
  std::string output;
  const int rc = browser_check(report, output);
  INFO(output);
  CHECK(rc == 1);
  CHECK(output.find("external reference: src=\"https://example.invalid") != std::string::npos);
  CHECK(output.find("console error: boom") != std::string::npos);
  // The CSP blocks the image before it can leave the machine; the browser logs that as an error.
  CHECK(output.find("Content Security Policy") != std::string::npos);
}
