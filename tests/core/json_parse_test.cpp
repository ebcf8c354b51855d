#include "core/json_parse.hpp"
#include "core/field_error.hpp"

#include <functional>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/json_identical.hpp"

namespace expd::core {
namespace {

using expd::test::identical;
using nlohmann::json;

void expect_same_as_nlohmann(const std::string& text) {
  auto expected = json::parse(text, nullptr, false);
  auto got = parse_json(text);
  ASSERT_EQ(expected.is_discarded(), got.is_discarded()) << text;
  if (!expected.is_discarded()) {
    EXPECT_TRUE(identical(expected, got)) << text << "\nnlohmann: " << expected.dump()
                                          << "\nparse_json: " << got.dump();
  }
}

TEST(json_parse, builds_the_value_nlohmann_builds) {
  for (const char* text : {
         R"({"event_type":"plan_generated","unit_id":"u-1","metrics":{"latency_ms":450}})",
         R"({"a":0,"b":-0,"c":-1,"d":18446744073709551615,"e":9223372036854775807})",
         R"({"f":1.0,"g":1e2,"h":-2.5e-3,"i":0.1,"j":1E+2,"k":123456789012345678901234567890})",
         R"({"big":1e400,"tiny":1e-400,"neg":-18446744073709551616})",
         R"({"s":"a\"b\\c\/d\b\f\n\r\t","u":"\u00e9\u4e2d\ud83d\ude00","nul":"a\u0000b"})",
         R"({"same":1,"x":{"same":"a"},"y":[{"same":2}]})",
         R"([1,[2,[3,[]]],{},null,true,false,""])",
         "  {\"ws\" : [ 1 , 2 ] }\n\t",
         "\"just a string\"", "42", "null", "true",
       })
    expect_same_as_nlohmann(text);
}

TEST(json_parse, refuses_what_nlohmann_refuses) {
  for (const char* text : {
         "", " ", "{", "}", "[1,]", "{\"a\":}", "{\"a\" 1}", "{a:1}", "[01]", "[1.]", "[.5]",
         "[+1]", "[NaN]", "[Infinity]", "{\"a\":1} x", "{} {}", "'single'", "[\"\\x41\"]",
         "[\"\\ud800\"]", "[\"\\udc00\"]", "[\"\\ud800\\u0041\"]", "[\"tab\there\"]",
         "[\"\xff\"]", "[\"\xc3\x28\"]", "[\"\xed\xa0\x80\"]", "[\"\xf4\x90\x80\x80\"]",
         "[tru]", "[nul]", "[\"unterminated]",
       })
    expect_same_as_nlohmann(text);
}

// Found by tests/fuzz (json_parse): nlohmann ends the input at a NUL byte after the
// value, so trailing garbage passed as long as a NUL came first.
TEST(json_parse, refuses_a_nul_byte_anywhere) {
  using namespace std::string_literals;
  for (const auto& text : {"{\"a\":1}\0{{{ garbage"s, "312\0\0\0[\"\\ud8"s, "[1]\0"s, "\0"s,
                           "\"a\0b\""s})
    EXPECT_TRUE(parse_json(text).is_discarded()) << text;
  EXPECT_EQ(parse_json("{\"a\":\"\\u0000\"}"), json({{"a", "\0"s}})); // escaped, it is data
}

// Random documents and random damage to them: whatever either parser makes of a text,
// the other makes the same.
TEST(json_parse, agrees_with_nlohmann_on_random_and_damaged_text) {
  std::mt19937_64 rng{20261123};
  const std::vector<std::string> atoms = {
    "0", "-0", "7", "-12", "3.25", "-1e-7", "6.02e23", "18446744073709551615",
    "18446744073709551616", "-9223372036854775808", "-9223372036854775809", "1e309",
    "true", "false", "null", "\"\"", "\"x\"", "\"\\u00e9\"", "\"\\ud83d\\ude00\"",
    "\"\\u0000\"", "\"caf\xc3\xa9\"", "\"\\n\\t\""};
  std::function<std::string(int)> value = [&](int depth) -> std::string {
    auto pick = rng() % (depth > 3 ? 1 : 3);
    if (pick == 0)
      return atoms[rng() % atoms.size()];
    std::string out = pick == 1 ? "[" : "{";
    auto n = rng() % 4;
    for (std::size_t i = 0; i < n; ++i) {
      if (i)
        out += ",";
      if (pick == 2)
        out += "\"k" + std::to_string(i) + "\":"; // no key twice: that is refused
      out += value(depth + 1);
    }
    return out + (pick == 1 ? "]" : "}");
  };
  int parsed = 0;
  for (int i = 0; i < 3000; ++i) {
    auto text = value(0);
    if (i % 2 == 1 && !text.empty()) {
      auto at = rng() % text.size();
      switch (rng() % 3) {
      case 0: text.erase(at, 1); break;
      case 1: text.insert(at, 1, "{}[],:\"\\ 0e-\x80"[rng() % 14]); break;
      case 2: text.resize(at); break;
      }
    }
    if (!json::parse(text, nullptr, false).is_discarded())
      ++parsed;
    expect_same_as_nlohmann(text);
    if (HasFatalFailure())
      return;
  }
  // Both kinds occur, so both paths were compared.
  EXPECT_GT(parsed, 1500);
  EXPECT_LT(parsed, 3000);
}

std::string duplicate_at(const std::string& text) {
  try {
    parse_json(text);
  } catch (const field_error& e) {
    return e.field();
  }
  return "no error";
}

// nlohmann keeps the last of a key given twice; a proxy or another parser may keep the
// first. Refused, naming the key's path, on simdjson's path and on nlohmann's (where an
// integer past 64 bits takes the text).
TEST(json_parse, a_key_twice_is_refused_naming_its_path) {
  for (std::string tail : {"", R"(,"big":123456789012345678901234567890)"}) {
    SCOPED_TRACE(tail);
    EXPECT_EQ(duplicate_at(R"({"unit_id":"a","unit_id":"b")" + tail + "}"), "unit_id");
    EXPECT_EQ(duplicate_at(R"({"events":[{"unit_id":"a"},{"unit_id":"a","x":1,"unit_id":"b"}])"
                           + tail + "}"),
              "events[1].unit_id");
    EXPECT_EQ(duplicate_at(R"({"a":{"b":[1,[2,{"c":0,"c":0}]]})" + tail + "}"), "a.b[1][1].c");
    EXPECT_EQ(duplicate_at(R"({"a":[[],{},3,{"k":{"x":1,"x":2}}])" + tail + "}"), "a[3].k.x");
  }
  EXPECT_EQ(duplicate_at(R"([{"a":1},{"a":1,"a":1}])"), "[1].a");
  try {
    parse_json(R"({"unit_id":"a","unit_id":"b"})");
  } catch (const field_error& e) {
    EXPECT_STREQ(e.what(), "\"unit_id\" appears twice in one object");
  }
  // Malformed text stays nlohmann's error, whatever keys it repeats before the fault.
  EXPECT_TRUE(parse_json(R"({"a":1,"a":2)").is_discarded());
}

} // namespace
} // namespace expd::core
