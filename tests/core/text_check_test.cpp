#include <gtest/gtest.h>

#include "core/field_error.hpp"
#include "core/text_check.hpp"

using expd::core::check_text;
using expd::core::storable_text;

namespace {

const std::string replacement = "\xef\xbf\xbd";

TEST(storable_text, keeps_valid_utf8_and_replaces_what_postgresql_cannot_store) {
  const std::string valid = "plan: Mon dal tadka; Z\xc3\xbcrich \xe6\x9d\xb1 \xf0\x9f\x98\x80\n\ttabs";
  EXPECT_EQ(storable_text(valid), valid);
  EXPECT_EQ(storable_text(std::string("a\0b", 3)), "a" + replacement + "b");
  EXPECT_EQ(storable_text("a\xff" "b"), "a" + replacement + "b");          // a stray byte
  EXPECT_EQ(storable_text("a\xe6\x9d"), "a" + replacement + replacement); // a cut sequence
  EXPECT_EQ(storable_text("\xc0\xaf"), replacement + replacement);        // overlong '/'
  EXPECT_EQ(storable_text("\xed\xa0\x80"), replacement + replacement + replacement); // a surrogate
  EXPECT_EQ(storable_text("\xf4\x90\x80\x80x"), replacement + replacement + replacement + replacement + "x");
  EXPECT_EQ(storable_text(""), "");
  // What it gives is always what check_text takes (controls allowed, as in context).
  for (auto text : {std::string("a\0b", 3), std::string("\xff\xfe\xc3"), std::string("\xe2\x82")})
    EXPECT_NO_THROW(check_text(storable_text(text), true, "plan", "plan"));
}

TEST(check_text, names_each_fault) {
  auto message = [](const std::string& text, bool controls) {
    try {
      check_text(text, controls, "f", "f");
    } catch (const expd::core::field_error& e) {
      return std::string{e.what()};
    }
    return std::string{"ok"};
  };
  EXPECT_EQ(message("plain \xc3\xbc", false), "ok");
  EXPECT_NE(message(std::string("a\0", 2), true).find("NUL"), std::string::npos);
  EXPECT_NE(message("\xff", true).find("UTF-8"), std::string::npos);
  EXPECT_NE(message("a\x01", false).find("control"), std::string::npos);
  EXPECT_NE(message("a\xc2\x85", false).find("control"), std::string::npos); // U+0085, a C1 control
  EXPECT_EQ(message("a\x01\xc2\x85", true), "ok");
}

} // namespace
