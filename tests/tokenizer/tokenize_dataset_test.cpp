// gpu/tokenize_dataset on the tiny tokenizer: every row's ids against Python's
// sentencepiece, where the target starts, and what is cut or skipped at max_length.

#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "gpu/tokenize_dataset.hpp"
#include "tests/tokenizer/tiny_tokenizer.hpp"
#include "tools/planning_corpus.hpp"

namespace {

using expd::gpu::tokenize_dataset;
using expd::gpu::tokenizer;
using expd::runtime::text_rows;
using nlohmann::json;

class tokenize_dataset_test : public expd::test::tiny_tokenizer_test {
protected:
  // The rows of `text` as Python's sentencepiece encodes them: "input" and "target" per row.
  std::vector<std::pair<std::vector<int>, std::vector<int>>> python_encoded(const text_rows& text) {
    std::vector<std::string> texts;
    for (std::size_t row = 0; row < text.input.size(); ++row) {
      texts.push_back(text.input[row]);
      texts.push_back(text.target[row]);
    }
    const json answer = reference(texts, {});
    bos = answer["bos"].get<int>();
    eos = answer["eos"].get<int>();
    std::vector<std::pair<std::vector<int>, std::vector<int>>> rows;
    for (std::size_t row = 0; row < text.input.size(); ++row)
      rows.emplace_back(answer["encoded"][2 * row].get<std::vector<int>>(),
                        answer["encoded"][2 * row + 1].get<std::vector<int>>());
    return rows;
  }

  void set_added(bool add_bos, bool add_eos) {
    auto config = expd::test::read_json(folder / "tokenizer_config.json");
    config["add_bos_token"] = add_bos;
    config["add_eos_token"] = add_eos;
    expd::test::write_json(folder / "tokenizer_config.json", config);
  }

  int bos = -1;
  int eos = -1;
};

text_rows corpus_rows(std::size_t count) {
  text_rows text;
  for (const auto& example : expd::tools::generate_planning_corpus(21, count)) {
    text.input.push_back(example.input);
    text.target.push_back(example.target);
    text.split.push_back(expd::tools::corpus_split(example.household_id, 0.3));
  }
  text.input.push_back("crème fraîche 🍅 日本");
  text.target.push_back(" phở gà\n");
  text.split.push_back("validation");
  return text;
}

TEST_F(tokenize_dataset_test, rows_are_bos_input_target_as_python_encodes_them) {
  const auto text = corpus_rows(30);
  const auto expected = python_encoded(text);
  const auto result = tokenize_dataset(text, tokenizer::load(folder), 1 << 20);
  ASSERT_EQ(result.rows.input_ids.size(), text.input.size());
  EXPECT_EQ(result.truncated, 0u);
  EXPECT_TRUE(result.skipped.empty());
  EXPECT_EQ(result.rows.split, text.split);
  for (std::size_t row = 0; row < text.input.size(); ++row) {
    const auto& [input, target] = expected[row];
    std::vector<int> ids{bos};
    ids.insert(ids.end(), input.begin(), input.end());
    ids.insert(ids.end(), target.begin(), target.end());
    EXPECT_EQ(result.rows.input_ids[row], ids) << row;
    EXPECT_EQ(result.rows.target_start[row], static_cast<int>(1 + input.size())) << row;
  }
}

TEST_F(tokenize_dataset_test, eos_ends_a_row_and_bos_is_left_out_when_the_tokenizer_says_so) {
  set_added(false, true);
  const auto text = corpus_rows(5);
  const auto expected = python_encoded(text);
  const auto result = tokenize_dataset(text, tokenizer::load(folder), 1 << 20);
  ASSERT_EQ(result.rows.input_ids.size(), text.input.size());
  for (std::size_t row = 0; row < text.input.size(); ++row) {
    const auto& [input, target] = expected[row];
    std::vector<int> ids = input;
    ids.insert(ids.end(), target.begin(), target.end());
    ids.push_back(eos);
    EXPECT_EQ(result.rows.input_ids[row], ids) << row;
    EXPECT_EQ(result.rows.target_start[row], static_cast<int>(input.size())) << row;
  }
}

TEST_F(tokenize_dataset_test, long_rows_lose_the_end_of_their_target_and_rows_without_room_are_skipped) {
  set_added(true, true);
  const auto text = corpus_rows(3);
  const auto expected = python_encoded(text);
  const auto tok = tokenizer::load(folder);
  // One row at a time, at each length around where its target starts and ends.
  for (std::size_t row = 0; row < text.input.size(); ++row) {
    const text_rows one{{text.input[row]}, {text.target[row]}, {text.split[row]}};
    const auto& [input, target] = expected[row];
    std::vector<int> full{bos};
    full.insert(full.end(), input.begin(), input.end());
    full.insert(full.end(), target.begin(), target.end());
    full.push_back(eos);
    const auto start = 1 + input.size();
    ASSERT_GE(target.size(), 2u) << row;
    for (std::size_t max_length : {start - 1, start, start + 1, start + 2, full.size() - 1, full.size(), full.size() + 5}) {
      const auto result = tokenize_dataset(one, tok, max_length);
      if (max_length <= start) {
        EXPECT_EQ(result.skipped, std::vector<std::size_t>{0}) << row << " at " << max_length;
        EXPECT_TRUE(result.rows.input_ids.empty());
        continue;
      }
      ASSERT_EQ(result.rows.input_ids.size(), 1u) << row << " at " << max_length;
      const auto kept = std::min(max_length, full.size());
      EXPECT_EQ(result.rows.input_ids[0], std::vector<int>(full.begin(), full.begin() + kept)) << row << " at " << max_length;
      EXPECT_EQ(result.rows.target_start[0], static_cast<int>(start));
      EXPECT_EQ(result.truncated, max_length < full.size() ? 1u : 0u) << row << " at " << max_length;
      EXPECT_TRUE(result.skipped.empty());
    }
  }
}

TEST_F(tokenize_dataset_test, skipped_rows_are_named_in_order_and_the_rest_keep_their_split) {
  const auto text = corpus_rows(6);
  const auto expected = python_encoded(text);
  // A limit that the longest inputs reach: those rows go, the others stay.
  std::vector<std::size_t> starts;
  for (const auto& [input, target] : expected)
    starts.push_back(1 + input.size());
  auto sorted = starts;
  std::sort(sorted.begin(), sorted.end());
  const auto max_length = sorted[sorted.size() / 2];
  std::vector<std::size_t> skipped;
  std::vector<std::string> kept_split;
  std::size_t truncated = 0;
  for (std::size_t row = 0; row < starts.size(); ++row) {
    if (starts[row] >= max_length) {
      skipped.push_back(row);
      continue;
    }
    kept_split.push_back(text.split[row]);
    truncated += starts[row] + expected[row].second.size() > max_length ? 1 : 0;
  }
  ASSERT_FALSE(skipped.empty());
  ASSERT_FALSE(kept_split.empty());
  const auto result = tokenize_dataset(text, tokenizer::load(folder), max_length);
  EXPECT_EQ(result.skipped, skipped);
  EXPECT_EQ(result.rows.split, kept_split);
  EXPECT_EQ(result.truncated, truncated);
}

TEST_F(tokenize_dataset_test, an_empty_target_is_a_row_only_when_an_eos_follows_it) {
  const text_rows text{{"household: 2 adults", "pantry"}, {"", "plan: soup"}, {"train", "validation"}};
  auto result = tokenize_dataset(text, tokenizer::load(folder), 1000);
  EXPECT_EQ(result.skipped, std::vector<std::size_t>{0});
  EXPECT_EQ(result.rows.split, std::vector<std::string>{"validation"});

  set_added(true, true);
  const auto tok = tokenizer::load(folder);
  result = tokenize_dataset(text, tok, 1000);
  EXPECT_TRUE(result.skipped.empty());
  ASSERT_EQ(result.rows.input_ids.size(), 2u);
  EXPECT_EQ(result.rows.input_ids[0].back(), tok.eos()->id);
  EXPECT_EQ(static_cast<std::size_t>(result.rows.target_start[0]), result.rows.input_ids[0].size() - 1);
}

} // namespace
