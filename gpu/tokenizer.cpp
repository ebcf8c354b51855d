#include "gpu/tokenizer.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <utility>

#include <nlohmann/json.hpp>
#include <sentencepiece_processor.h>

namespace expd::gpu {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string json_quoted(std::string_view text) {
  return json(std::string(text)).dump();
}

// One of the checkpoint's JSON files, or null when the folder lacks it.
struct json_file {
  fs::path path;
  json doc;
};

json_file read_json_object(const fs::path& path) {
  if (!fs::exists(path))
    return {path, json()};
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw tokenizer_error(path, "cannot be read");
  json doc;
  try {
    doc = json::parse(in);
  } catch (const json::parse_error& e) {
    throw tokenizer_error(path, std::string("is not valid JSON: ") + e.what());
  }
  if (!doc.is_object())
    throw tokenizer_error(path, "is not a JSON object");
  return {path, std::move(doc)};
}

const json* member(const json_file& file, const std::string& key) {
  if (!file.doc.is_object())
    return nullptr;
  auto it = file.doc.find(key);
  return it == file.doc.end() || it->is_null() ? nullptr : &*it;
}

// "<s>", or an AddedToken object {"content": "<s>", ...}; nothing for null or absent.
std::optional<std::string> token_text(const json_file& file, const std::string& key) {
  const json* value = member(file, key);
  if (!value)
    return std::nullopt;
  if (value->is_string())
    return value->get<std::string>();
  if (value->is_object() && value->contains("content") && (*value)["content"].is_string())
    return (*value)["content"].get<std::string>();
  throw tokenizer_error(file.path, key + " is neither a string nor an object with a string \"content\"");
}

std::optional<bool> flag(const json_file& file, const std::string& key) {
  const json* value = member(file, key);
  if (!value)
    return std::nullopt;
  if (!value->is_boolean())
    throw tokenizer_error(file.path, key + " is not true or false");
  return value->get<bool>();
}

// config.json's bos_token_id and eos_token_id: one id, or a list of them (checkpoints
// that stop on several tokens); empty for null or absent.
std::vector<int> config_ids(const json_file& config, const std::string& key) {
  const json* value = member(config, key);
  if (!value)
    return {};
  auto one = [&](const json& v) {
    if (!v.is_number_integer())
      throw tokenizer_error(config.path, key + " is not an integer or a list of integers");
    return v.get<int>();
  };
  if (!value->is_array())
    return {one(*value)};
  std::vector<int> ids;
  for (const auto& v : *value)
    ids.push_back(one(v));
  return ids;
}

// The checkpoint names its tokenizer by the files of Hugging Face's `tokenizers`
// library only (Qwen2, LLaMA 3): a byte-level BPE that SentencePiece cannot run.
[[noreturn]] void refuse_tokenizers_json(const fs::path& path) {
  std::string kind = "unknown";
  std::ifstream in(path, std::ios::binary);
  const json doc = json::parse(in, nullptr, false);
  if (doc.is_object() && doc.contains("model") && doc["model"].is_object() &&
      doc["model"].contains("type") && doc["model"]["type"].is_string())
    kind = doc["model"]["type"].get<std::string>();
  throw tokenizer_error(path, "the checkpoint has no tokenizer.model, only a Hugging Face tokenizers "
                              "file (model type " + kind + ", as Qwen2 and LLaMA 3 checkpoints ship); "
                              "expd reads SentencePiece tokenizer.model tokenizers only");
}

void require_vocab_size(const fs::path& blamed, const std::string& what, std::int64_t model_vocab_size,
                        const fs::path& model_file, int pieces) {
  if (model_vocab_size != pieces)
    throw tokenizer_error(blamed, what + " " + std::to_string(model_vocab_size) + " differs from the " +
                                      std::to_string(pieces) + " pieces of " + model_file.string());
}

} // namespace

struct tokenizer::state {
  sentencepiece::SentencePieceProcessor sp;
  fs::path model_file;
  special_token unk;
  std::optional<special_token> bos;
  std::optional<special_token> eos;
  std::optional<special_token> pad;
  added_tokens added{true, false};

  std::optional<int> find(std::string_view piece) const {
    const int id = sp.PieceToId(piece);
    if (sp.IsUnknown(id) && sp.IdToPiece(id) != piece)
      return std::nullopt;
    return id;
  }

  void check_id(int id) const {
    if (id < 0 || id >= sp.GetPieceSize())
      throw std::out_of_range("token id " + std::to_string(id) + " is outside the vocabulary of " +
                              std::to_string(sp.GetPieceSize()) + " pieces of " + model_file.string());
  }

  // tokenizer_config.json, then special_tokens_map.json, then the model's own id, then
  // config.json's <kind>_token_id: the first that names the token decides it.
  std::optional<special_token> resolve(const std::string& kind, int model_id,
                                       std::initializer_list<const json_file*> token_files,
                                       const json_file& config) const {
    const std::string key = kind + "_token";
    for (const json_file* file : token_files) {
      if (auto text = token_text(*file, key)) {
        auto id = find(*text);
        if (!id)
          throw tokenizer_error(file->path, key + " " + json_quoted(*text) + " is not in the vocabulary of " +
                                                model_file.string());
        return special_token{*text, *id};
      }
    }
    if (model_id >= 0)
      return special_token{sp.IdToPiece(model_id), model_id};
    const auto ids = config_ids(config, key + "_id");
    if (ids.empty())
      return std::nullopt;
    if (ids[0] < 0 || ids[0] >= sp.GetPieceSize())
      throw tokenizer_error(config.path, key + "_id " + std::to_string(ids[0]) + " is outside the " +
                                             std::to_string(sp.GetPieceSize()) + " pieces of " +
                                             model_file.string());
    return special_token{sp.IdToPiece(ids[0]), ids[0]};
  }

  // bos and eos mark where training sequences start and generation stops, so the
  // model's config.json must agree with the tokenizer on them.
  void check_agrees(const std::string& kind, const std::optional<special_token>& token,
                    const json_file& config) const {
    const auto ids = config_ids(config, kind + "_token_id");
    if (ids.empty() || !token)
      return;
    if (std::find(ids.begin(), ids.end(), token->id) == ids.end())
      throw tokenizer_error(config.path, kind + "_token_id " + std::to_string(ids[0]) + " differs from the " +
                                             "tokenizer's " + kind + "_token " + json_quoted(token->text) +
                                             " (id " + std::to_string(token->id) + ")");
  }

  // Tokens a checkpoint adds past the SentencePiece vocabulary would need ids the
  // model knows and SentencePiece does not: refused, naming the token.
  void check_added(const json_file& file, const std::string& token, int id) const {
    if (id < 0 || id >= sp.GetPieceSize() || sp.IdToPiece(id) != token)
      throw tokenizer_error(file.path, "added token " + json_quoted(token) + " (id " + std::to_string(id) +
                                           ") is not a piece of " + model_file.string() +
                                           "; tokens added beyond the SentencePiece vocabulary are not "
                                           "supported");
  }
};

tokenizer tokenizer::load(const fs::path& folder) {
  auto s = std::make_unique<state>();
  s->model_file = folder / "tokenizer.model";
  if (!fs::exists(s->model_file)) {
    if (fs::exists(folder / "tokenizer.json"))
      refuse_tokenizers_json(folder / "tokenizer.json");
    throw tokenizer_error(s->model_file, "missing: the checkpoint needs a SentencePiece tokenizer.model");
  }
  if (const auto status = s->sp.Load(s->model_file.string()); !status.ok())
    throw tokenizer_error(s->model_file, "is not a SentencePiece model: " + status.ToString());

  const json_file tokenizer_config = read_json_object(folder / "tokenizer_config.json");
  const json_file special_tokens_map = read_json_object(folder / "special_tokens_map.json");
  const json_file config = read_json_object(folder / "config.json");
  const json_file added_tokens_file = read_json_object(folder / "added_tokens.json");

  const auto token_files = {&tokenizer_config, &special_tokens_map};
  s->unk = *s->resolve("unk", s->sp.unk_id(), token_files, config);
  s->bos = s->resolve("bos", s->sp.bos_id(), token_files, config);
  s->eos = s->resolve("eos", s->sp.eos_id(), token_files, config);
  s->pad = s->resolve("pad", s->sp.pad_id(), token_files, config);
  s->check_agrees("bos", s->bos, config);
  s->check_agrees("eos", s->eos, config);

  s->added.bos = flag(tokenizer_config, "add_bos_token").value_or(true);
  s->added.eos = flag(tokenizer_config, "add_eos_token").value_or(false);
  if (s->added.bos && !s->bos)
    throw tokenizer_error(tokenizer_config.path, "add_bos_token is true but the checkpoint has no bos_token");
  if (s->added.eos && !s->eos)
    throw tokenizer_error(tokenizer_config.path, "add_eos_token is true but the checkpoint has no eos_token");

  if (const json* decoder = member(tokenizer_config, "added_tokens_decoder")) {
    for (const auto& [id, token] : decoder->items()) {
      const auto text = token.is_object() ? token.value("content", json()) : json();
      if (!text.is_string() || id.empty() || !std::all_of(id.begin(), id.end(), [](unsigned char c) { return std::isdigit(c); }))
        throw tokenizer_error(tokenizer_config.path, "added_tokens_decoder entry " + json_quoted(id) +
                                                         " is not an id with a string \"content\"");
      s->check_added(tokenizer_config, text.get<std::string>(), std::stoi(id));
    }
  }
  if (added_tokens_file.doc.is_object()) {
    for (const auto& [token, id] : added_tokens_file.doc.items()) {
      if (!id.is_number_integer())
        throw tokenizer_error(added_tokens_file.path, "the id of " + json_quoted(token) + " is not an integer");
      s->check_added(added_tokens_file, token, id.get<int>());
    }
  }

  if (const json* vocab = member(config, "vocab_size")) {
    if (!vocab->is_number_integer())
      throw tokenizer_error(config.path, "vocab_size is not an integer");
    require_vocab_size(config.path, "vocab_size", vocab->get<std::int64_t>(), s->model_file,
                       s->sp.GetPieceSize());
  }
  return tokenizer(std::move(s));
}

tokenizer::tokenizer(std::unique_ptr<state> s) : state_(std::move(s)) {
}

tokenizer::tokenizer(tokenizer&&) noexcept = default;
tokenizer& tokenizer::operator=(tokenizer&&) noexcept = default;
tokenizer::~tokenizer() = default;

int tokenizer::vocab_size() const {
  return state_->sp.GetPieceSize();
}

const fs::path& tokenizer::model_file() const {
  return state_->model_file;
}

const special_token& tokenizer::unk() const {
  return state_->unk;
}

const std::optional<special_token>& tokenizer::bos() const {
  return state_->bos;
}

const std::optional<special_token>& tokenizer::eos() const {
  return state_->eos;
}

const std::optional<special_token>& tokenizer::pad() const {
  return state_->pad;
}

added_tokens tokenizer::default_added() const {
  return state_->added;
}

std::vector<int> tokenizer::encode(std::string_view text) const {
  return encode(text, state_->added);
}

std::vector<int> tokenizer::encode(std::string_view text, added_tokens added) const {
  if (added.bos && !state_->bos)
    throw std::invalid_argument("encode: a bos token was asked for but the checkpoint has none");
  if (added.eos && !state_->eos)
    throw std::invalid_argument("encode: an eos token was asked for but the checkpoint has none");
  std::vector<int> pieces;
  if (const auto status = state_->sp.Encode(text, &pieces); !status.ok())
    throw std::runtime_error("encode: " + status.ToString());
  std::vector<int> ids;
  ids.reserve(pieces.size() + 2);
  if (added.bos)
    ids.push_back(state_->bos->id);
  ids.insert(ids.end(), pieces.begin(), pieces.end());
  if (added.eos)
    ids.push_back(state_->eos->id);
  return ids;
}

std::vector<std::vector<int>> tokenizer::encode_batch(const std::vector<std::string>& texts) const {
  return encode_batch(texts, state_->added);
}

std::vector<std::vector<int>> tokenizer::encode_batch(const std::vector<std::string>& texts,
                                                      added_tokens added) const {
  std::vector<std::vector<int>> batch;
  batch.reserve(texts.size());
  for (const auto& text : texts)
    batch.push_back(encode(text, added));
  return batch;
}

std::string tokenizer::decode(const std::vector<int>& ids, special_tokens specials) const {
  for (int id : ids)
    state_->check_id(id);
  if (specials == special_tokens::skip) {
    std::vector<int> kept;
    std::copy_if(ids.begin(), ids.end(), std::back_inserter(kept), [&](int id) { return !is_special(id); });
    std::string text;
    if (const auto status = state_->sp.Decode(kept, &text); !status.ok())
      throw std::runtime_error("decode: " + status.ToString());
    return text;
  }
  // SentencePiece decodes control symbols to nothing and unk to " ⁇ "; keep writes
  // their text instead, and every other piece as the surface it has in context.
  const auto decoded = state_->sp.DecodeIdsAsImmutableProto(ids);
  std::string text;
  for (const auto& piece : decoded.pieces())
    text += is_special(static_cast<int>(piece.id())) ? piece.piece() : piece.surface();
  return text;
}

const std::string& tokenizer::id_to_piece(int id) const {
  state_->check_id(id);
  return state_->sp.IdToPiece(id);
}

std::optional<int> tokenizer::piece_to_id(std::string_view piece) const {
  return state_->find(piece);
}

bool tokenizer::is_special(int id) const {
  const auto& s = *state_;
  auto is = [id](const std::optional<special_token>& token) { return token && token->id == id; };
  return s.sp.IsControl(id) || s.sp.IsUnknown(id) || id == s.unk.id || is(s.bos) || is(s.eos) || is(s.pad);
}

void check_vocab_size(const tokenizer& tok, std::int64_t model_vocab_size) {
  require_vocab_size(tok.model_file(), "the model's vocab_size", model_vocab_size, tok.model_file(),
                     tok.vocab_size());
}

} // namespace expd::gpu
