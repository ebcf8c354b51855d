// expd-tokenize: a Parquet text dataset as token rows for one tokenizer
// (docs/gpu.md, "Tokenizer"), or with --serve the tokenizer of a process that asks over
// a pipe (the node: runtime/tokenizer_process). A process of its own, without torch or
// protobuf: Debian's libsentencepiece carries its own protobuf and cannot share a
// process with libtorch or libprotobuf, so the others read what this writes.

#include <cstdint>
#include <filesystem>
#include <iostream>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gpu/tokenize_dataset.hpp"
#include "runtime/parquet_dataset.hpp"
#include "tools/cli_errors.hpp"
#include "tools/command_line.hpp"

namespace {

namespace fs = std::filesystem;
using expd::tools::input_error;
using expd::tools::usage_error;

constexpr const char* usage_text =
  "usage: expd-tokenize --dataset FILE_OR_FOLDER --tokenizer MODEL_FOLDER --max-length N --out FILE"
  " | --serve --tokenizer MODEL_FOLDER";

constexpr const char* help_text = R"(
  --dataset      a Parquet text dataset (columns input, target, optional split), or a
                 folder of them, read in name order
  --tokenizer    a checkpoint folder with tokenizer.model (and its JSON files)
  --max-length   the most tokens a row keeps: longer rows lose the end of their target;
                 rows with no target token within it are skipped and counted
  --out          the token rows' Parquet file, written atomically

Prints one JSON line (rows, tokens, skipped, truncated, hashes). Exit 2: bad input.

  --serve        answers JSON lines on stdin, one line each on stdout, until stdin ends:
                 first {"ready":true,"bos":ID|null,"eos":ID|null,"vocab_size":N}; then
                 {"prompt":TEXT} -> {"ids":[...]} (BOS when the tokenizer adds it, then
                 TEXT, as training tokenises an input); {"decode":[IDS]} -> {"text":...}
                 (special tokens left out); anything else -> {"error":...}
)";

// --serve: the tokenizer over stdin and stdout, a JSON line each way.
int serve(const expd::gpu::tokenizer& tok) {
  using nlohmann::json;
  auto id_of = [](const std::optional<expd::gpu::special_token>& t) { return t ? json(t->id) : json(nullptr); };
  std::cout << json{{"ready", true}, {"bos", id_of(tok.bos())}, {"eos", id_of(tok.eos())},
                    {"vocab_size", tok.vocab_size()}}
                 .dump()
            << std::endl;
  const bool bos = tok.default_added().bos;
  for (std::string line; std::getline(std::cin, line);) {
    json answer;
    try {
      auto request = json::parse(line);
      if (request.contains("prompt")) {
        std::vector<int> ids;
        if (bos)
          ids.push_back(tok.bos()->id);
        for (int id : tok.encode(request.at("prompt").get<std::string>(), expd::gpu::added_tokens{}))
          ids.push_back(id);
        answer = {{"ids", ids}};
      } else if (request.contains("decode")) {
        answer = {{"text", tok.decode(request.at("decode").get<std::vector<int>>(), expd::gpu::special_tokens::skip)}};
      } else {
        answer = {{"error", "a request is {\"prompt\":TEXT} or {\"decode\":[IDS]}"}};
      }
    } catch (const std::exception& e) {
      answer = {{"error", e.what()}};
    }
    std::cout << answer.dump(-1, ' ', false, json::error_handler_t::replace) << std::endl;
  }
  return 0;
}


std::string required(const expd::tools::command_line& line, const char* name) {
  const auto value = line.value(name);
  if (!value || value->empty())
    throw usage_error(std::string("--") + name + " is required");
  return *value;
}

// Exit 2 for bad input (flags, dataset, tokenizer), 1 for anything else.
int fail(const std::exception& e, int status) {
  std::cerr << "expd-tokenize: " << e.what() << '\n';
  return status;
}

} // namespace

int main(int argc, char** argv) {
  try {
    const auto line = expd::tools::parse_command_line(
      argc, argv, {{"dataset", 0, true}, {"tokenizer", 0, true}, {"max-length", 0, true}, {"out", 0, true},
                   {"serve", 0, false}, {"help", 'h', false}});
    if (line.has("help")) {
      std::cout << usage_text << '\n' << help_text;
      return 0;
    }
    if (!line.words.empty())
      throw usage_error("unexpected argument \"" + line.words[0] + "\"");
    if (line.has("serve"))
      return serve(expd::gpu::tokenizer::load(required(line, "tokenizer")));
    const auto dataset = required(line, "dataset");
    const auto tokenizer_folder = required(line, "tokenizer");
    const auto out = required(line, "out");
    required(line, "max-length");
    const auto max_length = *line.unsigned_value("max-length");
    // target_start is an int32 column.
    if (max_length == 0 || max_length > static_cast<std::uint64_t>(std::numeric_limits<std::int32_t>::max()))
      throw usage_error("--max-length must be from 1 to 2147483647, not " + std::to_string(max_length));
    const fs::path out_folder = fs::path(out).has_parent_path() ? fs::path(out).parent_path() : fs::path(".");
    if (!fs::is_directory(out_folder))
      throw usage_error("--out " + out + ": the folder " + out_folder.string() + " does not exist");

    const auto files = expd::runtime::dataset_files(dataset);
    const auto text = expd::runtime::read_text_dataset(dataset);
    const auto tok = expd::gpu::tokenizer::load(tokenizer_folder);
    auto result = expd::gpu::tokenize_dataset(text, tok, max_length);
    if (!text.input.empty() && result.rows.input_ids.empty())
      throw input_error(dataset + ": every one of its " + std::to_string(text.input.size()) +
                        " rows has no target token within --max-length " + std::to_string(max_length));

    const auto added = tok.default_added();
    auto& metadata = result.rows.metadata;
    metadata["generator"] = "expd-tokenize";
    metadata["source"] = fs::absolute(dataset).lexically_normal().string();
    metadata["source_files"] = nlohmann::json(files).dump();
    metadata["source_xxh3_64"] = expd::runtime::xxh3_of_files(files);
    metadata["tokenizer"] = fs::absolute(tokenizer_folder).lexically_normal().string();
    metadata["tokenizer_model_xxh3_64"] = expd::runtime::xxh3_of_files({tok.model_file().string()});
    metadata["add_bos_token"] = added.bos ? "true" : "false";
    metadata["add_eos_token"] = added.eos ? "true" : "false";
    metadata["max_length"] = std::to_string(max_length);
    metadata["rows"] = std::to_string(result.rows.input_ids.size());
    metadata["skipped"] = std::to_string(result.skipped.size());
    metadata["truncated"] = std::to_string(result.truncated);
    try {
      expd::runtime::write_token_rows(out, result.rows);
    } catch (const expd::runtime::dataset_error& e) {
      return fail(e, 1); // the disk, not the input: the flags were checked before
    }

    if (!result.skipped.empty())
      std::cerr << "expd-tokenize: skipped " << result.skipped.size()
                << " rows with no target token within --max-length " << max_length << " (the first: row "
                << result.skipped.front() << " of " << dataset << ", counting from 0)\n";
    std::size_t tokens = 0;
    for (const auto& ids : result.rows.input_ids)
      tokens += ids.size();
    std::cout << nlohmann::json{{"out", out},
                                {"rows", result.rows.input_ids.size()},
                                {"tokens", tokens},
                                {"skipped", result.skipped.size()},
                                {"truncated", result.truncated},
                                {"max_length", max_length},
                                {"source_xxh3_64", metadata["source_xxh3_64"]},
                                {"tokenizer_model_xxh3_64", metadata["tokenizer_model_xxh3_64"]}}
                   .dump()
              << '\n';
    return 0;
  } catch (const usage_error& e) {
    std::cerr << "expd-tokenize: " << e.what() << " (" << usage_text << ")\n";
    return 2;
  } catch (const input_error& e) {
    return fail(e, 2);
  } catch (const expd::runtime::dataset_error& e) {
    return fail(e, 2);
  } catch (const expd::gpu::tokenizer_error& e) {
    return fail(e, 2);
  } catch (const std::exception& e) {
    return fail(e, 1);
  }
}
