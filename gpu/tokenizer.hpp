#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

// The tokenizer of a Hugging Face-layout checkpoint: SentencePiece's tokenizer.model
// with the special tokens and flags that tokenizer_config.json, special_tokens_map.json
// and config.json beside it declare (docs/gpu.md, "Tokenizer"). No torch here, so the
// tokenizer builds and tests on any machine.
namespace expd::gpu {

/// A checkpoint's tokenizer files are missing, unreadable, of a kind expd does not read
/// (tokenizer.json only), or disagree with each other or with the vocabulary. `file()`
/// is the file at fault; the message names it and the token or field.
class tokenizer_error : public std::runtime_error {
public:
  tokenizer_error(std::filesystem::path file, const std::string& message)
    : std::runtime_error(file.string() + ": " + message), file_(std::move(file)) {
  }

  const std::filesystem::path& file() const noexcept {
    return file_;
  }

private:
  std::filesystem::path file_;
};

/// A special token as the vocabulary holds it.
struct special_token {
  std::string text;
  int id = 0;
};

/// Which special tokens encode() puts around the text.
struct added_tokens {
  bool bos = false;
  bool eos = false;
};

/// What decode() does with special tokens (bos, eos, pad, unk and every control
/// symbol): write their text, or leave them out as Hugging Face's
/// skip_special_tokens does.
enum class special_tokens { keep, skip };

class tokenizer {
public:
  /// Loads `folder`/tokenizer.model and the JSON files beside it that exist. Throws
  /// tokenizer_error naming the file: a missing or corrupt tokenizer.model, a folder
  /// with only tokenizer.json, malformed JSON, a token not in the vocabulary, ids that
  /// disagree with config.json, config.json's vocab_size differing from the model's.
  static tokenizer load(const std::filesystem::path& folder);

  tokenizer(tokenizer&&) noexcept;
  tokenizer& operator=(tokenizer&&) noexcept;
  ~tokenizer();

  int vocab_size() const;
  const std::filesystem::path& model_file() const;

  const special_token& unk() const;
  const std::optional<special_token>& bos() const;
  const std::optional<special_token>& eos() const;
  const std::optional<special_token>& pad() const;

  /// tokenizer_config.json's add_bos_token and add_eos_token (LLaMA's defaults, true
  /// and false, where it does not say).
  added_tokens default_added() const;

  /// `text` (UTF-8) as ids, with the checkpoint's default_added() tokens.
  std::vector<int> encode(std::string_view text) const;

  /// Throws std::invalid_argument when `added` asks for a token the checkpoint lacks.
  std::vector<int> encode(std::string_view text, added_tokens added) const;

  std::vector<std::vector<int>> encode_batch(const std::vector<std::string>& texts) const;
  std::vector<std::vector<int>> encode_batch(const std::vector<std::string>& texts,
                                             added_tokens added) const;

  /// Throws std::out_of_range for an id outside the vocabulary.
  std::string decode(const std::vector<int>& ids,
                     special_tokens specials = special_tokens::keep) const;

  /// Throws std::out_of_range for an id outside the vocabulary.
  const std::string& id_to_piece(int id) const;

  /// The id of `piece`, or nothing when the vocabulary does not hold it.
  std::optional<int> piece_to_id(std::string_view piece) const;

  /// Whether decode() with special_tokens::skip leaves `id` out.
  bool is_special(int id) const;

private:
  struct state;
  explicit tokenizer(std::unique_ptr<state> s);
  std::unique_ptr<state> state_;
};

/// The model loader's check that its embedding has one row per token: throws
/// tokenizer_error naming both numbers when `model_vocab_size` (config.json's
/// vocab_size) differs from the tokenizer's vocabulary.
void check_vocab_size(const tokenizer& tok, std::int64_t model_vocab_size);

} // namespace expd::gpu
