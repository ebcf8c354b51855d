// expctl replay: run an offline replay of a candidate against a baseline over a dataset
// and follow it to its verdict (/admin/v1/replays, docs/lifecycle.md#offline-replay).

#include <chrono>
#include <iostream>
#include <thread>

#include "tools/cli_errors.hpp"
#include "tools/expctl_command.hpp"
#include "tools/http_client.hpp"

namespace expd::tools::expctl {

using nlohmann::json;

namespace {

const std::string synopsis
  = "replay MODEL/VERSION --baseline MODEL/VERSION|MODEL@ALIAS --dataset NAME/VERSION [--split validation|train|all]"
    " [--rows N] [--max-new-tokens N] [--max-violations N] [--tolerance METRIC=X]... [--no-wait]"
    " | replay status ID | replay list";

json whole(const std::string& flag, const std::string& text) {
  if (text.empty() || text.size() > 9 || text.find_first_not_of("0123456789") != std::string::npos)
    throw usage_error("--" + flag + " must be a whole number, not \"" + text + "\"");
  return std::stoll(text);
}

json request_of(const command_line& line) {
  json body{{"candidate", line.words[1]}};
  for (const char* key : {"baseline", "dataset"}) {
    auto v = line.value(key);
    if (!v)
      throw usage_error(std::string{"--"} + key + " is required: usage: expctl " + synopsis);
    body[key] = *v;
  }
  if (auto split = line.value("split"))
    body["split"] = *split;
  if (auto rows = line.value("rows"))
    body["max_rows"] = whole("rows", *rows);
  if (auto n = line.value("max-new-tokens"))
    body["max_new_tokens"] = whole("max-new-tokens", *n);
  json criteria = json::object();
  if (auto n = line.value("max-violations"))
    criteria["max_violations"] = whole("max-violations", *n);
  // --tolerance alignment=0.02: the server checks the metric and the range.
  for (auto& t : line.values("tolerance")) {
    auto eq = t.find('=');
    if (eq == std::string::npos || eq == 0)
      throw usage_error("--tolerance takes METRIC=X (alignment, edit_distance, variety, leftovers), not \"" + t
                        + "\"");
    std::size_t used = 0;
    double x = 0;
    try {
      x = std::stod(t.substr(eq + 1), &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != t.size() - eq - 1)
      throw usage_error("--tolerance " + t + ": X must be a number");
    criteria[t.substr(0, eq) + "_tolerance"] = x;
  }
  if (!criteria.empty())
    body["criteria"] = criteria;
  return body;
}

void print_replay(const json& r) {
  print_table({{"id", text(r, "id")},
               {"candidate", text(r, "candidate")},
               {"baseline", text(r, "baseline")},
               {"dataset", text(r, "dataset")},
               {"status", text(r, "status")},
               {"verdict", r.contains("verdict") ? text(r, "verdict") : "-"},
               {"mlflow run", r.contains("mlflow_run_id") ? text(r, "mlflow_run_id") : "-"}});
  if (r.contains("error"))
    std::cout << "\nerror: " << text(r, "error") << '\n';
  if (!r.contains("summary"))
    return;
  auto& s = r["summary"];
  std::vector<std::vector<std::string>> metrics = {
    {"METRIC", "CANDIDATE", "BASELINE", "DIFFERENCE", "INTERVAL", "TOLERANCE", "PASSED"}};
  for (auto& m : s["metrics"])
    metrics.push_back({text(m, "name"), text(m, "candidate"), text(m, "baseline"), text(m, "difference"),
                       text(m, "difference_low") + " .. " + text(m, "difference_high"),
                       m["tolerance"].is_null() ? "-" : text(m, "tolerance"),
                       m["tolerance"].is_null() ? "-" : text(m, "passed")});
  std::cout << '\n';
  print_table(metrics);
  std::cout << "\nrows: " << text(s, "rows") << "; violations: candidate " << text(s["violations"]["candidate"], "total")
            << ", baseline " << text(s["violations"]["baseline"], "total") << '\n';
  for (auto& f : s["failed"])
    std::cout << "failed: " << f.get<std::string>() << '\n';
}

} // namespace

int replay_command(const settings& s, const command_line& line) {
  auto verb = line.words.size() > 1 ? line.words[1] : std::string{};
  if (verb == "list") {
    expect(line, {}, 2, synopsis);
    json answer = call(s, "/admin/v1/replays", std::nullopt, credential::admin);
    if (s.json_output) {
      print_json(answer);
      return 0;
    }
    std::vector<std::vector<std::string>> rows = {{"ID", "CANDIDATE", "BASELINE", "DATASET", "STATUS", "VERDICT"}};
    for (const json& r : list(answer, "replays"))
      rows.push_back({text(r, "id"), text(r, "candidate"), text(r, "baseline"), text(r, "dataset"), text(r, "status"),
                      r.contains("verdict") ? text(r, "verdict") : "-"});
    print_table(rows);
    return 0;
  }
  json r;
  if (verb == "status") {
    expect(line, {}, 3, synopsis);
    r = call(s, "/admin/v1/replays/" + escape_segment(line.words[2]), std::nullopt, credential::admin);
  } else {
    if (verb.empty())
      throw usage_error("usage: expctl " + synopsis);
    expect(line,
           {"baseline", "dataset", "split", "rows", "max-new-tokens", "max-violations", "tolerance", "no-wait"}, 2,
           synopsis);
    r = call(s, "/admin/v1/replays", request_of(line), credential::admin);
    // Followed to its end unless --no-wait: generating a dataset's plans takes a while.
    while (!line.has("no-wait") && (text(r, "status") == "queued" || text(r, "status") == "running")) {
      std::this_thread::sleep_for(std::chrono::seconds(1));
      r = call(s, "/admin/v1/replays/" + escape_segment(text(r, "id")), std::nullopt, credential::admin);
    }
  }
  if (s.json_output)
    print_json(r);
  else
    print_replay(r);
  // A refused or failed replay is a failed step for a script.
  return text(r, "status") == "failed" || text(r, "verdict") == "refused" ? 1 : 0;
}

} // namespace expd::tools::expctl
