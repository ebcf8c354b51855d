// gpu/tokenizer against a tiny SentencePiece model that tools/tiny-tokenizer.sh trains
// with spm_train at test time, and against Python's sentencepiece on the same model.

#include <functional>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "gpu/tokenizer.hpp"
#include "tests/tokenizer/tiny_tokenizer.hpp"
#include "tools/planning_corpus.hpp"

namespace {

namespace fs = std::filesystem;
using expd::gpu::added_tokens;
using expd::gpu::special_tokens;
using expd::gpu::tokenizer;
using expd::gpu::tokenizer_error;
using expd::test::read_file;
using expd::test::read_json;
using expd::test::write_file;
using expd::test::write_json;
using nlohmann::json;

// Random concatenations of characters that SentencePiece sees differently: ASCII,
// whitespace runs, Latin with accents, combining marks, RTL, CJK, emoji and joiners.
std::vector<std::string> random_texts(std::uint64_t seed, std::size_t count) {
  const std::vector<std::string> characters = {
    "a", "Z", "q", "7", "0", ".", ",", ";", "(", "<", ">", "/", "-", "_", " ", " ", "  ", "\t", "\n", "\r\n",
    "é", "ß", "ø", "ñ", "\u00a0", "\u0301", "\u200b", "\u200d", "ש", "ל", "日", "本", "の", "テ", "🍅",
    "🥑", "👩", "🍳", "\u2028", "\x7f"};
  std::mt19937_64 engine(seed);
  std::vector<std::string> texts;
  for (std::size_t i = 0; i < count; ++i) {
    std::string text;
    for (std::size_t length = engine() % 40; length > 0; --length)
      text += characters[engine() % characters.size()];
    texts.push_back(text);
  }
  return texts;
}

std::vector<std::string> test_texts() {
  std::vector<std::string> texts = {
    "", " ", "  ", "\t", "\n", "\n\n\n", "a  b\t\tc\n\nd ", " leading", "trailing  ", "   many   spaces   ",
    "日本語のテキスト", "emoji 🍅🥑 and a ZWJ sequence 👩‍🍳", "crème fraîche, jalapeño, phở gà, smørrebrød",
    "e\u0301 combining", "שלום עולם", "non\u00a0breaking", "<s> looks special </s> <pad> <unk>",
    "1234567890 and 3.14159", "control \x01\x7f chars", "household: 2 adults; pantry: rice 500 g"};
  for (const auto& example : expd::tools::generate_planning_corpus(99, 40)) {
    texts.push_back(example.input);
    texts.push_back(example.target);
  }
  for (auto& text : random_texts(7, 200))
    texts.push_back(std::move(text));
  return texts;
}

// The tiny tokenizer's folder, and checks of what loading it refuses.
class tokenizer_test : public expd::test::tiny_tokenizer_test {
protected:
  // Loading must fail with a tokenizer_error blaming `file` whose message holds every
  // one of `words`.
  void expect_refused(const fs::path& file, const std::vector<std::string>& words) {
    try {
      tokenizer::load(folder);
      ADD_FAILURE() << "loaded, but should have been refused for " << file;
    } catch (const tokenizer_error& e) {
      EXPECT_EQ(e.file(), file);
      const std::string message = e.what();
      EXPECT_NE(message.find(file.string()), std::string::npos) << message;
      for (const auto& word : words)
        EXPECT_NE(message.find(word), std::string::npos) << "\"" << word << "\" not in: " << message;
    }
  }

  void edit_config(const fs::path& name, const std::function<void(json&)>& edit) {
    json doc = fs::exists(folder / name) ? read_json(folder / name) : json::object();
    edit(doc);
    write_json(folder / name, doc);
  }

};

TEST_F(tokenizer_test, encodes_as_python_sentencepiece_does) {
  const auto tok = tokenizer::load(folder);
  const auto texts = test_texts();
  const json answer = reference(texts, {});
  ASSERT_EQ(answer["encoded"].size(), texts.size());
  EXPECT_EQ(tok.vocab_size(), answer["vocab_size"].get<int>());
  for (std::size_t i = 0; i < texts.size(); ++i)
    EXPECT_EQ(tok.encode(texts[i], added_tokens{}), answer["encoded"][i].get<std::vector<int>>())
      << json(texts[i]).dump();
  for (int id = 0; id < tok.vocab_size(); ++id)
    EXPECT_EQ(tok.id_to_piece(id), answer["pieces"][id].get<std::string>()) << id;
}

TEST_F(tokenizer_test, decodes_as_python_sentencepiece_does) {
  const auto tok = tokenizer::load(folder);
  const auto texts = test_texts();
  std::vector<std::vector<int>> sequences = tok.encode_batch(texts, added_tokens{});
  // Random ids too: byte pieces out of order make invalid UTF-8, which both replace.
  std::mt19937_64 engine(11);
  for (int i = 0; i < 200; ++i) {
    std::vector<int> ids(engine() % 30);
    for (int& id : ids)
      id = 4 + static_cast<int>(engine() % static_cast<std::uint64_t>(tok.vocab_size() - 4));
    sequences.push_back(ids);
  }
  const json answer = reference({}, sequences);
  for (std::size_t i = 0; i < sequences.size(); ++i)
    EXPECT_EQ(tok.decode(sequences[i]), answer["decoded"][i].get<std::string>()) << json(sequences[i]).dump();
}

TEST_F(tokenizer_test, decode_of_encode_gives_the_text_back) {
  // Identity normalization, whitespace kept and byte fallback (tools/tiny-tokenizer.sh)
  // make SentencePiece lossless on valid UTF-8.
  const auto tok = tokenizer::load(folder);
  for (const auto& text : test_texts()) {
    EXPECT_EQ(tok.decode(tok.encode(text), special_tokens::skip), text) << json(text).dump();
    EXPECT_EQ(tok.decode(tok.encode(text, added_tokens{})), text) << json(text).dump();
  }
}

TEST_F(tokenizer_test, special_tokens_come_from_the_checkpoint_files) {
  const auto tok = tokenizer::load(folder);
  EXPECT_EQ(tok.unk().text, "<unk>");
  EXPECT_EQ(tok.unk().id, 0);
  ASSERT_TRUE(tok.bos() && tok.eos() && tok.pad());
  EXPECT_EQ(tok.bos()->text, "<s>");
  EXPECT_EQ(tok.bos()->id, 1);
  EXPECT_EQ(tok.eos()->text, "</s>");
  EXPECT_EQ(tok.eos()->id, 2);
  EXPECT_EQ(tok.pad()->text, "<pad>");
  EXPECT_EQ(tok.pad()->id, 3);
  EXPECT_EQ(tok.piece_to_id("<s>"), 1);
  EXPECT_EQ(tok.piece_to_id("<unk>"), 0);
  EXPECT_EQ(tok.piece_to_id("<0x0A>"), tok.encode("\n", added_tokens{}).back());
  EXPECT_EQ(tok.piece_to_id("no such piece"), std::nullopt);
  EXPECT_THROW(tok.id_to_piece(tok.vocab_size()), std::out_of_range);
  EXPECT_THROW(tok.id_to_piece(-1), std::out_of_range);
  for (int id = 0; id < 4; ++id)
    EXPECT_TRUE(tok.is_special(id)) << id;
  EXPECT_FALSE(tok.is_special(*tok.piece_to_id("<0x0A>")));
}

TEST_F(tokenizer_test, bos_and_eos_are_added_as_tokenizer_config_says) {
  const std::string text = "plan: Mon lentil soup";
  auto plain = tokenizer::load(folder).encode(text, added_tokens{});
  ASSERT_FALSE(plain.empty());

  auto tok = tokenizer::load(folder);
  EXPECT_EQ(tok.default_added().bos, true);
  EXPECT_EQ(tok.default_added().eos, false);
  std::vector<int> with_bos = {1};
  with_bos.insert(with_bos.end(), plain.begin(), plain.end());
  EXPECT_EQ(tok.encode(text), with_bos);
  auto both = with_bos;
  both.push_back(2);
  EXPECT_EQ(tok.encode(text, added_tokens{true, true}), both);
  EXPECT_EQ(tok.encode_batch({text, text}), (std::vector<std::vector<int>>{with_bos, with_bos}));
  EXPECT_EQ(tok.encode(""), std::vector<int>{1});

  edit_config("tokenizer_config.json", [](json& c) {
    c["add_bos_token"] = false;
    c["add_eos_token"] = true;
  });
  auto eos_only = plain;
  eos_only.push_back(2);
  EXPECT_EQ(tokenizer::load(folder).encode(text), eos_only);
}

TEST_F(tokenizer_test, decode_keeps_or_skips_special_tokens) {
  const auto tok = tokenizer::load(folder);
  const std::string text = "Tue shakshuka (25 min)";
  auto ids = tok.encode(text, added_tokens{true, true});
  ids.push_back(3);
  EXPECT_EQ(tok.decode(ids, special_tokens::skip), text);
  EXPECT_EQ(tok.decode(ids, special_tokens::keep), "<s>" + text + "</s><pad>");
  EXPECT_EQ(tok.decode({0}, special_tokens::keep), "<unk>");
  EXPECT_EQ(tok.decode({0}, special_tokens::skip), "");
  EXPECT_THROW(tok.decode({tok.vocab_size()}), std::out_of_range);
}

TEST_F(tokenizer_test, without_json_files_the_model_s_own_ids_and_llama_defaults_hold) {
  fs::remove(folder / "tokenizer_config.json");
  fs::remove(folder / "special_tokens_map.json");
  const auto tok = tokenizer::load(folder);
  EXPECT_EQ(tok.bos()->text, "<s>");
  EXPECT_EQ(tok.pad()->id, 3);
  EXPECT_EQ(tok.encode("x").front(), 1);
  EXPECT_NE(tok.encode("x").back(), 2);
}

TEST_F(tokenizer_test, vocab_size_must_match_the_model_config) {
  const auto tok = tokenizer::load(folder);
  const std::string pieces = std::to_string(tok.vocab_size());
  EXPECT_NO_THROW(expd::gpu::check_vocab_size(tok, tok.vocab_size()));
  try {
    expd::gpu::check_vocab_size(tok, 32000);
    ADD_FAILURE() << "a vocab_size of 32000 passed";
  } catch (const tokenizer_error& e) {
    EXPECT_NE(std::string(e.what()).find("32000"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(pieces), std::string::npos) << e.what();
  }

  write_json(folder / "config.json", {{"vocab_size", tok.vocab_size()}, {"bos_token_id", 1}, {"eos_token_id", {2, 3}}});
  EXPECT_NO_THROW(tokenizer::load(folder));
  write_json(folder / "config.json", {{"vocab_size", 500}});
  expect_refused(folder / "config.json", {"vocab_size", "500", pieces});
}

TEST_F(tokenizer_test, config_json_must_agree_on_bos_and_eos) {
  write_json(folder / "config.json", {{"eos_token_id", 7}});
  expect_refused(folder / "config.json", {"eos_token_id", "7", "</s>", "id 2"});
  write_json(folder / "config.json", {{"bos_token_id", "one"}});
  expect_refused(folder / "config.json", {"bos_token_id"});
}

TEST_F(tokenizer_test, a_missing_tokenizer_model_is_named) {
  fs::remove(folder / "tokenizer.model");
  expect_refused(folder / "tokenizer.model", {"missing"});
}

TEST_F(tokenizer_test, a_corrupt_tokenizer_model_is_named) {
  const std::string model = read_file(folder / "tokenizer.model");
  for (const std::string& bytes : {std::string("not a model at all \xff\xfe"), model.substr(0, model.size() / 2),
                                   std::string()}) {
    write_file(folder / "tokenizer.model", bytes);
    expect_refused(folder / "tokenizer.model", {"not a SentencePiece model"});
  }
}

TEST_F(tokenizer_test, a_token_outside_the_vocabulary_is_named_with_its_file) {
  edit_config("tokenizer_config.json", [](json& c) { c["eos_token"] = "<|im_end|>"; });
  expect_refused(folder / "tokenizer_config.json", {"eos_token", "<|im_end|>", "tokenizer.model"});

  edit_config("tokenizer_config.json", [](json& c) {
    c["eos_token"] = "</s>";
    c.erase("pad_token");
  });
  edit_config("special_tokens_map.json", [](json& c) { c["pad_token"] = {{"content", "<mask>"}}; });
  expect_refused(folder / "special_tokens_map.json", {"pad_token", "<mask>"});
}

TEST_F(tokenizer_test, tokens_added_beyond_the_sentencepiece_vocabulary_are_refused) {
  const std::string past_the_end = std::to_string(tokenizer::load(folder).vocab_size());
  edit_config("tokenizer_config.json",
              [&](json& c) { c["added_tokens_decoder"][past_the_end] = {{"content", "<|extra|>"}}; });
  expect_refused(folder / "tokenizer_config.json", {"<|extra|>", "id " + past_the_end, "not supported"});

  edit_config("tokenizer_config.json", [](json& c) { c.erase("added_tokens_decoder"); });
  write_json(folder / "added_tokens.json", {{"<pad2>", 1}});
  expect_refused(folder / "added_tokens.json", {"<pad2>"});
}

TEST_F(tokenizer_test, malformed_json_files_are_named) {
  write_file(folder / "tokenizer_config.json", "{\"add_bos_token\": tru");
  expect_refused(folder / "tokenizer_config.json", {"not valid JSON"});
  write_file(folder / "tokenizer_config.json", "[1, 2]");
  expect_refused(folder / "tokenizer_config.json", {"not a JSON object"});
  write_json(folder / "tokenizer_config.json", {{"add_bos_token", "yes"}});
  expect_refused(folder / "tokenizer_config.json", {"add_bos_token"});
  write_json(folder / "tokenizer_config.json", {{"bos_token", 5}});
  expect_refused(folder / "tokenizer_config.json", {"bos_token"});
}

TEST_F(tokenizer_test, a_tokenizer_json_only_checkpoint_is_refused_as_not_sentencepiece) {
  // What a Qwen2 checkpoint ships: tokenizer.json (byte-level BPE) and no tokenizer.model.
  fs::remove(folder / "tokenizer.model");
  write_json(folder / "tokenizer.json", {{"version", "1.0"}, {"model", {{"type", "BPE"}, {"vocab", json::object()}}}});
  expect_refused(folder / "tokenizer.json", {"no tokenizer.model", "BPE", "SentencePiece"});
}

TEST_F(tokenizer_test, tokenizer_json_beside_tokenizer_model_is_ignored) {
  // LLaMA 2 checkpoints ship both; tokenizer.model is the one read.
  write_file(folder / "tokenizer.json", "not even JSON");
  EXPECT_EQ(tokenizer::load(folder).bos()->id, 1);
}

} // namespace
