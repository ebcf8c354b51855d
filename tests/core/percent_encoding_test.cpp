#include <gtest/gtest.h>

#include "core/percent_encoding.hpp"

using namespace expd::core;

TEST(percent_encoding, encode_keeps_only_unreserved_bytes) {
  EXPECT_EQ(uri_encode("AZaz09-._~", false), "AZaz09-._~");
  EXPECT_EQ(uri_encode("a b+c=d/e", false), "a%20b%2Bc%3Dd%2Fe");
  EXPECT_EQ(uri_encode("a b+c=d/e", true), "a%20b%2Bc%3Dd/e");
  EXPECT_EQ(uri_encode("\xc3\xbc%", true), "%C3%BC%25");
}

TEST(percent_encoding, decode_is_the_inverse) {
  for (std::string text : {"", "plain", "a b+c=d/e&f", "\xc3\xbc%~\x01"})
    EXPECT_EQ(uri_decode(uri_encode(text, false)), text);
  EXPECT_EQ(uri_decode("%c3%BC+x"), "\xc3\xbc+x");
}

TEST(percent_encoding, decode_refuses_broken_escapes) {
  for (const char* text : {"%", "%4", "a%zz", "%-1", "%+1", "%4g"})
    EXPECT_EQ(uri_decode(text), std::nullopt) << text;
}

TEST(percent_encoding, hex_encodes_every_byte) {
  EXPECT_EQ(hex_encode(std::string_view{"\0x\xff", 3}), "0078ff");
  EXPECT_EQ(hex_encode(""), "");
}
