// $regex $regexi, and the lower-casing the case-insensitive operators share.
#include <string>

#include <gtest/gtest.h>

#include "core/text_case.hpp"
#include "tests/core/condition_support.hpp"

using namespace expd::test::condition_support;

// ---- $regex ---------------------------------------------------------------------------------

// Found by tests/fuzz (condition): the backtracking matcher took exponential time on
// nested quantifiers ("F***...", here "(a*)*b") and recursed once per character of the
// value, so a 20 KB context string crashed the process.
TEST(condition, regex_neither_backtracks_nor_overflows_the_stack) {
  EXPECT_TRUE(condition::compile(json::parse(R"({"e": {"$regex": "^(a|b)*$"}})"))
                .matches(json{{"e", std::string(200000, 'a')}}));
  EXPECT_FALSE(eval(R"({"e": {"$regex": "(a*)*b"}})", R"({"e": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"})"));
  EXPECT_EQ(error_path(R"({"e": {"$regex": "(a)\\1"}})"), "condition.e.$regex");
  EXPECT_EQ(error_path(R"x({"e": {"$regex": "a(?=b)"}})x"), "condition.e.$regex");
}

// libstdc++'s automaton, which replaced backtracking above, restarts an unanchored
// search at every position: "(a|aa)*c" took 0.35 s on 2 KB, 1.9 s on 4 KB and 8.4 s on
// 8 KB of "a", so one 1 MiB context string would hold a shard for hours. RE2 is linear.
TEST(condition, regex_takes_time_linear_in_the_value) {
  json context{{"e", std::string(1 << 20, 'a')}};
  EXPECT_FALSE(condition::compile(json::parse(R"({"e": {"$regex": "(a|aa)*c"}})")).matches(context));
  EXPECT_TRUE(condition::compile(json::parse(R"({"e": {"$regex": "a{3}$"}})")).matches(context));
}

TEST(condition, regex_searches_the_string_form) {
  EXPECT_TRUE(eval(R"({"e": {"$regex": "@example\\.com$"}})", R"({"e": "bob@example.com"})"));
  EXPECT_FALSE(eval(R"({"e": {"$regex": "@example\\.com$"}})", R"({"e": "bob@example.org"})"));
  EXPECT_FALSE(eval(R"({"e": {"$regex": "@example\\.com$"}})", R"({"e": "bob@exampleXcom"})"));
  EXPECT_TRUE(eval(R"({"e": {"$regex": "ell"}})", R"({"e": "hello"})"));
  EXPECT_FALSE(eval(R"({"e": {"$regex": "^ell"}})", R"({"e": "hello"})"));
  EXPECT_FALSE(eval(R"({"e": {"$regex": "ell"}})", R"({"e": "HELLO"})"));
  EXPECT_TRUE(eval(R"({"e": {"$regex": "^\\d+$"}})", R"({"e": 123})"));
  // GrowthBook's getPath returns null, so a missing attribute is tested as "null".
  EXPECT_FALSE(eval(R"({"e": {"$regex": "^undefined$"}})", R"({})"));
  EXPECT_TRUE(eval(R"({"e": {"$regex": "^null$"}})", R"({})"));
  EXPECT_TRUE(eval(R"({"e": {"$regex": "^null$"}})", R"({"e": null})"));
  EXPECT_TRUE(eval(R"({"e": {"$regex": "^a,b$"}})", R"({"e": ["a", "b"]})"));
  EXPECT_TRUE(eval(R"({"e": {"$regex": "(foo|bar)[0-9]{2}"}})", R"({"e": "xbar42y"})"));
  // Without the m flag, ^ anchors only at the start of the input.
  EXPECT_FALSE(eval(R"({"e": {"$regex": "^b"}})", R"({"e": "a\nb"})"));
}

// ---- $regexi: $regex without regard to case ---------------------------------------------------

TEST(condition, regexi_ignores_case) {
  EXPECT_TRUE(eval(R"({"e": {"$regexi": "^bob@example\\.com$"}})", R"({"e": "BOB@Example.COM"})"));
  EXPECT_FALSE(eval(R"({"e": {"$regex": "^bob@example\\.com$"}})", R"({"e": "BOB@Example.COM"})"));
  EXPECT_FALSE(eval(R"({"e": {"$regexi": "^bob@"}})", R"({"e": "rob@x"})"));
  EXPECT_TRUE(eval(R"({"e": {"$regexi": "[A-Z]+"}})", R"({"e": "abc"})"));
}

TEST(condition, regexi_folds_unicode) {
  EXPECT_TRUE(eval(R"({"e": {"$regexi": "^école$"}})", R"({"e": "ÉCOLE"})"));
  EXPECT_TRUE(eval(R"({"e": {"$regexi": "^ΟΔΟΣ$"}})", R"({"e": "οδος"})"));
}

TEST(condition, regexi_searches_the_string_form) {
  EXPECT_TRUE(eval(R"({"n": {"$regexi": "^1E\\+21$"}})", R"({"n": 1e21})"));
  EXPECT_TRUE(eval(R"({"b": {"$regexi": "^TRUE$"}})", R"({"b": true})"));
  EXPECT_TRUE(eval(R"({"x": {"$regexi": "^NULL$"}})", "{}")); // missing is "null"
  EXPECT_TRUE(eval(R"({"t": {"$regexi": "^A,B$"}})", R"({"t": ["a", "b"]})"));
}

TEST(condition, regexi_is_refused_when_invalid) {
  EXPECT_EQ(error_path(R"({"e": {"$regexi": "("}})", "experiments[0].condition"),
            "experiments[0].condition.e.$regexi");
  EXPECT_EQ(error_path(R"({"e": {"$regexi": "(a)\\1"}})"), "condition.e.$regexi");
  EXPECT_EQ(error_path(R"({"e": {"$regexi": 5}})"), "condition.e.$regexi");
  EXPECT_EQ(error_path(R"({"e": {"$regexi": ["a"]}})"), "condition.e.$regexi");
}

TEST(condition, regexi_takes_time_linear_in_the_value) {
  json context{{"e", std::string(1 << 20, 'A')}};
  EXPECT_FALSE(condition::compile(json::parse(R"({"e": {"$regexi": "(a|aa)*c"}})")).matches(context));
  EXPECT_TRUE(condition::compile(json::parse(R"({"e": {"$regexi": "a{3}$"}})")).matches(context));
}

// ---- toLowerCase, as the case-insensitive operators apply it ----------------------------------

namespace {

std::string lower(const std::string& text) {
  std::string out = "left over";
  expd::core::js_lower_case(text, out);
  return out;
}

} // namespace

TEST(text_case, ascii) {
  EXPECT_EQ(lower(""), "");
  EXPECT_EQ(lower("Hello, World 42!"), "hello, world 42!");
  EXPECT_EQ(lower("already lower"), "already lower");
}

TEST(text_case, unicode_full_lower_case_mapping) {
  EXPECT_EQ(lower("ÀÉÎÕÜ"), "àéîõü");
  EXPECT_EQ(lower("ẞ"), "ß");
  EXPECT_EQ(lower("ΣΟΦΙΑ ΟΔΟΣ"), "σοφια οδος"); // final sigma by its context
  EXPECT_EQ(lower("ПРИВЕТ"), "привет");
  EXPECT_EQ(lower("日本"), "日本");
  EXPECT_EQ(lower("😀A"), "😀a");
}

TEST(text_case, longer_than_the_text) {
  // "İ" (2 bytes) becomes "i" + U+0307 (3 bytes).
  EXPECT_EQ(lower("İ"), "i\xCC\x87");
  EXPECT_EQ(lower("İİİx"), "i\xCC\x87i\xCC\x87i\xCC\x87x");
}
