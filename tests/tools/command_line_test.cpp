#include <gtest/gtest.h>

#include "tools/cli_errors.hpp"
#include "tools/command_line.hpp"

using namespace expd::tools;

namespace {

const std::vector<option_spec> specs = {
  {"server", 0, true}, {"output", 'o', true}, {"help", 'h', false}, {"from", 0, true}};

command_line parse(std::vector<const char*> args) {
  args.insert(args.begin(), "expctl");
  return parse_command_line(static_cast<int>(args.size()), args.data(), specs);
}

std::string error_of(std::vector<const char*> args) {
  try {
    parse(std::move(args));
  } catch (const usage_error& e) {
    return e.what();
  }
  return "no error";
}

} // namespace

TEST(command_line, takes_every_option_form_before_or_after_the_words) {
  auto line = parse({"--server=http://a", "results", "-ojson", "exp", "--from", "2025-01-01T00:00:00Z", "-h"});
  EXPECT_EQ(line.words, (std::vector<std::string>{"results", "exp"}));
  EXPECT_EQ(line.value("server"), "http://a");
  EXPECT_EQ(line.value("output"), "json");
  EXPECT_EQ(line.value("from"), "2025-01-01T00:00:00Z");
  EXPECT_TRUE(line.has("help"));
  EXPECT_FALSE(line.value("help")->size());
  EXPECT_FALSE(line.value("nothing").has_value());
  EXPECT_EQ(parse({"-o", "table"}).value("output"), "table");
  EXPECT_EQ(parse({"--server="}).value("server"), ""); // empty, for the caller to refuse
}

TEST(command_line, a_double_dash_ends_the_options) {
  auto line = parse({"assign", "--", "--server", "-o"});
  EXPECT_EQ(line.words, (std::vector<std::string>{"assign", "--server", "-o"}));
  EXPECT_TRUE(line.options.empty());
  EXPECT_EQ(parse({"-"}).words, (std::vector<std::string>{"-"})); // a lone dash is a word
}

TEST(command_line, refuses_unknown_options_missing_values_and_valued_flags) {
  EXPECT_EQ(error_of({"--sever=x"}), "unknown option --sever");
  EXPECT_EQ(error_of({"-x"}), "unknown option -x");
  EXPECT_EQ(error_of({"get", "--from"}), "option --from needs a value");
  EXPECT_EQ(error_of({"--help=yes"}), "option --help takes no value");
  EXPECT_EQ(error_of({"-hx"}), "option -h takes no value");
  auto twice = parse({"--from", "a", "--from", "b"});
  EXPECT_THROW(twice.value("from"), usage_error);
  EXPECT_EQ(twice.values("from"), (std::vector<std::string>{"a", "b"}));
}

TEST(command_line, reads_non_negative_integers_and_names_the_option_of_anything_else) {
  EXPECT_EQ(parse({"--from=0"}).unsigned_value("from"), 0u);
  EXPECT_EQ(parse({"--from", "18446744073709551615"}).unsigned_value("from"), 18446744073709551615u);
  EXPECT_FALSE(parse({}).unsigned_value("from").has_value());
  for (const char* bad : {"--from=", "--from=-1", "--from=12x", "--from=1e3", "--from=18446744073709551616"}) {
    try {
      parse({bad}).unsigned_value("from");
      ADD_FAILURE() << bad;
    } catch (const usage_error& e) {
      EXPECT_EQ(std::string(e.what()), "--from must be a non-negative integer, not \"" + std::string(bad + 7) + "\"");
    }
  }
}
