// The planning corpus as a Parquet text dataset: the split by household, and
// expd-planning-corpus --format=parquet writing what generate_planning_corpus makes.

#include <filesystem>
#include <map>
#include <string>

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/parquet_dataset.hpp"
#include "tests/support/run_command.hpp"
#include "tools/planning_corpus.hpp"

namespace {

namespace fs = std::filesystem;
using expd::test::run_command;
using expd::test::shell_quoted;
using expd::tools::corpus_split;
using expd::tools::generate_planning_corpus;

TEST(planning_corpus_parquet, a_household_is_in_one_split_and_about_the_fraction_are_in_validation) {
  std::map<std::string, std::string> split_of;
  for (const auto& example : generate_planning_corpus(2, 3000)) {
    const auto split = corpus_split(example.household_id, 0.2);
    const auto [at, added] = split_of.emplace(example.household_id, split);
    EXPECT_EQ(at->second, split) << example.household_id;
    EXPECT_EQ(corpus_split(example.household_id, 0), "train");
    EXPECT_EQ(corpus_split(example.household_id, 1), "validation");
  }
  std::size_t validation = 0;
  for (const auto& [household, split] : split_of)
    validation += split == "validation" ? 1 : 0;
  ASSERT_GE(split_of.size(), 200u);
  const double fraction = static_cast<double>(validation) / static_cast<double>(split_of.size());
  EXPECT_GT(fraction, 0.13) << validation << " of " << split_of.size();
  EXPECT_LT(fraction, 0.27) << validation << " of " << split_of.size();
}

class planning_corpus_tool : public ::testing::Test {
protected:
  void SetUp() override {
    folder = fs::temp_directory_path() / ("expd-corpus-parquet-" + std::to_string(::getpid()));
    fs::remove_all(folder);
    fs::create_directories(folder);
  }
  void TearDown() override {
    fs::remove_all(folder);
  }

  // The tool's exit code with `args`.
  int corpus(const std::string& args) {
    const auto r = run_command(shell_quoted(EXPD_CORPUS_BIN) + " " + args + " 2>/dev/null");
    return WIFEXITED(r.status) ? WEXITSTATUS(r.status) : -1;
  }

  fs::path folder;
};

TEST_F(planning_corpus_tool, writes_the_corpus_as_a_text_dataset) {
  const auto out = (folder / "corpus.parquet").string();
  ASSERT_EQ(corpus("--rows=60 --seed=3 --format=parquet --validation=0.25 --out=" + shell_quoted(out)), 0);
  const auto rows = expd::runtime::read_text_dataset(out);
  const auto corpus = generate_planning_corpus(3, 60);
  ASSERT_EQ(rows.input.size(), corpus.size());
  for (std::size_t i = 0; i < corpus.size(); ++i) {
    EXPECT_EQ(rows.input[i], corpus[i].input);
    EXPECT_EQ(rows.target[i], corpus[i].target);
    EXPECT_EQ(rows.split[i], corpus_split(corpus[i].household_id, 0.25));
  }
}

TEST_F(planning_corpus_tool, refuses_parquet_without_a_file_and_a_fraction_outside_0_to_1) {
  const auto out = shell_quoted((folder / "corpus.parquet").string());
  EXPECT_EQ(corpus("--format=parquet"), 2);
  EXPECT_EQ(corpus("--format=parquet --validation=1.5 --out=" + out), 2);
  EXPECT_EQ(corpus("--format=parquet --validation=x --out=" + out), 2);
  EXPECT_EQ(corpus("--format=text --out=" + out), 2);
  EXPECT_TRUE(fs::is_empty(folder));
}

} // namespace
