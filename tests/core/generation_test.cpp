#include <cmath>
#include <limits>

#include <gtest/gtest.h>

#include "core/generation.hpp"

using namespace expd::core;
using kind = generation_refusal::kind;

namespace {

generation_limits limits() {
  generation_limits l;
  l.max_sequence = 64;
  l.max_stop_sequences = 2;
  l.max_stop_length = 3;
  l.max_id_length = 8;
  l.vocab_size = 96;
  return l;
}

generation_request request() {
  generation_request r;
  r.id = "req-1";
  r.prompt = {1, 5, 95};
  r.max_new_tokens = 61; // 3 + 61 = 64: exactly the cap
  r.temperature = 0.7;
  r.top_p = 0.9;
  r.stop = {{2}, {7, 8, 9}};
  return r;
}

// The refusal of `r`: its kind and field, or a test failure when it is accepted.
generation_refusal refusal(const generation_request& r) {
  auto got = check_generation_request(r, limits());
  EXPECT_TRUE(got.has_value()) << "accepted";
  return got.value_or(generation_refusal{kind::invalid, "(accepted)", ""});
}

} // namespace

TEST(generation, a_request_at_every_cap_is_accepted) {
  EXPECT_FALSE(check_generation_request(request(), limits()));
  auto r = request();
  r.temperature = 0;
  r.top_p = 1;
  r.stop.clear();
  r.id = "12345678";
  EXPECT_FALSE(check_generation_request(r, limits()));
}

TEST(generation, each_refusal_names_its_field_and_kind) {
  struct spoiled {
    void (*spoil)(generation_request&);
    kind why;
    const char* field;
  };
  const spoiled cases[] = {
    {[](auto& r) { r.id = "123456789"; }, kind::over_limit, "id"},
    {[](auto& r) { r.prompt.clear(); }, kind::invalid, "prompt"},
    {[](auto& r) { r.prompt.assign(64, 3); }, kind::over_limit, "prompt"},
    {[](auto& r) { r.prompt[2] = 96; }, kind::invalid, "prompt[2]"},
    {[](auto& r) { r.prompt[0] = -1; }, kind::invalid, "prompt[0]"},
    {[](auto& r) { r.max_new_tokens = 0; }, kind::invalid, "max_new_tokens"},
    {[](auto& r) { r.max_new_tokens = 62; }, kind::over_limit, "max_new_tokens"},
    {[](auto& r) { r.temperature = -0.1; }, kind::invalid, "temperature"},
    {[](auto& r) { r.temperature = std::numeric_limits<double>::infinity(); }, kind::invalid, "temperature"},
    {[](auto& r) { r.temperature = std::nan(""); }, kind::invalid, "temperature"},
    {[](auto& r) { r.top_p = 0; }, kind::invalid, "top_p"},
    {[](auto& r) { r.top_p = 1.01; }, kind::invalid, "top_p"},
    {[](auto& r) { r.top_p = std::nan(""); }, kind::invalid, "top_p"},
    {[](auto& r) { r.stop.push_back({4}); }, kind::over_limit, "stop"},
    {[](auto& r) { r.stop[1].clear(); }, kind::invalid, "stop[1]"},
    {[](auto& r) { r.stop[1].push_back(10); }, kind::over_limit, "stop[1]"},
    {[](auto& r) { r.stop[1][2] = 200; }, kind::invalid, "stop[1][2]"},
  };
  for (auto& c : cases) {
    auto r = request();
    c.spoil(r);
    auto got = refusal(r);
    EXPECT_EQ(got.field, c.field);
    EXPECT_EQ(got.why, c.why) << c.field;
    EXPECT_NE(got.message.find(c.field), std::string::npos) << got.message;
  }
}

TEST(generation, messages_say_the_numbers) {
  auto r = request();
  r.max_new_tokens = 100;
  EXPECT_EQ(refusal(r).message, "prompt of 3 tokens + max_new_tokens 100 is over the 64 tokens "
                                "this model takes; at most 61 new tokens fit");
  r = request();
  r.prompt[1] = 96;
  EXPECT_EQ(refusal(r).message, "prompt[1] is token 96, not one of the model's 0 to 95");
}

TEST(generation, limits_fit_the_models_positions_and_window) {
  generation_limits l;
  l.max_sequence = 2048;
  EXPECT_EQ(fit_to_model(l, 4096, std::nullopt, 32000).max_sequence, 2048u);
  EXPECT_EQ(fit_to_model(l, 128, std::nullopt, 32000).max_sequence, 128u);
  // Mistral refuses positions at or past its window.
  EXPECT_EQ(fit_to_model(l, 4096, 64, 32000).max_sequence, 64u);
  EXPECT_EQ(fit_to_model(l, 4096, std::nullopt, 32000).vocab_size, 32000);
}

TEST(generation, the_longest_matching_stop_sequence_wins) {
  std::vector<std::vector<std::int32_t>> stops{{5}, {4, 5}, {9, 9, 9}, {}};
  EXPECT_EQ(matched_stop({1, 2, 5}, stops), 0u);
  EXPECT_EQ(matched_stop({1, 4, 5}, stops), 1u);
  EXPECT_EQ(matched_stop({4, 5}, stops), 1u);
  EXPECT_EQ(matched_stop({9, 9, 9}, stops), 2u);
  EXPECT_FALSE(matched_stop({9, 9}, stops));
  EXPECT_FALSE(matched_stop({5, 4}, stops));
  EXPECT_FALSE(matched_stop({}, stops));
  EXPECT_FALSE(matched_stop({1, 2}, {}));
  // Two equal sequences: the first.
  EXPECT_EQ(matched_stop({3, 7}, {{1}, {7}, {7}}), 1u);
}

TEST(generation, finish_reasons_have_the_apis_names) {
  EXPECT_EQ(to_string(finish_reason::stop), "stop");
  EXPECT_EQ(to_string(finish_reason::length), "length");
}
