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
#include "core/rfc3339.hpp"
#include "tools/planner_domain.hpp"
#include "tools/planning_corpus.hpp"

namespace {

using namespace expd::tools;

constexpr const char* usage_text = R"(usage: expd-planning-corpus [--rows=N] [--seed=S] [--format=jsonl|text]
       expd-planning-corpus [--rows=N] [--seed=S] --format=parquet --out=FILE [--validation=F]
       expd-planning-corpus [--rows=N] [--seed=S] --format=domain --out=DIR [--start=T] [--time-scale=K]

  --rows=N          examples to write (default 1000)
  --seed=S          the same seed writes the same corpus everywhere (default 1)
  --format=jsonl    one JSON object per line: id, household_id, input, target,
                    timestamp, policy_version_id (the default)
  --format=text     each example's input and target, one line each (spm_train's input)
  --format=parquet  a Parquet text dataset at --out (columns input, target, split),
                    written atomically
  --validation=F    with parquet: the fraction of households whose rows are in the
                    validation split (default 0.1), chosen by a hash of household_id
  --format=domain   the planner example domain (sql/domain/planner_schema.sql) as CSV
                    files in DIR, one per table, and events.ndjson: each example's
                    plan_generated and plan_accepted events (every tenth example has
                    no answer, another every tenth is rejected)
  --start=T         with domain: the RFC 3339 time of the first example's events
                    (default 2025-01-06T00:00:00Z, the corpus's own)
  --time-scale=K    with domain: examples K times closer together than the corpus's
                    (about an hour apart; default 1), to pack many into a short window
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

void write_domain(const command_line& line) {
  const auto out = line.value("out");
  if (!out || out->empty())
    throw usage_error("--format=domain needs --out=DIR");
  const std::string start_text = line.value("start").value_or("2025-01-06T00:00:00Z");
  const auto start = expd::core::parse_rfc3339(start_text);
  if (!start)
    throw usage_error("--start must be an RFC 3339 date-time, not \"" + start_text + "\"");
  write_planner_domain(line.unsigned_value("seed").value_or(1), line.unsigned_value("rows").value_or(1000), *out,
                       *start, line.unsigned_value("time-scale").value_or(1));
}

} // namespace

int main(int argc, char** argv) {
  try {
    const auto line = parse_command_line(argc, argv, {{"rows", 'n', true}, {"seed", 's', true},
                                                      {"format", 'f', true}, {"out", 'o', true},
                                                      {"validation", 0, true}, {"start", 0, true}, {"time-scale", 0, true},
                                                      {"help", 'h', false}});
    if (line.has("help")) {
      std::cout << usage_text;
      return 0;
    }
    if (!line.words.empty())
      throw usage_error("unexpected argument \"" + line.words[0] + "\"");
    const std::string format = line.value("format").value_or("jsonl");
    if (format != "jsonl" && format != "text" && format != "parquet" && format != "domain")
      throw usage_error("--format must be jsonl, text, parquet or domain, not \"" + format + "\"");
    if (format != "parquet" && format != "domain" && line.has("out"))
      throw usage_error("--out goes with --format=parquet or domain");
    if (format != "parquet" && line.has("validation"))
      throw usage_error("--validation goes with --format=parquet");
    if (format != "domain" && (line.has("start") || line.has("time-scale")))
      throw usage_error(std::string("--") + (line.has("start") ? "start" : "time-scale") + " goes with --format=domain");
    if (format == "domain") {
      write_domain(line);
      return 0;
    }
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
  } catch (const std::runtime_error& e) { // dataset_error, a domain file not written
    std::cerr << "expd-planning-corpus: " << e.what() << '\n';
    return 1;
  }
}
