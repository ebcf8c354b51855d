#include <gtest/gtest.h>

#include <set>
#include <sstream>

#include "core/client_keys.hpp"
#include "tools/cli_errors.hpp"
#include "tools/client_key.hpp"

using namespace expd;

TEST(client_key, new_keys_differ_and_their_line_parses_to_them) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    auto key = tools::new_client_key();
    ASSERT_EQ(key.size(), 5u + 64u);
    EXPECT_EQ(key.rfind("expd_", 0), 0u);
    EXPECT_TRUE(seen.insert(key).second);
  }
  auto key = *seen.begin();
  auto line = tools::client_key_line("web", "prod", "events:write,assign", key);
  EXPECT_EQ(line.find(key), std::string::npos) << "the line holds the digest, never the key";
  auto keys = core::client_keys::parse(line + "\n");
  auto* found = keys.find(key, "prod");
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->name, "web");
  EXPECT_EQ(found->scopes, core::parse_scopes("assign,events:write"));
}

TEST(client_key, names_environments_and_scopes_are_checked) {
  EXPECT_THROW(tools::client_key_line("two words", "prod", "assign", "k"), std::invalid_argument);
  EXPECT_THROW(tools::client_key_line("web", "prod#x", "assign", "k"), std::invalid_argument);
  EXPECT_THROW(tools::client_key_line("web", "", "assign", "k"), std::invalid_argument);
  EXPECT_THROW(tools::client_key_line("web", "prod", "admin", "k"), std::invalid_argument);
}

TEST(client_key, expctl_keys_new_prints_the_key_once_and_its_line) {
  std::ostringstream out;
  tools::print_new_client_key("web", "prod", "assign", out);
  auto text = out.str();
  auto key = text.substr(6, 5 + 64); // "key:  expd_..."
  ASSERT_EQ(key.rfind("expd_", 0), 0u) << text;
  EXPECT_NE(text.find("line: web prod assign " + core::key_digest(key)), std::string::npos) << text;
  EXPECT_EQ(text.find(key), text.rfind(key)) << "the key appears once";
  std::ostringstream none;
  EXPECT_THROW(tools::print_new_client_key("web", "prod", "everything", none), tools::input_error);
  EXPECT_TRUE(none.str().empty());
}
