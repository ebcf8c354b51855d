#include <cmath>
#include <fstream>
#include <map>

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "gpu/generation.hpp"
#include "tests/gpu/tiny_checkpoints.hpp"

using namespace expd::gpu;
using expd::core::finish_reason;
using expd::core::generation_request;
using ids = std::vector<std::int32_t>;

namespace {

llama_model model_of(const std::string& variant) {
  return load_llama_model(test::tiny_checkpoints() / variant);
}

generation_request request_of(ids prompt, std::uint32_t max_new, double temperature = 0,
                              std::uint64_t seed = 0) {
  generation_request r;
  r.prompt = std::move(prompt);
  r.max_new_tokens = max_new;
  r.temperature = temperature;
  r.seed = seed;
  return r;
}

// make_tiny_checkpoint.py greedy: the float64 reference forward pass over the whole
// sequence each step, no cache, its argmax.
std::vector<ids> reference_greedy(const std::string& variant, const std::vector<ids>& prompts,
                                  std::uint32_t steps) {
  auto file = test::scratch_dir("greedy-" + variant) / "prompts.json";
  std::ofstream(file) << nlohmann::json(prompts).dump();
  auto out = test::run_python("greedy " + (test::tiny_checkpoints() / variant).string() + " "
                              + file.string() + " " + std::to_string(steps));
  return nlohmann::json::parse(out).get<std::vector<ids>>();
}

std::vector<ids> tokens_of(const std::vector<generated_sequence>& out) {
  std::vector<ids> t;
  for (auto& o : out)
    t.push_back(o.tokens);
  return t;
}

// Prompts of 1, 4, 7 and 12 tokens: every row but the longest behind left padding.
const std::vector<ids> prompts{{17}, {3, 94, 50, 8}, {60, 1, 1, 42, 77, 5, 90}, {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 95, 11}};

// softmax(logits / t) of the model's next-token logits after `prompt`, in float64.
std::vector<double> next_token_distribution(llama_model& model, const ids& prompt, double t) {
  at::NoGradGuard no_grad;
  auto input = at::tensor(std::vector<std::int64_t>(prompt.begin(), prompt.end())).unsqueeze(0);
  auto logits = model->forward(input)[0][-1].to(at::kDouble);
  auto p = at::softmax(logits / t, -1).contiguous();
  return {p.data_ptr<double>(), p.data_ptr<double>() + p.numel()};
}

// Pearson's chi-square of `counts` against `expected` probabilities, bins expecting
// fewer than 5 draws pooled; also gives the degrees of freedom.
std::pair<double, int> chi_square(const std::map<std::int32_t, int>& counts,
                                  const std::vector<double>& expected, int draws) {
  double chi = 0, pooled_expected = 0, pooled_seen = 0;
  int bins = 0;
  for (std::size_t token = 0; token < expected.size(); ++token) {
    auto e = expected[token] * draws;
    auto it = counts.find(static_cast<std::int32_t>(token));
    double seen = it == counts.end() ? 0 : it->second;
    if (e < 5) {
      pooled_expected += e;
      pooled_seen += seen;
      continue;
    }
    chi += (seen - e) * (seen - e) / e;
    ++bins;
  }
  if (pooled_expected > 0) {
    chi += (pooled_seen - pooled_expected) * (pooled_seen - pooled_expected) / pooled_expected;
    ++bins;
  }
  return {chi, bins - 1};
}

// The first token of `draws` rows of one prompt, seeds 0..draws-1, in one batch.
std::map<std::int32_t, int> first_tokens(llama_model& model, const generation_request& like, int draws) {
  std::vector<generation_request> batch;
  for (int s = 0; s < draws; ++s) {
    auto r = like;
    r.seed = static_cast<std::uint64_t>(s);
    r.max_new_tokens = 1;
    batch.push_back(r);
  }
  std::map<std::int32_t, int> counts;
  for (auto& out : generate(model, batch))
    ++counts[out.tokens.at(0)];
  return counts;
}

} // namespace

TEST(generation, greedy_rows_of_different_lengths_batched_together_equal_the_reference_loop) {
  for (auto variant : {"plain", "gqa", "qwen2", "tied", "mistral"}) {
    SCOPED_TRACE(variant);
    auto model = model_of(variant);
    std::vector<generation_request> batch;
    for (auto& p : prompts)
      batch.push_back(request_of(p, 10));
    auto out = generate(model, batch);
    EXPECT_EQ(tokens_of(out), reference_greedy(variant, prompts, 10));
    for (auto& o : out) {
      EXPECT_EQ(o.reason, finish_reason::length);
      EXPECT_EQ(o.generated, 10u);
      EXPECT_EQ(o.stop_index, -1);
    }
  }
}

TEST(generation, each_row_of_a_batch_gets_what_it_gets_alone) {
  auto model = model_of("gqa");
  std::vector<generation_request> batch;
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    // Greedy, plain sampling, nucleus and top-k rows side by side, of different lengths.
    batch.push_back(request_of(prompts[i], 6 + 3 * static_cast<std::uint32_t>(i), i == 0 ? 0 : 0.9, 100 + i));
    batch.back().top_p = i == 2 ? 0.8 : 1;
    batch.back().top_k = i == 3 ? 5 : 0;
  }
  auto together = generate(model, batch);
  ASSERT_EQ(together.size(), batch.size());
  for (std::size_t i = 0; i < batch.size(); ++i) {
    auto alone = generate(model, {batch[i]});
    EXPECT_EQ(together[i].tokens, alone.at(0).tokens) << "row " << i;
    EXPECT_EQ(together[i].tokens.size(), batch[i].max_new_tokens) << "row " << i;
  }
}

TEST(generation, stop_sequences_end_rows_and_are_left_out) {
  auto model = model_of("plain");
  auto greedy = reference_greedy("plain", prompts, 12);
  std::vector<generation_request> batch;
  std::vector<ids> expected;
  std::vector<std::uint32_t> generated;
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    auto& g = greedy[i];
    auto r = request_of(prompts[i], 12);
    // Row i stops at a sequence of two tokens its greedy completion holds, at its first
    // occurrence (a repeating completion may hold it earlier than where it was taken).
    ids stop{g[2 + 2 * i], g[3 + 2 * i]};
    std::int32_t never = 0;
    while (std::find(g.begin(), g.end(), never) != g.end())
      ++never;
    r.stop = {{never}, stop};
    std::size_t at = 0;
    while (!std::equal(stop.begin(), stop.end(), g.begin() + static_cast<std::ptrdiff_t>(at)))
      ++at;
    batch.push_back(r);
    expected.emplace_back(g.begin(), g.begin() + static_cast<std::ptrdiff_t>(at));
    generated.push_back(static_cast<std::uint32_t>(at + 2));
  }
  auto out = generate(model, batch);
  for (std::size_t i = 0; i < out.size(); ++i) {
    SCOPED_TRACE("row " + std::to_string(i));
    EXPECT_EQ(out[i].tokens, expected[i]);
    EXPECT_EQ(out[i].reason, finish_reason::stop);
    EXPECT_EQ(out[i].stop_index, 1);
    EXPECT_EQ(out[i].generated, generated[i]);
  }
}

TEST(generation, max_new_tokens_and_a_first_token_stop_end_rows_at_their_own_step) {
  auto model = model_of("plain");
  auto greedy = reference_greedy("plain", prompts, 5);
  std::vector<generation_request> batch;
  for (std::size_t i = 0; i < prompts.size(); ++i)
    batch.push_back(request_of(prompts[i], static_cast<std::uint32_t>(i + 1)));
  batch[0].max_new_tokens = 5;
  batch[0].stop = {{greedy[0][0]}}; // ends at once, with nothing to show
  auto out = generate(model, batch);
  EXPECT_TRUE(out[0].tokens.empty());
  EXPECT_EQ(out[0].reason, finish_reason::stop);
  EXPECT_EQ(out[0].generated, 1u);
  for (std::size_t i = 1; i < out.size(); ++i) {
    EXPECT_EQ(out[i].reason, finish_reason::length);
    EXPECT_EQ(out[i].tokens, ids(greedy[i].begin(), greedy[i].begin() + static_cast<std::ptrdiff_t>(i + 1)));
  }
}

TEST(generation, a_seed_gives_one_completion) {
  auto model = model_of("plain");
  auto r = request_of(prompts[1], 16, 1.0, 7);
  auto first = generate(model, {r, r}).at(0).tokens;
  EXPECT_EQ(generate(model, {r}).at(0).tokens, first);
  auto other = r;
  other.seed = 8;
  EXPECT_NE(generate(model, {other}).at(0).tokens, first);
  // Two rows of one seed in one batch each have their own generator.
  auto both = generate(model, {r, r});
  EXPECT_EQ(both[0].tokens, both[1].tokens);
}

TEST(generation, a_tiny_top_p_or_top_k_of_one_keeps_only_the_argmax) {
  auto model = model_of("tied");
  std::vector<generation_request> greedy, nucleus, top_one;
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    greedy.push_back(request_of(prompts[i], 10));
    nucleus.push_back(request_of(prompts[i], 10, 1.5, i));
    nucleus.back().top_p = 1e-9;
    top_one.push_back(request_of(prompts[i], 10, 1.5, i));
    top_one.back().top_k = 1;
  }
  auto expected = tokens_of(generate(model, greedy));
  EXPECT_EQ(tokens_of(generate(model, nucleus)), expected);
  EXPECT_EQ(tokens_of(generate(model, top_one)), expected);
}

TEST(generation, temperature_sampling_draws_from_softmax_of_logits_over_t) {
  auto model = model_of("plain");
  constexpr int draws = 6000;
  for (double t : {0.7, 1.6}) {
    SCOPED_TRACE("temperature " + std::to_string(t));
    auto expected = next_token_distribution(model, prompts[0], t);
    auto counts = first_tokens(model, request_of(prompts[0], 1, t), draws);
    auto [chi, df] = chi_square(counts, expected, draws);
    ASSERT_GE(df, 5) << "too few bins to test";
    // The chi-square quantile at p = 1e-4 is below df + 6 sqrt(2 df) for these df.
    EXPECT_LT(chi, df + 6 * std::sqrt(2.0 * df)) << "df " << df;
  }
}

TEST(generation, top_k_and_top_p_sample_the_renormalised_head) {
  auto model = model_of("plain");
  constexpr int draws = 4000;
  auto p = next_token_distribution(model, prompts[1], 1.2);
  std::vector<std::int32_t> order(p.size());
  for (std::size_t i = 0; i < order.size(); ++i)
    order[i] = static_cast<std::int32_t>(i);
  std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return p[a] > p[b]; });
  // The head each cut keeps: 4 tokens for top_k; for top_p the tokens before which less
  // than 0.5 of the mass lies.
  std::size_t nucleus = 0;
  for (double before = 0; before < 0.5; before += p[order[nucleus++]]) {
  }
  ASSERT_GE(nucleus, 2u) << "a nucleus of one token tests nothing";
  for (auto [top_k, top_p, keep] :
       {std::tuple{4u, 1.0, std::size_t{4}}, std::tuple{0u, 0.5, nucleus}}) {
    SCOPED_TRACE("top_k " + std::to_string(top_k) + " top_p " + std::to_string(top_p));
    auto r = request_of(prompts[1], 1, 1.2);
    r.top_k = top_k;
    r.top_p = top_p;
    auto counts = first_tokens(model, r, draws);
    std::vector<double> head(p.size(), 0.0);
    double mass = 0;
    for (std::size_t i = 0; i < keep; ++i)
      mass += p[order[i]];
    for (std::size_t i = 0; i < keep; ++i)
      head[order[i]] = p[order[i]] / mass;
    for (auto& [token, n] : counts)
      EXPECT_GT(head[token], 0) << "token " << token << " is outside the head, drawn " << n << " times";
    auto [chi, df] = chi_square(counts, head, draws);
    EXPECT_LT(chi, df + 6 * std::sqrt(2.0 * df) + 10) << "df " << df;
  }
}

TEST(generation, an_empty_batch_gives_nothing) {
  auto model = model_of("plain");
  EXPECT_TRUE(generate(model, {}).empty());
}
