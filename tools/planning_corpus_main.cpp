// expd-planning-corpus: writes the synthetic planning corpus (tools/planning_corpus.hpp)
// to stdout, as JSON lines for training or as plain text lines for spm_train, or to a
// Parquet text dataset (runtime/parquet_dataset.hpp) for expd-tokenize and the trainer.

#include <charconv>
#include <iostream>
#include <string>

#include <nlohmann/json.hpp>

#include "runtime/parquet_dataset.hpp"
#include "tools/cli_errors.hpp"
#include "tools/command_line.hpp"
#include "tools/planning_corpus.hpp"

namespace {

using namespace expd::tools;

constexpr const char* usage_text = R"(usage: expd-planning-corpus [--rows=N] [--seed=S] [--format=jsonl|text]
       expd-planning-corpus [--rows=N] [--seed=S] --format=parquet --out=FILE [--validation=F]

  --rows=N          examples to write (default 1000)
  --seed=S          the same seed writes the same corpus everywhere (default 1)
  --format=jsonl    one JSON object per line: id, household_id, input, target,
                    timestamp, policy_version_id (the default)
  --format=text     each example's input and target, one line each (spm_train's input)
  --format=parquet  a Parquet text dataset at --out (columns input, target, split),
                    written atomically
  --validation=F    with parquet: the fraction of households whose rows are in the
                    validation split (default 0.1), chosen by a hash of household_id
)";

double fraction(const command_line& line, const char* name, double fallback) {
  const auto text = line.value(name);
  if (!text)
    return fallback;
  double value = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || end != text->data() + text->size() || !(value >= 0 && value <= 1))
    throw usage_error("--" + std::string(name) + " must be a number from 0 to 1, not \"" + *text + "\"");
  return value;
}

void write_parquet(const std::vector<planning_example>& corpus, const command_line& line) {
  const auto out = line.value("out");
  if (!out || out->empty())
    throw usage_error("--format=parquet needs --out=FILE");
  const double validation = fraction(line, "validation", 0.1);
  expd::runtime::text_rows rows;
  for (const auto& example : corpus) {
    rows.input.push_back(example.input);
    rows.target.push_back(example.target);
    rows.split.push_back(corpus_split(example.household_id, validation));
  }
  expd::runtime::write_text_dataset(*out, rows,
                                    {{"generator", "expd-planning-corpus"},
                                     {"rows", std::to_string(corpus.size())},
                                     {"seed", std::to_string(line.unsigned_value("seed").value_or(1))},
                                     {"validation", line.value("validation").value_or("0.1")}});
}

} // namespace

int main(int argc, char** argv) {
  try {
    const auto line = parse_command_line(argc, argv, {{"rows", 'n', true}, {"seed", 's', true},
                                                      {"format", 'f', true}, {"out", 'o', true},
                                                      {"validation", 0, true}, {"help", 'h', false}});
    if (line.has("help")) {
      std::cout << usage_text;
      return 0;
    }
    if (!line.words.empty())
      throw usage_error("unexpected argument \"" + line.words[0] + "\"");
    const std::string format = line.value("format").value_or("jsonl");
    if (format != "jsonl" && format != "text" && format != "parquet")
      throw usage_error("--format must be jsonl, text or parquet, not \"" + format + "\"");
    if (format != "parquet" && (line.has("out") || line.has("validation")))
      throw usage_error(std::string("--") + (line.has("out") ? "out" : "validation") + " goes with --format=parquet");
    const auto corpus =
      generate_planning_corpus(line.unsigned_value("seed").value_or(1), line.unsigned_value("rows").value_or(1000));
    if (format == "parquet") {
      write_parquet(corpus, line);
      return 0;
    }
    for (const auto& example : corpus) {
      if (format == "text")
        std::cout << example.input << '\n' << example.target << '\n';
      else
        std::cout << nlohmann::json{{"id", example.id},
                                    {"household_id", example.household_id},
                                    {"input", example.input},
                                    {"target", example.target},
                                    {"timestamp", example.timestamp},
                                    {"policy_version_id", example.policy_version_id}}
                         .dump()
                  << '\n';
    }
    return std::cout.flush() ? 0 : 1;
  } catch (const usage_error& e) {
    std::cerr << "expd-planning-corpus: " << e.what() << "\n\n" << usage_text;
    return 2;
  } catch (const expd::runtime::dataset_error& e) {
    std::cerr << "expd-planning-corpus: " << e.what() << '\n';
    return 1;
  }
}
