// runtime/parquet_dataset against pyarrow: files C++ writes are read back by pyarrow
// (tests/parquet/pyarrow_reference.py), files pyarrow writes are read by C++, and every
// fault names its file and column.

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "runtime/parquet_dataset.hpp"
#include "tests/support/run_command.hpp"

namespace {

namespace fs = std::filesystem;
using expd::runtime::dataset_error;
using expd::runtime::text_rows;
using expd::runtime::token_rows;
using expd::test::run_command;
using expd::test::shell_quoted;
using nlohmann::json;

class parquet_dataset_test : public ::testing::Test {
protected:
  void SetUp() override {
    folder = fs::temp_directory_path() /
             ("expd-parquet-test-" + std::to_string(::getpid()) + "-" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(folder);
    fs::create_directories(folder);
  }

  void TearDown() override {
    fs::remove_all(folder);
  }

  std::string path(const std::string& name) const {
    return (folder / name).string();
  }

  json pyarrow(const std::string& verb, const std::string& argument) {
    const auto command = shell_quoted(EXPD_ARROW_PYTHON) + " " +
                         shell_quoted(EXPD_SOURCE_DIR "/tests/parquet/pyarrow_reference.py") + " " + verb + " " +
                         shell_quoted(argument);
    const auto result = run_command(command);
    EXPECT_EQ(result.status, 0) << command;
    return result.out.empty() ? json() : json::parse(result.out);
  }

  // What pyarrow reads from the file at `file`.
  json pyarrow_read(const std::string& file) {
    return pyarrow("read", file);
  }

  // A file written by pyarrow: columns [{"name", "type", "values"}] (pyarrow_reference.py).
  std::string pyarrow_write(const std::string& name, const std::vector<json>& columns, int row_group_size = 0,
                            const json& metadata = json::object()) {
    json spec{{"path", path(name)}, {"columns", columns}, {"metadata", metadata}};
    if (row_group_size > 0)
      spec["row_group_size"] = row_group_size;
    std::ofstream(folder / "spec.json") << spec.dump();
    pyarrow("write", (folder / "spec.json").string());
    fs::remove(folder / "spec.json");
    return path(name);
  }

  // `action` must throw a dataset_error for `file` and `column` whose message holds
  // every one of `words`.
  static void expect_refused(const std::function<void()>& action, const std::string& file, const std::string& column,
                             const std::vector<std::string>& words) {
    try {
      action();
      ADD_FAILURE() << "no dataset_error for " << file;
    } catch (const dataset_error& e) {
      EXPECT_EQ(e.file(), file);
      EXPECT_EQ(e.column(), column);
      const std::string message = e.what();
      EXPECT_NE(message.find(file), std::string::npos) << message;
      for (const auto& word : words)
        EXPECT_NE(message.find(word), std::string::npos) << "\"" << word << "\" not in: " << message;
    }
  }

  // The names in the test's folder: no temporary file may be left behind.
  std::vector<std::string> names() const {
    std::vector<std::string> found;
    for (const auto& entry : fs::directory_iterator(folder))
      found.push_back(entry.path().filename().string());
    std::sort(found.begin(), found.end());
    return found;
  }

  fs::path folder;
};

json string_column(const std::string& name, const json& values, const std::string& type = "string") {
  return {{"name", name}, {"type", type}, {"values", values}};
}

text_rows sample_text() {
  return {{"household: 2 adults", "", "crème fraîche, phở gà\nline two", std::string("nul\0byte", 8)},
          {"plan: Mon lentil soup", "plan: none", "🍅 smørrebrød", "\t"},
          {"train", "validation", "train", "train"}};
}

TEST_F(parquet_dataset_test, text_rows_round_trip_and_pyarrow_reads_them) {
  const auto rows = sample_text();
  const std::map<std::string, std::string> metadata{{"generator", "test"}, {"seed", "7"}};
  expd::runtime::write_text_dataset(path("text.parquet"), rows, metadata);

  const auto back = expd::runtime::read_text_dataset(path("text.parquet"));
  EXPECT_EQ(back.input, rows.input);
  EXPECT_EQ(back.target, rows.target);
  EXPECT_EQ(back.split, rows.split);

  const auto seen = pyarrow_read(path("text.parquet"));
  EXPECT_EQ(seen["columns"], (json{{"input", "string"}, {"target", "string"}, {"split", "string"}}));
  EXPECT_EQ(seen["rows"]["input"].get<std::vector<std::string>>(), rows.input);
  EXPECT_EQ(seen["rows"]["target"].get<std::vector<std::string>>(), rows.target);
  EXPECT_EQ(seen["rows"]["split"].get<std::vector<std::string>>(), rows.split);
  EXPECT_EQ(seen["metadata"], json(metadata));
  EXPECT_EQ(seen["compression"], (json{"ZSTD", "ZSTD", "ZSTD"}));
  EXPECT_EQ(names(), std::vector<std::string>{"text.parquet"});
}

TEST_F(parquet_dataset_test, large_datasets_are_written_in_row_groups_of_16384_rows) {
  text_rows rows;
  for (int i = 0; i < 40000; ++i) {
    rows.input.push_back("input " + std::to_string(i));
    rows.target.push_back("target " + std::to_string(i * 7));
    rows.split.push_back(i % 10 == 0 ? "validation" : "train");
  }
  expd::runtime::write_text_dataset(path("large.parquet"), rows);
  const auto seen = pyarrow_read(path("large.parquet"));
  EXPECT_EQ(seen["row_groups"], 3);
  EXPECT_EQ(seen["rows"]["target"][39999], "target 279993");
  const auto back = expd::runtime::read_text_dataset(path("large.parquet"));
  EXPECT_EQ(back.input, rows.input);
  EXPECT_EQ(back.target, rows.target);
  EXPECT_EQ(back.split, rows.split);
}

TEST_F(parquet_dataset_test, a_dataset_writer_streams_row_groups_that_both_readers_read) {
  using expd::runtime::column_type;
  {
    expd::runtime::dataset_writer writer(path("built.parquet"),
                                         {{"input", column_type::text},
                                          {"target", column_type::text},
                                          {"split", column_type::text},
                                          {"household_id", column_type::text},
                                          {"timestamp", column_type::timestamp_micros}},
                                         {{"source", "test"}});
    for (int i = 0; i < 40000; ++i) {
      writer.text(0, "input " + std::to_string(i));
      writer.text(1, "tärget " + std::to_string(i));
      writer.text(2, i % 10 == 0 ? "validation" : "train");
      writer.text(3, "hh-" + std::to_string(i % 7));
      writer.timestamp(4, 1736121600000000LL + i * 1000000LL);
      writer.end_row();
    }
    EXPECT_EQ(writer.rows(), 40000u);
    EXPECT_EQ(writer.type_names(), (std::vector<std::string>{"string", "string", "string", "string",
                                                              "timestamp[us, tz=UTC]"}));
    ASSERT_EQ(names().size(), 1u); // until commit, only the temporary file beside it
    EXPECT_EQ(names()[0].rfind(".built.parquet.tmp-", 0), 0u) << names()[0];
    writer.commit();
  }
  const auto back = expd::runtime::read_text_dataset(path("built.parquet"));
  ASSERT_EQ(back.input.size(), 40000u);
  EXPECT_EQ(back.target[39999], "tärget 39999");
  EXPECT_EQ(back.split[10], "validation");
  const auto seen = pyarrow_read(path("built.parquet"));
  EXPECT_EQ(seen["row_groups"], 3);
  EXPECT_EQ(seen["columns"]["timestamp"], "timestamp[us, tz=UTC]");
  EXPECT_EQ(seen["rows"]["timestamp"][1], "2025-01-06 00:00:01+00:00");
  EXPECT_EQ(seen["rows"]["household_id"][8], "hh-1");
  EXPECT_EQ(seen["metadata"], (json{{"source", "test"}}));
  EXPECT_EQ(expd::runtime::xxh3_of_files({path("built.parquet")}).size(), 16u);
}

TEST_F(parquet_dataset_test, a_dataset_writer_leaves_nothing_without_commit_or_with_a_row_short) {
  using expd::runtime::column_type;
  {
    expd::runtime::dataset_writer writer(path("abandoned.parquet"), {{"input", column_type::text}});
    writer.text(0, "one");
    writer.end_row();
  }
  EXPECT_TRUE(fs::is_empty(folder));
  expd::runtime::dataset_writer writer(path("short.parquet"),
                                       {{"input", column_type::text}, {"target", column_type::text}});
  writer.text(0, "only the input");
  expect_refused([&] { writer.end_row(); }, path("short.parquet"), "target", {"not set in row 0"});
  expect_refused([&] { writer.text(0, "again"); }, path("short.parquet"), "input", {"set twice"});
  expect_refused([&] { writer.timestamp(1, 0); }, path("short.parquet"), "target", {"not a column of that type"});
}

TEST_F(parquet_dataset_test, writing_replaces_a_file_whole) {
  expd::runtime::write_text_dataset(path("text.parquet"), sample_text());
  expd::runtime::write_text_dataset(path("text.parquet"), {{"only"}, {"row"}, {"validation"}});
  const auto back = expd::runtime::read_text_dataset(path("text.parquet"));
  EXPECT_EQ(back.input, std::vector<std::string>{"only"});
  EXPECT_EQ(back.split, std::vector<std::string>{"validation"});
  EXPECT_EQ(names(), std::vector<std::string>{"text.parquet"});
}

TEST_F(parquet_dataset_test, pyarrow_files_of_every_string_type_and_several_row_groups_are_read) {
  const std::vector<std::string> inputs{"a", "bé", "", "日本", "e", "f", "g"};
  const std::vector<std::string> targets{"1", "2", "3", "4", "5", "6", "7"};
  const std::vector<std::string> splits{"train", "validation", "train", "train", "validation", "train", "train"};
  const auto file = pyarrow_write("mixed.parquet",
                                  {string_column("id", {1, 2, 3, 4, 5, 6, 7}, "int64"),
                                   string_column("input", inputs, "large_string"),
                                   string_column("target", targets, "string_view"),
                                   string_column("split", splits, "dictionary")},
                                  2);
  const auto seen = pyarrow_read(file);
  ASSERT_EQ(seen["row_groups"], 4);
  ASSERT_EQ(seen["columns"]["input"], "large_string");
  ASSERT_EQ(seen["columns"]["target"], "string_view");
  ASSERT_EQ(seen["columns"]["split"], "dictionary<values=string, indices=int32, ordered=0>");
  const auto rows = expd::runtime::read_text_dataset(file);
  EXPECT_EQ(rows.input, inputs);
  EXPECT_EQ(rows.target, targets);
  EXPECT_EQ(rows.split, splits);
}

TEST_F(parquet_dataset_test, a_dataset_without_split_is_all_train) {
  const auto file = pyarrow_write("nosplit.parquet", {string_column("input", {"x", "y"}), string_column("target", {"1", "2"})});
  const auto rows = expd::runtime::read_text_dataset(file);
  EXPECT_EQ(rows.input, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(rows.split, (std::vector<std::string>{"train", "train"}));
}

TEST_F(parquet_dataset_test, a_folder_is_read_file_by_file_in_name_order) {
  fs::create_directories(folder / "data" / "sub");
  pyarrow_write("data/b.parquet", {string_column("input", {"b0", "b1"}), string_column("target", {"B0", "B1"})});
  pyarrow_write("data/a.parquet", {string_column("input", {"a0"}), string_column("target", {"A0"}),
                                   string_column("split", {"validation"})});
  // Not dataset files: a hidden one, a metadata one, another extension, a subfolder's.
  pyarrow_write("data/.a.parquet.tmp", {string_column("input", {"tmp"}), string_column("target", {"tmp"})});
  pyarrow_write("data/_common.parquet", {string_column("other", {"z"})});
  pyarrow_write("data/sub/c.parquet", {string_column("input", {"c"}), string_column("target", {"C"})});
  std::ofstream(folder / "data" / "notes.txt") << "not parquet";

  EXPECT_EQ(expd::runtime::dataset_files(path("data")),
            (std::vector<std::string>{path("data/a.parquet"), path("data/b.parquet")}));
  const auto rows = expd::runtime::read_text_dataset(path("data"));
  EXPECT_EQ(rows.input, (std::vector<std::string>{"a0", "b0", "b1"}));
  EXPECT_EQ(rows.target, (std::vector<std::string>{"A0", "B0", "B1"}));
  EXPECT_EQ(rows.split, (std::vector<std::string>{"validation", "train", "train"}));
}

TEST_F(parquet_dataset_test, faults_in_a_column_name_the_file_column_and_row) {
  const auto read = [](const std::string& file) { return [file] { expd::runtime::read_text_dataset(file); }; };
  const auto nulls = pyarrow_write("nulls.parquet", {string_column("input", {"a", "b", nullptr, "d"}),
                                                     string_column("target", {"1", "2", "3", "4"})});
  expect_refused(read(nulls), nulls, "input", {"null in row 2"});

  const auto ints = pyarrow_write("ints.parquet", {string_column("input", {"a"}), string_column("target", {5}, "int64")});
  expect_refused(read(ints), ints, "target", {"has type int64", "string"});

  const auto missing = pyarrow_write("missing.parquet", {string_column("input", {"a"}), string_column("output", {"b"})});
  expect_refused(read(missing), missing, "target", {"missing", "input and target"});

  const auto bad_split = pyarrow_write("split.parquet", {string_column("input", {"a", "b"}), string_column("target", {"1", "2"}),
                                                         string_column("split", {"train", "test"})});
  expect_refused(read(bad_split), bad_split, "split", {"row 1", "\"test\"", "\"validation\""});

  const auto null_split = pyarrow_write("nullsplit.parquet", {string_column("input", {"a"}), string_column("target", {"1"}),
                                                              string_column("split", {nullptr}, "dictionary")});
  expect_refused(read(null_split), null_split, "split", {"null in row 0"});

  // The second file of a folder is named, not the folder.
  fs::create_directories(folder / "two");
  pyarrow_write("two/1.parquet", {string_column("input", {"a"}), string_column("target", {"1"})});
  const auto second = pyarrow_write("two/2.parquet", {string_column("input", {"a"}), string_column("target", {nullptr})});
  expect_refused(read(path("two")), second, "target", {"null in row 0"});
}

TEST_F(parquet_dataset_test, files_that_are_not_parquet_and_folders_without_any_are_refused) {
  const auto read = [](const std::string& file) { return [file] { expd::runtime::read_text_dataset(file); }; };
  expd::runtime::write_text_dataset(path("whole.parquet"), sample_text());
  const auto size = fs::file_size(path("whole.parquet"));
  fs::copy_file(path("whole.parquet"), path("cut.parquet"));
  fs::resize_file(path("cut.parquet"), size / 2);
  expect_refused(read(path("cut.parquet")), path("cut.parquet"), "", {"is not a readable Parquet file"});

  // Footer whole, the first column's page header overwritten: Arrow's error spans lines.
  fs::copy_file(path("whole.parquet"), path("garbled.parquet"));
  {
    std::fstream garbled(path("garbled.parquet"), std::ios::in | std::ios::out | std::ios::binary);
    garbled.seekp(4);
    garbled << std::string(200, '\0');
  }
  expect_refused(read(path("garbled.parquet")), path("garbled.parquet"), "input", {"cannot be read"});
  try {
    expd::runtime::read_text_dataset(path("garbled.parquet"));
  } catch (const dataset_error& e) {
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
  }

  std::ofstream(folder / "text.parquet") << "input,target\na,b\n";
  expect_refused(read(path("text.parquet")), path("text.parquet"), "", {"is not a readable Parquet file"});
  std::ofstream(folder / "empty.parquet");
  expect_refused(read(path("empty.parquet")), path("empty.parquet"), "", {"is not a readable Parquet file"});

  fs::create_directories(folder / "none");
  std::ofstream(folder / "none" / "data.csv") << "a,b\n";
  expect_refused(read(path("none")), path("none"), "", {"folder without *.parquet files"});
  expect_refused(read(path("absent")), path("absent"), "", {"does not exist"});
}

TEST_F(parquet_dataset_test, rows_that_cannot_be_written_are_refused_before_any_file_exists) {
  const auto write = [this](text_rows rows) { return [this, rows] { expd::runtime::write_text_dataset(path("out.parquet"), rows); }; };
  expect_refused(write({{"a", "b"}, {"1"}, {"train", "train"}}), path("out.parquet"), "target", {"1 rows", "input has 2"});
  expect_refused(write({{"a"}, {"1"}, {}}), path("out.parquet"), "split", {"0 rows"});
  expect_refused(write({{"a"}, {"1"}, {"Train"}}), path("out.parquet"), "split", {"row 0", "\"Train\""});
  expect_refused([&] { expd::runtime::write_text_dataset(path("no/such/folder/out.parquet"), sample_text()); },
                 path("no/such/folder/out.parquet"), "", {"cannot be written", "No such file or directory"});
  EXPECT_TRUE(names().empty());
}

token_rows sample_tokens() {
  return {{{1, 17, 300, 42}, {1, 5}, {1, 9, 9, 9, 9, 2}},
          {2, 1, 3},
          {"train", "validation", "train"},
          {{"source", "data/corpus.parquet"}, {"max_length", "2048"}}};
}

TEST_F(parquet_dataset_test, token_rows_round_trip_and_pyarrow_reads_them) {
  const auto rows = sample_tokens();
  expd::runtime::write_token_rows(path("tokens.parquet"), rows);
  const auto back = expd::runtime::read_token_rows(path("tokens.parquet"));
  EXPECT_EQ(back.input_ids, rows.input_ids);
  EXPECT_EQ(back.target_start, rows.target_start);
  EXPECT_EQ(back.split, rows.split);
  EXPECT_EQ(back.metadata, rows.metadata);

  const auto seen = pyarrow_read(path("tokens.parquet"));
  EXPECT_EQ(seen["columns"]["input_ids"].get<std::string>().rfind("list<", 0), 0u) << seen["columns"];
  EXPECT_NE(seen["columns"]["input_ids"].get<std::string>().find("int32"), std::string::npos);
  EXPECT_EQ(seen["columns"]["target_start"], "int32");
  EXPECT_EQ(seen["rows"]["input_ids"].get<std::vector<std::vector<int>>>(), rows.input_ids);
  EXPECT_EQ(seen["rows"]["target_start"].get<std::vector<int>>(), rows.target_start);
  EXPECT_EQ(seen["metadata"], json(rows.metadata));
}

TEST_F(parquet_dataset_test, token_files_with_faults_are_refused_naming_the_column) {
  const auto read = [](const std::string& file) { return [file] { expd::runtime::read_token_rows(file); }; };
  const json ids = {{"name", "input_ids"}, {"type", "list<int32>"}, {"values", {{1, 2, 3}, {1, 4}}}};
  const json split = string_column("split", {"train", "train"});
  const auto start = [](const json& values) { return json{{"name", "target_start"}, {"type", "int32"}, {"values", values}}; };

  const auto outside = pyarrow_write("outside.parquet", {ids, start({1, 2}), split});
  expect_refused(read(outside), outside, "target_start", {"row 1", "2 is outside its 2 tokens"});
  const auto negative = pyarrow_write("negative.parquet", {ids, start({-1, 1}), split});
  expect_refused(read(negative), negative, "target_start", {"row 0", "-1 is outside"});
  const auto null_start = pyarrow_write("nullstart.parquet", {ids, start({1, nullptr}), split});
  expect_refused(read(null_start), null_start, "target_start", {"null in row 1"});
  const auto null_ids = pyarrow_write("nullids.parquet", {{{"name", "input_ids"}, {"type", "list<int32>"}, {"values", {{1, 2}, nullptr}}},
                                                          start({1, 1}), split});
  expect_refused(read(null_ids), null_ids, "input_ids", {"null in row 1"});
  const auto null_token = pyarrow_write("nulltoken.parquet", {{{"name", "input_ids"}, {"type", "list<int32>"}, {"values", {{1, 2}, {1, nullptr}}}},
                                                              start({1, 1}), split});
  expect_refused(read(null_token), null_token, "input_ids", {"null token in row 1"});
  const auto flat = pyarrow_write("flat.parquet", {string_column("input_ids", {1, 2}, "int32"), start({0, 0}), split});
  expect_refused(read(flat), flat, "input_ids", {"has type int32", "list<int32>"});
  const auto no_split = pyarrow_write("nosplit.parquet", {ids, start({1, 1})});
  expect_refused(read(no_split), no_split, "split", {"missing"});
  const auto wide = pyarrow_write("wide.parquet", {ids, string_column("target_start", {1, 1}, "int64"), split});
  expect_refused(read(wide), wide, "target_start", {"has type int64", "int32"});
}

TEST_F(parquet_dataset_test, token_rows_without_a_target_token_are_not_written) {
  auto rows = sample_tokens();
  rows.target_start[1] = 2;
  expect_refused([&] { expd::runtime::write_token_rows(path("tokens.parquet"), rows); }, path("tokens.parquet"),
                 "target_start", {"row 1", "2 is outside its 2 tokens"});
  rows = sample_tokens();
  rows.split.pop_back();
  expect_refused([&] { expd::runtime::write_token_rows(path("tokens.parquet"), rows); }, path("tokens.parquet"),
                 "split", {"2 rows", "input_ids has 3"});
  EXPECT_TRUE(names().empty());
}

} // namespace
