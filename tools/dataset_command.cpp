// expctl dataset: build a dataset version from events, list the versions, show one
// (/admin/v1/datasets, docs/api.md; docs/lifecycle.md, "Datasets from events").

#include <charconv>
#include <iostream>

#include "tools/cli_errors.hpp"
#include "tools/expctl_command.hpp"
#include "tools/http_client.hpp"

namespace expd::tools::expctl {

using nlohmann::json;

namespace {

const std::string synopsis = "dataset build NAME --from T --to T [--validation F] | dataset list"
                             " | dataset show NAME/VERSION";

// A build reads a window of events: minutes for millions of them.
constexpr long build_timeout_seconds = 3600;

std::string split_text(const json& manifest) {
  const json& split = manifest.contains("split") ? manifest["split"] : json::object();
  return text(split, "train") + "/" + text(split, "validation");
}

void print_manifest(const json& m) {
  print_table({{"DATASET", "ROWS", "TRAIN/VALIDATION", "WINDOW", "CONTENT HASH", "BUILT"},
               {text(m, "dataset_version"), text(m, "rows"), split_text(m),
                m.contains("source") ? text(m["source"], "from") + " .. " + text(m["source"], "to") : "-",
                text(m, "content_hash"), text(m, "built_at")}});
  std::cout << "file: " << text(m, "uri") << '\n';
  if (m.contains("mlflow_run_id") && !m["mlflow_run_id"].get<std::string>().empty())
    std::cout << "mlflow run: " << m["mlflow_run_id"].get<std::string>() << '\n';
  if (m.contains("mlflow_error"))
    std::cout << "mlflow: not logged: " << text(m, "mlflow_error") << '\n';
}

int build(const settings& s, const command_line& line) {
  expect(line, {"from", "to", "validation"}, 3, synopsis);
  auto from = line.value("from"), to = line.value("to");
  if (!from || !to)
    throw usage_error("usage: expctl " + synopsis);
  json body{{"name", line.words[2]}, {"from", *from}, {"to", *to}};
  if (auto v = line.value("validation")) {
    double fraction = 0;
    auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), fraction);
    if (ec != std::errc() || end != v->data() + v->size())
      throw usage_error("--validation must be a number, not \"" + *v + "\"");
    body["validation"] = fraction;
  }
  json answer = call(s, "/admin/v1/datasets", body, credential::admin, build_timeout_seconds);
  if (s.json_output) {
    print_json(answer);
    return 0;
  }
  if (!answer.value("created", true))
    std::cout << "the same rows were built today already: " << text(answer, "dataset_version") << '\n';
  print_manifest(answer);
  return 0;
}

} // namespace

int dataset_command(const settings& s, const command_line& line) {
  auto verb = line.words.size() > 1 ? line.words[1] : std::string{};
  if (verb == "build")
    return build(s, line);
  if (verb == "list") {
    expect(line, {}, 2, synopsis);
    json answer = call(s, "/admin/v1/datasets", std::nullopt, credential::admin);
    if (s.json_output) {
      print_json(answer);
      return 0;
    }
    std::vector<std::vector<std::string>> rows = {{"DATASET", "ROWS", "TRAIN/VALIDATION", "FROM", "TO", "BUILT"}};
    for (const json& m : list(answer, "datasets")) {
      const json& source = m.contains("source") ? m["source"] : json::object();
      rows.push_back({text(m, "dataset_version"), text(m, "rows"), split_text(m), text(source, "from"),
                      text(source, "to"), text(m, "built_at")});
    }
    print_table(rows);
    return 0;
  }
  if (verb == "show") {
    expect(line, {}, 3, synopsis);
    const auto& which = line.words[2];
    auto slash = which.find('/');
    if (slash == std::string::npos || slash == 0 || slash + 1 == which.size())
      throw usage_error("name the version as NAME/VERSION (planner/2025-01-13), not \"" + which + "\"");
    json answer = call(s, "/admin/v1/datasets/" + escape_segment(which.substr(0, slash)) + "/" +
                            escape_segment(which.substr(slash + 1)),
                       std::nullopt, credential::admin);
    if (s.json_output) {
      print_json(answer);
      return 0;
    }
    print_manifest(answer);
    return 0;
  }
  throw usage_error("usage: expctl " + synopsis);
}

} // namespace expd::tools::expctl
