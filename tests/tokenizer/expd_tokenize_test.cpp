// The expd-tokenize process on the tiny tokenizer: what it writes (the rows
// tokenize_dataset makes, the metadata, hashes Python's xxhash agrees with), and its exit
// codes and one-line messages on bad flags and bad datasets, leaving no file behind.

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/wait.h>

#include "gpu/tokenize_dataset.hpp"
#include "runtime/parquet_dataset.hpp"
#include "tests/support/run_command.hpp"
#include "tests/tokenizer/tiny_tokenizer.hpp"
#include "tools/planning_corpus.hpp"

namespace {

namespace fs = std::filesystem;
using expd::gpu::tokenizer;
using expd::test::read_file;
using expd::test::run_command;
using expd::test::shell_quoted;
using nlohmann::json;

struct process_result {
  int exit_code = -1;
  std::string out;
  std::string err;
};

class expd_tokenize_test : public expd::test::tiny_tokenizer_test {
protected:
  // expd-tokenize with `args` (each shell-quoted), its exit code, stdout and stderr.
  process_result tokenize(const std::vector<std::string>& args) {
    std::string command = shell_quoted(EXPD_TOKENIZE_BIN);
    for (const auto& arg : args)
      command += " " + shell_quoted(arg);
    const auto err = folder / "stderr.txt";
    const auto result = run_command(command + " 2>" + shell_quoted(err.string()));
    process_result r{WIFEXITED(result.status) ? WEXITSTATUS(result.status) : -1, result.out, read_file(err)};
    fs::remove(err);
    return r;
  }

  std::vector<std::string> args(const std::string& dataset, const std::string& max_length) const {
    return {"--dataset", dataset, "--tokenizer", folder.string(), "--max-length", max_length, "--out", out()};
  }

  std::string out() const {
    return (folder / "tokens.parquet").string();
  }

  // A failure: exit 2, one line on stderr holding every one of `words`, nothing on
  // stdout, and no file at --out or beside it.
  void expect_refused(const process_result& r, const std::vector<std::string>& words) {
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_EQ(r.err.rfind("expd-tokenize: ", 0), 0u) << r.err;
    for (const auto& word : words)
      EXPECT_NE(r.err.find(word), std::string::npos) << "\"" << word << "\" not in: " << r.err;
    for (const auto& entry : fs::directory_iterator(folder))
      EXPECT_EQ(entry.path().filename().string().find("tokens.parquet"), std::string::npos) << entry.path();
  }

  // XXH3-64 of the files' bytes one after another, by Python's xxhash.
  static std::string python_xxh3(const std::vector<std::string>& files) {
    std::string list;
    for (const auto& file : files)
      list += (list.empty() ? "" : ", ") + json(file).dump();
    const auto r = run_command(std::string(expd::test::spm_python) +
                               " -c 'import xxhash, sys; h = xxhash.xxh3_64(); [h.update(open(f, \"rb\").read()) "
                               "for f in [" + list + "]]; print(h.hexdigest())'");
    EXPECT_EQ(r.status, 0);
    return r.out.substr(0, r.out.find('\n'));
  }

  // A text dataset of the planning corpus in two files of a folder.
  std::string corpus_folder() {
    const auto data = folder / "data";
    fs::create_directories(data);
    expd::runtime::text_rows first;
    expd::runtime::text_rows second;
    std::size_t row = 0;
    for (const auto& example : expd::tools::generate_planning_corpus(4, 24)) {
      auto& part = row++ < 10 ? first : second;
      part.input.push_back(example.input);
      part.target.push_back(example.target);
      part.split.push_back(expd::tools::corpus_split(example.household_id, 0.2));
    }
    expd::runtime::write_text_dataset((data / "part-0.parquet").string(), first);
    expd::runtime::write_text_dataset((data / "part-1.parquet").string(), second);
    return data.string();
  }
};

TEST_F(expd_tokenize_test, writes_the_rows_tokenize_dataset_makes_with_what_they_came_from) {
  if (!expd::test::succeeds(std::string(expd::test::spm_python) + " -c 'import xxhash'"))
    GTEST_SKIP() << expd::test::spm_python << " has no xxhash module (python3-xxhash)";
  const auto data = corpus_folder();
  const std::string max_length = "200";
  const auto r = tokenize(args(data, max_length));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
  const auto summary = json::parse(r.out);

  const auto expected = expd::gpu::tokenize_dataset(expd::runtime::read_text_dataset(data), tokenizer::load(folder), 200);
  const auto rows = expd::runtime::read_token_rows(out());
  EXPECT_EQ(rows.input_ids, expected.rows.input_ids);
  EXPECT_EQ(rows.target_start, expected.rows.target_start);
  EXPECT_EQ(rows.split, expected.rows.split);
  ASSERT_FALSE(rows.input_ids.empty());

  const auto files = expd::runtime::dataset_files(data);
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(rows.metadata.at("source"), fs::absolute(data).string());
  EXPECT_EQ(json::parse(rows.metadata.at("source_files")), json(files));
  EXPECT_EQ(rows.metadata.at("source_xxh3_64"), python_xxh3(files));
  EXPECT_EQ(rows.metadata.at("tokenizer"), fs::absolute(folder).string());
  EXPECT_EQ(rows.metadata.at("tokenizer_model_xxh3_64"), python_xxh3({(folder / "tokenizer.model").string()}));
  EXPECT_EQ(rows.metadata.at("add_bos_token"), "true");
  EXPECT_EQ(rows.metadata.at("add_eos_token"), "false");
  EXPECT_EQ(rows.metadata.at("max_length"), max_length);
  EXPECT_EQ(rows.metadata.at("rows"), std::to_string(expected.rows.input_ids.size()));
  EXPECT_EQ(rows.metadata.at("skipped"), std::to_string(expected.skipped.size()));
  EXPECT_EQ(rows.metadata.at("truncated"), std::to_string(expected.truncated));

  EXPECT_EQ(summary["out"], out());
  EXPECT_EQ(summary["rows"], expected.rows.input_ids.size());
  EXPECT_EQ(summary["skipped"], expected.skipped.size());
  EXPECT_EQ(summary["truncated"], expected.truncated);
  EXPECT_EQ(summary["source_xxh3_64"], rows.metadata.at("source_xxh3_64"));
  std::size_t tokens = 0;
  for (const auto& ids : rows.input_ids)
    tokens += ids.size();
  EXPECT_EQ(summary["tokens"], tokens);
  // Skipped rows are named on stderr; a run that skips none says nothing there.
  EXPECT_EQ(r.err.empty(), expected.skipped.empty()) << r.err;
}

TEST_F(expd_tokenize_test, bad_flags_exit_2_naming_the_flag) {
  const auto data = corpus_folder();
  expect_refused(tokenize({"--dataset", data, "--tokenizer", folder.string(), "--out", out()}),
                 {"--max-length is required"});
  expect_refused(tokenize(args(data, "0")), {"--max-length", "from 1"});
  expect_refused(tokenize(args(data, "ten")), {"--max-length", "\"ten\""});
  expect_refused(tokenize(args(data, "4294967296")), {"--max-length", "4294967296"});
  auto extra = args(data, "100");
  extra.push_back("--shuffle");
  expect_refused(tokenize(extra), {"unknown option --shuffle"});
  expect_refused(tokenize({"--dataset", data, "--tokenizer", folder.string(), "--max-length", "100", "--out",
                           (folder / "absent" / "tokens.parquet").string()}),
                 {"--out", (folder / "absent").string(), "does not exist"});
}

TEST_F(expd_tokenize_test, bad_datasets_and_tokenizers_exit_2_naming_the_file_and_column) {
  const auto data = corpus_folder();
  // pyarrow writes what expd's writer never would: a file without a target column.
  const auto no_target = folder / "no_target.parquet";
  std::ofstream(folder / "spec.json")
    << json{{"path", no_target.string()},
            {"columns", {{{"name", "input"}, {"type", "string"}, {"values", {"a", "b"}}},
                         {{"name", "output"}, {"type", "string"}, {"values", {"1", "2"}}}}}}
         .dump();
  ASSERT_EQ(run_command(shell_quoted(EXPD_ARROW_PYTHON) + " " +
                        shell_quoted(EXPD_SOURCE_DIR "/tests/parquet/pyarrow_reference.py") + " write " +
                        shell_quoted((folder / "spec.json").string()))
              .status,
            0);
  fs::remove(folder / "spec.json");
  expect_refused(tokenize(args(no_target.string(), "100")), {no_target.string(), "(column target)", "missing"});

  std::ofstream(folder / "notes.parquet") << "not parquet";
  expect_refused(tokenize(args((folder / "notes.parquet").string(), "100")),
                 {(folder / "notes.parquet").string(), "not a readable Parquet file"});
  expect_refused(tokenize(args((folder / "absent").string(), "100")), {(folder / "absent").string(), "does not exist"});

  // Every row's input fills the limit: nothing would be left to train on.
  expect_refused(tokenize(args(data, "5")), {data, "every one of its 24 rows", "--max-length 5"});

  auto bad_tokenizer = args(data, "100");
  bad_tokenizer[3] = data;
  expect_refused(tokenize(bad_tokenizer), {(fs::path(data) / "tokenizer.model").string(), "missing"});
}

TEST_F(expd_tokenize_test, a_failed_run_leaves_the_previous_output_as_it_was) {
  const auto data = corpus_folder();
  ASSERT_EQ(tokenize(args(data, "300")).exit_code, 0);
  const auto before = read_file(out());
  const auto r = tokenize(args((folder / "absent").string(), "300"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(read_file(out()), before);
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(folder))
    names.push_back(entry.path().filename().string());
  EXPECT_EQ(std::count_if(names.begin(), names.end(), [](const std::string& name) { return name.find("tokens.parquet") != std::string::npos; }), 1);
}

} // namespace
