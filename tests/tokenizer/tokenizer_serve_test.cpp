// expd-tokenize --serve through runtime::tokenizer_process, the node's tokenizer: prompts
// and decodes agree with Python's sentencepiece on the tiny tokenizer; a folder without
// a tokenizer is refused at start; a request the process refuses is an error, and the
// process answers the next one.
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "runtime/tokenizer_process.hpp"
#include "tests/tokenizer/tiny_tokenizer.hpp"
#include "tools/planning_corpus.hpp"

namespace {

using expd::runtime::tokenizer_process;
using expd::runtime::tokenizer_process_error;
using nlohmann::json;

class tokenizer_serve_test : public expd::test::tiny_tokenizer_test {};

TEST_F(tokenizer_serve_test, prompts_and_decodes_agree_with_python_sentencepiece) {
  std::vector<std::string> texts = {"", "crème fraîche, jalapeño, phở gà, smørrebrød", "日本語 🍅",
                                    "control \x01\x7f chars", "a \"quoted\" \\ backslash\nand a newline"};
  for (auto& e : expd::tools::generate_planning_corpus(5, 20))
    texts.push_back(e.input);
  const json answer = reference(texts, {});
  const auto config = expd::test::read_json(folder / "tokenizer_config.json");
  tokenizer_process tok(EXPD_TOKENIZE_BIN, folder.string());
  ASSERT_TRUE(tok.eos());
  std::vector<std::vector<int>> ids;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    auto got = tok.prompt(texts[i]);
    std::vector<std::int32_t> expected = answer["encoded"][i].get<std::vector<std::int32_t>>();
    // LLaMA's default: BOS before the text, no EOS after it.
    if (config.value("add_bos_token", true))
      expected.insert(expected.begin(), 1);
    EXPECT_EQ(got, expected) << json(texts[i]).dump();
    ids.push_back(answer["encoded"][i].get<std::vector<int>>());
  }
  const json decoded = reference({}, ids);
  for (std::size_t i = 0; i < ids.size(); ++i)
    EXPECT_EQ(tok.decode({ids[i].begin(), ids[i].end()}), decoded["decoded"][i].get<std::string>());
}

TEST_F(tokenizer_serve_test, a_bad_request_is_an_error_and_the_next_one_is_answered) {
  tokenizer_process tok(EXPD_TOKENIZE_BIN, folder.string());
  EXPECT_THROW(tok.decode({1 << 30}), tokenizer_process_error);
  EXPECT_FALSE(tok.prompt("rice").empty());
}

TEST_F(tokenizer_serve_test, a_folder_without_a_tokenizer_is_refused_at_start) {
  EXPECT_THROW(tokenizer_process(EXPD_TOKENIZE_BIN, (folder / "missing").string()), tokenizer_process_error);
  EXPECT_THROW(tokenizer_process("/nonexistent/expd-tokenize", folder.string()), tokenizer_process_error);
}

} // namespace
