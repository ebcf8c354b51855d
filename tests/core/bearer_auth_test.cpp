#include <gtest/gtest.h>

#include "core/bearer_auth.hpp"

using namespace expd::core;

TEST(bearer_auth, the_scheme_is_case_insensitive) {
  const std::string token = "0123456789abcdef";
  EXPECT_TRUE(bearer_token_matches("Bearer " + token, token));
  EXPECT_TRUE(bearer_token_matches("bearer " + token, token));
  EXPECT_TRUE(bearer_token_matches("BEARER " + token, token));
  EXPECT_TRUE(bearer_token_matches("bEaReR  " + token, token)); // 1*SP
}

TEST(bearer_auth, anything_else_is_refused) {
  const std::string token = "0123456789abcdef";
  EXPECT_FALSE(bearer_token_matches("", token));
  EXPECT_FALSE(bearer_token_matches("Bearer", token));
  EXPECT_FALSE(bearer_token_matches("Bearer ", token));
  EXPECT_FALSE(bearer_token_matches(token, token));
  EXPECT_FALSE(bearer_token_matches("Basic " + token, token));
  EXPECT_FALSE(bearer_token_matches("Bearer" + token, token));
  EXPECT_FALSE(bearer_token_matches("Bearex " + token, token));
  EXPECT_FALSE(bearer_token_matches("Bearer " + token + "0", token));
  EXPECT_FALSE(bearer_token_matches("Bearer 0123456789abcdeF", token)); // tokens are exact
  EXPECT_FALSE(bearer_token_matches("Bearer ", ""));
}
