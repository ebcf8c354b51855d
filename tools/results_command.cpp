// expctl results: an experiment's results document as tables (GET
// /v1/experiments/{id}/results, docs/api.md; the methods in docs/statistics.md).

#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tools/cli_errors.hpp"
#include "tools/expctl_command.hpp"
#include "tools/http_client.hpp"

namespace expd::tools::expctl {

using nlohmann::json;

namespace {

// A number of a results document rounded for a table; statuses ("not enough data")
// as they are.
std::string figure(const json& value, bool percent = false) {
  if (!value.is_number()) {
    return value.is_string() ? value.get<std::string>() : "-";
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, percent ? "%.2f%%" : "%.4g", value.get<double>() * (percent ? 100 : 1));
  return buf;
}

std::string figure_interval(const json& value, bool percent = false) {
  if (!value.is_object()) {
    return figure(value);
  }
  return "[" + figure(value["lower"], percent) + ", " + figure(value["upper"], percent) + "]";
}

} // namespace

// results NAME|ID: the id from GET /v1/experiments, then GET /v1/experiments/{id}/results.
int results_command(const settings& s, const command_line& line) {
  expect(line, {"confidence", "control", "correction", "power", "effect", "target-power"}, 2,
         "results NAME|ID [--confidence C] [--control VARIANT] [--correction holm|bh] [--power [--effect E] [--target-power P]]");
  const std::string& wanted = line.words[1];
  std::string id;
  json experiments = call(s, "/v1/experiments", std::nullopt, credential::client);
  for (const json& e : list(experiments, "experiments")) {
    if (text(e, "name") == wanted || text(e, "id") == wanted) {
      id = text(e, "id");
    }
  }
  if (id.empty()) {
    throw server_error("no experiment is named or has the id \"" + wanted + "\"");
  }
  auto query = query_of(line, {"confidence", "control", "correction", "effect"});
  if (auto p = line.value("target-power"))
    query += (query.empty() ? "?" : "&") + std::string{"power="} + escape_segment(*p);
  json answer = call(s, "/v1/experiments/" + id + "/results" + query, std::nullopt, credential::client);
  if (s.json_output) {
    print_json(answer);
    return 0;
  }
  const json& srm = answer.value("srm", json::object());
  std::cout << "experiment  " << text(answer["experiment"], "name") << " (" << id << ")\n"
            << "computed    " << text(answer, "computed_at") << "\n"
            << "control     " << text(answer.value("control", json::object()), "variant_name") << "\n"
            << "confidence  " << text(answer, "confidence") << ", p-values adjusted by "
            << text(answer, "correction") << "\n"
            << "SRM         "
            << (srm.value("mismatch", false) ? "MISMATCH" : text(srm, "status")) << " (p = "
            << figure(srm.value("p_value", json("-"))) << ")\n";
  for (const json& w : answer.value("warnings", json::array())) {
    std::cout << "WARNING: " << w.get<std::string>() << '\n';
  }
  std::cout << '\n';
  // Metrics come goals first, then secondary, guardrails and exploratory; P(BEAT) is
  // the chance to be better by the metric's direction (BETTER), and guardrails read
  // against their margin in VERDICT.
  std::vector<std::vector<std::string>> rows = {{"VARIANT", "EXPOSED", "METRIC", "ROLE", "BETTER", "N",
                                                 "MEAN", "CI", "LIFT", "REL_LIFT", "P", "ADJ_P",
                                                 "ALWAYS_VALID_P", "P(BEAT)", "VERDICT"}};
  for (const json& v : list(answer, "variants")) {
    std::string name = text(v, "variant_name") + (v.value("is_control", false) ? " (control)" : "");
    for (const json& m : list(v, "metrics")) {
      std::vector<std::string> row = {name, text(v, "exposures"),
                                      text(m, "event_type") + "." + text(m, "metric_name"),
                                      text(m, "role"), text(m, "better"),
                                      text(m, "n"), figure(m["mean"]), figure_interval(m["mean_ci"])};
      if (m.contains("vs_control")) {
        const json& c = m["vs_control"];
        auto verdict = c.contains("non_inferiority") ? text(c, "non_inferiority") : text(c, "verdict");
        row.insert(row.end(), {figure(c["absolute_lift"]), figure(c["relative_lift"], true),
                               figure(c["p_value"]), figure(c["adjusted_p_value"]),
                               figure(c["always_valid_p_value"]), figure(c["chance_to_beat"], true),
                               verdict});
      }
      rows.push_back(std::move(row));
    }
  }
  print_table(rows);
  // With a CUPED pre-period: the same comparisons on the adjusted values.
  std::vector<std::vector<std::string>> cuped = {
      {"VARIANT", "METRIC", "VAR_REDUCTION", "THETA", "LIFT", "CI", "P"}};
  for (const json& v : list(answer, "variants")) {
    for (const json& m : list(v, "metrics")) {
      if (!m.contains("vs_control") || !m["vs_control"].contains("cuped")) {
        continue;
      }
      const json& c = m["vs_control"]["cuped"];
      cuped.push_back({text(v, "variant_name"), text(m, "event_type") + "." + text(m, "metric_name"),
                       figure(c["variance_reduction"], true), figure(c["theta"]),
                       figure(c.value("absolute_lift", json(text(c, "status")))),
                       figure_interval(c.value("absolute_ci", json("-"))),
                       figure(c.value("p_value", json("-")))});
    }
  }
  if (cuped.size() > 1) {
    std::cout << "\nCUPED (pre-period covariate, variance-reduced comparison against control)\n";
    print_table(cuped);
  }
  if (line.has("power")) {
    // What the data can detect now, and the units and days the target effect needs.
    std::vector<std::vector<std::string>> power = {
        {"VARIANT", "METRIC", "MDE_REL", "TARGET", "POWER", "NEED_TREATMENT", "NEED_CONTROL", "DAYS_LEFT"}};
    for (const json& v : list(answer, "variants"))
      for (const json& m : list(v, "metrics")) {
        if (!m.contains("vs_control") || !m["vs_control"].contains("power"))
          continue;
        const json& p = m["vs_control"]["power"];
        const json& need = p["units_needed"];
        power.push_back({text(v, "variant_name"), text(m, "event_type") + "." + text(m, "metric_name"),
                         figure(p["mde_relative"], true), figure(p["target_effect"], true), figure(p["power"]),
                         need.is_object() ? figure(need["treatment"]) : figure(need),
                         need.is_object() ? figure(need["control"]) : figure(need), figure(p["days_left"])});
      }
    std::cout << "\nPOWER (normal approximation; units per arm for the target relative effect, days at the traffic so far)\n";
    print_table(power);
  }
  return 0;
}

} // namespace expd::tools::expctl
