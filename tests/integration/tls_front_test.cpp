// HTTPS for clients through deploy/tls-front.sh (nginx in front of expd): requests and
// their answers pass unchanged, and a client that does not know the front's
// certificate, or speaks plain HTTP to it, gets nothing from expd.
#include <gtest/gtest.h>

#include <filesystem>

#include "tests/integration/expd_process.hpp"

using namespace expd::testing;
namespace fs = std::filesystem;

namespace {

class tls_front : public ::testing::Test {
protected:
  void SetUp() override {
    dir = fs::temp_directory_path() / ("expd_tls_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    node = std::make_unique<expd_process>(db);
    tls_port = free_port();
    env = "EXPD_TLS_DIR=" + dir.string() + " EXPD_TLS_PORT=" + std::to_string(tls_port)
          + " EXPD_TLS_UPSTREAM=127.0.0.1:" + std::to_string(node->port()) + " ";
    auto started = run_command(env + "bash " EXPD_SOURCE_DIR "/deploy/tls-front.sh start 2>&1");
    ASSERT_EQ(started.status, 0) << started.out;
  }
  void TearDown() override {
    run_command(env + "bash " EXPD_SOURCE_DIR "/deploy/tls-front.sh stop 2>&1");
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
  EXPECT_EQ(run_command(curl(ca + url("/health"))).out, "200 0");
  ASSERT_EQ(node->apply(spec_example()).status, 200);
  ASSERT_EQ(node->set_status("planner_policy_exp", "running").status, 200);
  auto assigned = run_command("curl -sS --max-time 10" + ca + "-H 'Content-Type: application/json' -d "
                          "'{\"unit_type\":\"user\",\"unit_id\":\"u-1\",\"requested_experiments\":"
                          "[\"planner_policy_exp\"]}' "
                          + url("/v1/assign"));
  EXPECT_EQ(assigned.status, 0) << assigned.out;
  EXPECT_NE(assigned.out.find("\"variant_name\""), std::string::npos) << assigned.out;
  // Errors pass as expd wrote them.
  EXPECT_EQ(run_command(curl(ca + "-H 'Content-Type: application/json' -d '{' " + url("/v1/assign")))
              .out,
            "400 0");
}

TEST_F(tls_front, an_unknown_certificate_and_plain_http_are_refused) {
  EXPECT_NE(run_command(curl(url("/health"))).status, 0) << "self-signed: curl must refuse it";
  auto plain = run_command(curl("http://127.0.0.1:" + std::to_string(tls_port) + "/health"));
  EXPECT_EQ(plain.out.substr(0, 3), "400") << plain.out;
}
