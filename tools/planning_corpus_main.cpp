// expd-planning-corpus: writes the synthetic planning corpus (tools/planning_corpus.hpp)
// to stdout, as JSON lines for training or as plain text lines for spm_train.

#include <charconv>
#include <iostream>
#include <string>

#include <nlohmann/json.hpp>

#include "tools/cli_errors.hpp"
#include "tools/command_line.hpp"
#include "tools/planning_corpus.hpp"

namespace {

using namespace expd::tools;

constexpr const char* usage_text = R"(usage: expd-planning-corpus [--rows=N] [--seed=S] [--format=jsonl|text]

  --rows=N         examples to write (default 1000)
  --seed=S         the same seed writes the same corpus everywhere (default 1)
  --format=jsonl   one JSON object per line: id, household_id, input, target,
                   timestamp, policy_version_id (the default)
  --format=text    each example's input and target, one line each (spm_train's input)
)";

std::uint64_t number(const command_line& line, const char* name, std::uint64_t fallback) {
  const auto text = line.value(name);
  if (!text)
    return fallback;
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || end != text->data() + text->size())
    throw usage_error("--" + std::string(name) + " must be a non-negative integer, not \"" + *text + "\"");
  return value;
}

} // namespace

int main(int argc, char** argv) {
  try {
    const auto line = parse_command_line(argc, argv, {{"rows", 'n', true}, {"seed", 's', true},
                                                      {"format", 'f', true}, {"help", 'h', false}});
    if (line.has("help")) {
      std::cout << usage_text;
      return 0;
    }
    if (!line.words.empty())
      throw usage_error("unexpected argument \"" + line.words[0] + "\"");
    const std::string format = line.value("format").value_or("jsonl");
    if (format != "jsonl" && format != "text")
      throw usage_error("--format must be jsonl or text, not \"" + format + "\"");
    for (const auto& example : generate_planning_corpus(number(line, "seed", 1), number(line, "rows", 1000))) {
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
  }
}
