// HTTPS for clients through deploy/tls-front.sh (nginx in front of expd): requests and
// their answers pass unchanged, and a client that does not know the front's
// certificate, or speaks plain HTTP to it, gets nothing from expd.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>

#include "tests/integration/expd_process.hpp"

using namespace expd::testing;
namespace fs = std::filesystem;

namespace {

// Runs `command` in a shell; its exit status and standard output.
std::pair<int, std::string> shell(const std::string& command) {
  std::string out;
  auto* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr)
    return {-1, out};
  char buf[4096];
  while (auto n = std::fread(buf, 1, sizeof(buf), pipe))
    out.append(buf, n);
  auto status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

class tls_front : public ::testing::Test {
protected:
  void SetUp() override {
    dir = fs::temp_directory_path() / ("expd_tls_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    node = std::make_unique<expd_process>(db);
    tls_port = free_port();
    env = "EXPD_TLS_DIR=" + dir.string() + " EXPD_TLS_PORT=" + std::to_string(tls_port)
          + " EXPD_TLS_UPSTREAM=127.0.0.1:" + std::to_string(node->port()) + " ";
    auto [rc, out] = shell(env + "bash " EXPD_SOURCE_DIR "/deploy/tls-front.sh start 2>&1");
    ASSERT_EQ(rc, 0) << out;
  }
  void TearDown() override {
    shell(env + "bash " EXPD_SOURCE_DIR "/deploy/tls-front.sh stop 2>&1");
    fs::remove_all(dir);
  }
  std::string curl(const std::string& args) {
    return "curl -sS --max-time 10 -o /dev/null -w '%{http_code} %{ssl_verify_result}' " + args
           + " 2>&1";
  }
  std::string url(const std::string& path) {
    return "https://127.0.0.1:" + std::to_string(tls_port) + path;
  }

  scratch_database db;
  std::unique_ptr<expd_process> node;
  fs::path dir;
  int tls_port = 0;
  std::string env;
};

} // namespace

TEST_F(tls_front, requests_pass_over_https_with_the_fronts_certificate) {
  auto ca = " --cacert " + (dir / "cert.pem").string() + " ";
  EXPECT_EQ(shell(curl(ca + url("/health"))).second, "200 0");
  ASSERT_EQ(node->apply(spec_example()).status, 200);
  ASSERT_EQ(node->set_status("planner_policy_exp", "running").status, 200);
  auto [rc, body] = shell("curl -sS --max-time 10" + ca + "-H 'Content-Type: application/json' -d "
                          "'{\"unit_type\":\"user\",\"unit_id\":\"u-1\",\"requested_experiments\":"
                          "[\"planner_policy_exp\"]}' "
                          + url("/v1/assign"));
  EXPECT_EQ(rc, 0) << body;
  EXPECT_NE(body.find("\"variant_name\""), std::string::npos) << body;
  // Errors pass as expd wrote them.
  EXPECT_EQ(shell(curl(ca + "-H 'Content-Type: application/json' -d '{' " + url("/v1/assign")))
              .second,
            "400 0");
}

TEST_F(tls_front, an_unknown_certificate_and_plain_http_are_refused) {
  EXPECT_NE(shell(curl(url("/health"))).first, 0) << "self-signed: curl must refuse it";
  auto [rc, out] = shell(curl("http://127.0.0.1:" + std::to_string(tls_port) + "/health"));
  EXPECT_EQ(out.substr(0, 3), "400") << out;
}
