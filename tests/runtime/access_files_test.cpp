#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "runtime/access_files.hpp"

using namespace expd;
namespace fs = std::filesystem;

namespace {

class access_files : public ::testing::Test {
protected:
  void SetUp() override {
    dir = fs::temp_directory_path() / ("expd_access_" + std::to_string(::getpid()));
    fs::create_directories(dir);
  }
  void TearDown() override {
    fs::remove_all(dir);
  }
  std::string write(const std::string& name, const std::string& text) {
    auto path = (dir / name).string();
    std::ofstream(path) << text;
    return path;
  }
  std::string refusal(const runtime::node_config& cfg) {
    try {
      runtime::load_access_policy(cfg);
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "accepted";
  }
  fs::path dir;
};

} // namespace

TEST_F(access_files, a_token_file_may_hold_several_tokens_for_a_rotation) {
  runtime::node_config cfg;
  cfg.admin_token_file = write("tokens", "# the new one first\nnew-token-0123456789abc\n\n"
                                         "  old-token-0123456789abc  # until clients move\n");
  cfg.client_keys_file = write("keys", "web prod assign " + core::key_digest("k") + "\n");
  cfg.environment = "prod";
  cfg.open_scopes = 0;
  auto p = runtime::load_access_policy(cfg);
  EXPECT_EQ(p.admin_tokens,
            (std::vector<std::string>{"new-token-0123456789abc", "old-token-0123456789abc"}));
  EXPECT_EQ(p.environment, "prod");
  EXPECT_EQ(p.open_scopes, 0);
  ASSERT_NE(p.keys.find("k", "prod"), nullptr);
  cfg.admin_token = "from-the-environment-0123";
  EXPECT_EQ(runtime::load_access_policy(cfg).admin_tokens.size(), 3u);
}

TEST_F(access_files, bad_files_are_refused_whole_naming_the_file_and_line) {
  runtime::node_config cfg;
  cfg.admin_token_file = write("tokens", "long-enough-token-0123\nshort\n");
  EXPECT_NE(refusal(cfg).find("tokens line 2: an admin token must be at least 16"),
            std::string::npos)
    << refusal(cfg);
  cfg.admin_token_file = write("empty", "# nothing\n\n");
  EXPECT_NE(refusal(cfg).find("holds no token"), std::string::npos);
  cfg.admin_token_file = (dir / "missing").string();
  EXPECT_NE(refusal(cfg).find("cannot read"), std::string::npos);
  cfg.admin_token_file = write("tokens", "long-enough-token-0123\n");
  cfg.client_keys_file = write("keys", "web prod delete " + core::key_digest("k") + "\n");
  EXPECT_NE(refusal(cfg).find("keys line 1: unknown scope"), std::string::npos) << refusal(cfg);
  cfg.client_keys_file.clear();
  cfg.admin_token_file.clear();
  cfg.admin_token = "short";
  EXPECT_NE(refusal(cfg).find("EXPD_ADMIN_TOKEN"), std::string::npos);
}

TEST_F(access_files, flags_name_the_files_and_the_scopes_left_open) {
  const char* argv[] = {"expd", "--pg=postgresql://x/y", "--admin-token-file=/t",
                        "--client-keys=/k", "--environment=staging", "--open-scopes=assign"};
  auto cfg = runtime::parse_node_config(6, argv);
  EXPECT_EQ(cfg.admin_token_file, "/t");
  EXPECT_EQ(cfg.client_keys_file, "/k");
  EXPECT_EQ(cfg.environment, "staging");
  EXPECT_EQ(cfg.open_scopes, core::parse_scopes("assign"));
  const char* none[] = {"expd", "--pg=postgresql://x/y", "--admin-token-file=/t", "--open-scopes=none"};
  EXPECT_EQ(runtime::parse_node_config(4, none).open_scopes, 0);
  const char* bad[] = {"expd", "--pg=postgresql://x/y", "--admin-token-file=/t", "--open-scopes=all"};
  EXPECT_THROW(runtime::parse_node_config(4, bad), std::invalid_argument);
}
