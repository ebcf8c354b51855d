// Who may call what: raw events and drafts need a key with that scope (or the admin
// token), assignment and event posts are open unless configured otherwise, keys
// belong to one environment, and admin tokens and keys change on SIGHUP.
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>

#include "core/client_keys.hpp"
#include "tests/integration/event_helpers.hpp"

using namespace expd;
using namespace expd::testing;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// One request with `token` as its Bearer credentials ("" for none).
http_reply with_token(const expd_process& node, const std::string& method, const std::string& path,
                      const std::string& token, const std::string& body = "") {
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n";
  if (!token.empty())
    req += "Authorization: Bearer " + token + "\r\n";
  if (!body.empty())
    req += "Content-Type: application/json\r\n";
  req += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  auto replies = parse_replies(raw_exchange(node.port(), req));
  return replies.empty() ? http_reply{} : replies.front();
}

void expect_unauthorized(const http_reply& r) {
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_EQ(r.json()["error"]["field"], "Authorization") << r.body;
  EXPECT_NE(r.headers.find("WWW-Authenticate: Bearer"), std::string::npos) << r.headers;
}

std::string assign_body() {
  return json{{"unit_type", "user"}, {"unit_id", "u-1"},
              {"requested_experiments", {"planner_policy_exp"}}}
    .dump();
}

class files : public ::testing::Test {
protected:
  void SetUp() override {
    dir = fs::temp_directory_path() / ("expd_credentials_" + std::to_string(::getpid()));
    fs::create_directories(dir);
  }
  void TearDown() override {
    fs::remove_all(dir);
  }
  std::string write(const std::string& name, const std::string& text) {
    auto path = (dir / name).string();
    std::ofstream(path + ".tmp") << text;
    fs::rename(path + ".tmp", path); // whole, as an operator's editor saves it
    return path;
  }
  fs::path dir;
};

} // namespace

TEST(credentials, raw_events_and_drafts_need_a_scope_posts_stay_open_by_default) {
  scratch_database db;
  expd_process node{db};
  auto x = prepare(node); // applied, still a draft
  expect_unauthorized(with_token(node, "GET", "/v1/events?unit_id=u-1", ""));
  expect_unauthorized(with_token(node, "GET", "/v1/events?unit_id=u-1", "not-the-admin-token"));
  EXPECT_EQ(with_token(node, "GET", "/v1/events?unit_id=u-1", expd_process::admin_token).status, 200);
  EXPECT_EQ(with_token(node, "POST", "/v1/events", "", event(x, "u-1").dump()).status, 200);
  EXPECT_EQ(with_token(node, "POST", "/v1/assign", "", assign_body()).status, 200);

  auto listed = [&](const std::string& token) {
    return with_token(node, "GET", "/v1/experiments", token).json()["experiments"].size();
  };
  EXPECT_EQ(listed(""), 0u) << "a draft is not shown without experiments:read";
  EXPECT_EQ(listed(expd_process::admin_token), 1u);
  auto results = "/v1/experiments/" + x.experiment + "/results";
  EXPECT_EQ(with_token(node, "GET", results, "").status, 404);
  EXPECT_EQ(with_token(node, "GET", "/v1/experiments/" + x.experiment + "/series", "").status, 404);
  EXPECT_EQ(with_token(node, "GET", results, expd_process::admin_token).status, 200);
  ASSERT_EQ(node.set_status("planner_policy_exp", "running").status, 200);
  EXPECT_EQ(listed(""), 1u);
  EXPECT_EQ(with_token(node, "GET", results, "").status, 200);
}

TEST_F(files, keys_open_their_scopes_in_their_environment_only) {
  auto keys = write("keys", "web prod assign,events:write " + core::key_digest("k-web") + "\n"
                            "reader prod events:read,experiments:read "
                              + core::key_digest("k-reader") + "\n"
                            "stage staging assign,events:read " + core::key_digest("k-stage")
                              + "\n");
  scratch_database db;
  expd_process node{db, {"--client-keys=" + keys, "--environment=prod", "--open-scopes=none"}};
  auto x = prepare(node);
  ASSERT_EQ(node.set_status("planner_policy_exp", "running").status, 200);
  expect_unauthorized(with_token(node, "POST", "/v1/assign", "", assign_body()));
  expect_unauthorized(with_token(node, "POST", "/v1/assign", "k-stage", assign_body()));
  expect_unauthorized(with_token(node, "POST", "/v1/assign", "k-reader", assign_body()));
  EXPECT_EQ(with_token(node, "POST", "/v1/assign", "k-web", assign_body()).status, 200);
  expect_unauthorized(with_token(node, "POST", "/v1/events", "", event(x, "u-1").dump()));
  EXPECT_EQ(with_token(node, "POST", "/v1/events", "k-web", event(x, "u-1").dump()).status, 200);
  expect_unauthorized(with_token(node, "GET", "/v1/events?unit_id=u-1", "k-web"));
  expect_unauthorized(with_token(node, "GET", "/v1/events?unit_id=u-1", "k-stage"));
  EXPECT_TRUE(eventually([&] {
    auto r = with_token(node, "GET", "/v1/events?unit_id=u-1", "k-reader");
    return r.status == 200 && r.json()["events"].size() == 1;
  }));
  expect_unauthorized(with_token(node, "POST", "/admin/v1/experiments/apply", "k-reader",
                                 spec_example().dump()));
}

TEST_F(files, admin_tokens_rotate_on_sighup_and_a_bad_file_changes_nothing) {
  const std::string a = "first-admin-token-0123456789", b = "second-admin-token-0123456789";
  auto tokens = write("tokens", a + "\n");
  auto keys = write("keys", "");
  scratch_database db;
  expd_process node{db, {"--admin-token-file=" + tokens, "--client-keys=" + keys}};
  auto admin_list = [&](const std::string& token) {
    return with_token(node, "GET", "/admin/v1/experiments", token).status;
  };
  EXPECT_EQ(admin_list(a), 200);
  EXPECT_EQ(admin_list(b), 401);
  write("tokens", b + "\n" + a + "  # until every client has the new one\n");
  node.signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return admin_list(b) == 200; }));
  EXPECT_EQ(admin_list(a), 200);
  write("tokens", b + "\n");
  write("keys", "late prod events:read " + core::key_digest("k-late") + "\n");
  node.signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return admin_list(a) == 401; }));
  EXPECT_EQ(admin_list(b), 200);
  EXPECT_EQ(with_token(node, "GET", "/v1/events?unit_id=u", "k-late").status, 401)
    << "a key of another environment than the node's (default)";
  write("tokens", "short\n");
  node.signal(SIGHUP);
  ASSERT_TRUE(eventually(
    [&] { return read_file(node.log_path()).find("credentials_reload_refused") != std::string::npos; }));
  EXPECT_EQ(admin_list(b), 200) << "the last good tokens stay";
}
