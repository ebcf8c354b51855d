#include <gtest/gtest.h>

#include "core/access_policy.hpp"
#include "core/client_keys.hpp"

using namespace expd::core;

TEST(client_keys, scopes_parse_and_print_in_one_order) {
  auto set = parse_scopes("events:read,assign");
  EXPECT_TRUE(has(set, scope::assign));
  EXPECT_TRUE(has(set, scope::events_read));
  EXPECT_FALSE(has(set, scope::events_write));
  EXPECT_EQ(scope_names(set), "assign,events:read");
  EXPECT_THROW(parse_scopes("assign,events:delete"), std::invalid_argument);
  EXPECT_THROW(parse_scopes(""), std::invalid_argument);
  EXPECT_THROW(parse_scopes("assign,"), std::invalid_argument);
  EXPECT_THROW(parse_scopes("Assign"), std::invalid_argument);
}

TEST(client_keys, the_digest_is_sha256_of_the_key) {
  // sha256("abc"), FIPS 180-2's first example.
  EXPECT_EQ(key_digest("abc"),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(client_keys, a_key_is_found_by_its_text_in_its_environment_only) {
  auto text = "# web clients\n"
              "web   production  assign,events:write  " + key_digest("k-web") + "\n"
              "\n"
              "analyst production events:read,experiments:read " + key_digest("k-analyst")
              + "  # read only\n"
              "stage staging assign " + key_digest("k-stage") + "\n";
  auto keys = client_keys::parse(text);
  EXPECT_EQ(keys.size(), 3u);
  auto* web = keys.find("k-web", "production");
  ASSERT_NE(web, nullptr);
  EXPECT_EQ(web->name, "web");
  EXPECT_EQ(web->scopes, parse_scopes("assign,events:write"));
  EXPECT_EQ(keys.find("k-analyst", "production")->name, "analyst");
  EXPECT_EQ(keys.find("k-stage", "production"), nullptr) << "a staging key on production";
  EXPECT_EQ(keys.find("k-we", "production"), nullptr);
  EXPECT_EQ(keys.find("", "production"), nullptr);
  EXPECT_EQ(keys.find(key_digest("k-web"), "production"), nullptr) << "the digest is not the key";
}

TEST(client_keys, malformed_files_are_refused_with_the_line) {
  auto good = key_digest("x");
  auto refused = [](const std::string& text) {
    try {
      client_keys::parse(text);
    } catch (const std::invalid_argument& e) {
      return std::string{e.what()};
    }
    return std::string{"accepted"};
  };
  EXPECT_EQ(refused("a prod assign\n").rfind("line 1:", 0), 0u);
  EXPECT_EQ(refused("\n\na prod assign " + good + " extra\n").rfind("line 3:", 0), 0u);
  EXPECT_NE(refused("a prod assign sha256:ABC\n"), "accepted");
  EXPECT_NE(refused("a prod assign " + good.substr(0, 70) + "\n"), "accepted");
  EXPECT_NE(refused("a prod assign md5:" + good.substr(7) + "\n"), "accepted");
  EXPECT_NE(refused("a prod assign," + good + "\n"), "accepted");
  EXPECT_NE(refused("a prod root " + good + "\n").find("unknown scope \"root\""), std::string::npos);
  EXPECT_NE(refused("a prod assign " + good + "\na prod assign " + key_digest("y") + "\n")
              .find("used twice"),
            std::string::npos);
  EXPECT_NE(refused("a prod assign " + good + "\nb prod assign " + good + "\n").find("twice"),
            std::string::npos);
  EXPECT_EQ(client_keys::parse("# only comments\n\n").size(), 0u);
}

TEST(access_policy, admin_tokens_open_everything_keys_their_scopes_and_open_scopes_anyone) {
  access_policy p;
  p.admin_tokens = {"old-admin-token-0123456789", "new-admin-token-0123456789"};
  p.environment = "production";
  p.keys = client_keys::parse("reader production events:read " + key_digest("k-read") + "\n"
                              "other staging events:read " + key_digest("k-other") + "\n");
  auto bearer = [](const std::string& t) { return std::string{"Bearer "} + t; };
  auto old_admin = bearer("old-admin-token-0123456789");
  auto new_admin = std::string{"bEaReR new-admin-token-0123456789"};
  EXPECT_TRUE(p.admin(&old_admin));
  EXPECT_TRUE(p.admin(&new_admin));
  auto guess = bearer("new-admin-token-012345678X");
  EXPECT_FALSE(p.admin(&guess));
  EXPECT_FALSE(p.admin(nullptr));
  for (auto s : {scope::assign, scope::events_write})
    EXPECT_TRUE(p.grants(nullptr, s)) << "open by default";
  for (auto s : {scope::events_read, scope::experiments_read}) {
    EXPECT_FALSE(p.grants(nullptr, s));
    EXPECT_TRUE(p.grants(&old_admin, s));
  }
  auto reader = bearer("k-read");
  EXPECT_TRUE(p.grants(&reader, scope::events_read));
  EXPECT_FALSE(p.grants(&reader, scope::experiments_read));
  auto other = bearer("k-other");
  EXPECT_FALSE(p.grants(&other, scope::events_read)) << "a key of another environment";
  auto basic = std::string{"Basic azpr"};
  EXPECT_FALSE(p.grants(&basic, scope::events_read));
  EXPECT_FALSE(p.admin(&reader)) << "a key is no admin token";
  p.open_scopes = 0;
  EXPECT_FALSE(p.grants(nullptr, scope::assign));
  auto writer_key = bearer("k-read");
  EXPECT_FALSE(p.grants(&writer_key, scope::assign));
  EXPECT_TRUE(p.grants(&new_admin, scope::assign));
}
