// expctl promote: start a candidate model's promotion through an experiment and watch it
// (/admin/v1/promotions, docs/lifecycle.md#promotion).

#include <iostream>
#include <sstream>

#include "tools/cli_errors.hpp"
#include "tools/expctl_command.hpp"
#include "tools/http_client.hpp"

namespace expd::tools::expctl {

using nlohmann::json;

namespace {

const std::string synopsis =
  "promote MODEL/VERSION --experiment E --allocation A [--steps A2,A3] [--hold 24h] [--min-exposures N]"
  " [--guardrail EVENT.METRIC:must_not_decrease|must_not_increase[:TOLERANCE]]... [--baseline V]"
  " [--variant V] [--policy P] | promote status [ID] | promote list";

// A number as the server should see it; the server checks ranges and says which field.
json number_of(const std::string& flag, const std::string& text) {
  std::size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size())
    throw usage_error("--" + flag + " must be a number, not \"" + text + "\"");
  return value;
}

json request_of(const command_line& line) {
  json body{{"model", line.words[1]}};
  auto experiments = line.values("experiment");
  if (experiments.size() != 1)
    throw usage_error("usage: expctl " + synopsis);
  body["experiment"] = experiments[0];
  auto allocation = line.value("allocation");
  if (!allocation)
    throw usage_error("--allocation is required: the candidate's first share, at most 0.1");
  body["allocation"] = number_of("allocation", *allocation);
  if (auto steps = line.value("steps")) {
    json list = json::array();
    std::stringstream in{*steps};
    for (std::string item; std::getline(in, item, ',');)
      list.push_back(number_of("steps", item));
    body["steps"] = list;
  }
  if (auto hold = line.value("hold"))
    body["hold"] = *hold;
  if (auto n = line.value("min-exposures"))
    body["min_exposures"] = number_of("min-exposures", *n);
  for (const char* key : {"baseline", "variant", "policy"})
    if (auto v = line.value(key))
      body[key] = *v;
  json rails = json::array();
  for (auto& g : line.values("guardrail")) {
    auto first = g.find(':');
    if (first == std::string::npos)
      throw usage_error("--guardrail takes EVENT.METRIC:DIRECTION[:TOLERANCE], not \"" + g + "\"");
    auto second = g.find(':', first + 1);
    json rail{{"metric", g.substr(0, first)}, {"direction", g.substr(first + 1, second - first - 1)}};
    if (second != std::string::npos)
      rail["tolerance"] = number_of("guardrail", g.substr(second + 1));
    rails.push_back(rail);
  }
  if (!rails.empty())
    body["guardrails"] = rails;
  return body;
}

void print_promotion(const json& p) {
  std::vector<std::vector<std::string>> rows = {
    {"id", text(p, "id")},
    {"model", text(p, "model")},
    {"experiment", text(p, "experiment") + " (variant " + text(p, "variant") + ", baseline " + text(p, "baseline") + ")"},
    {"status", text(p, "status")},
    {"allocation", text(p, "allocation") + " (step " + text(p, "step") + " of " + text(p, "steps") + ")"},
    {"last decision", text(p, "last_decision")},
    {"checked at", text(p, "checked_at")},
  };
  print_table(rows);
  if (p.contains("last_reading") && p["last_reading"].contains("guardrails")) {
    std::vector<std::vector<std::string>> rails = {{"GUARDRAIL", "DIRECTION", "STATUS", "REL_LIFT", "ALWAYS_VALID_P"}};
    for (auto& g : p["last_reading"]["guardrails"])
      rails.push_back({text(g, "metric"), text(g, "direction"), text(g, "status"), text(g, "relative_lift"),
                       text(g, "always_valid_p_value")});
    std::cout << '\n';
    print_table(rails);
  }
  if (p.contains("events")) {
    std::vector<std::vector<std::string>> events = {{"AT", "STEP", "ALLOCATION", "REASON"}};
    for (auto& e : p["events"])
      events.push_back({text(e, "at"), text(e, "kind"), text(e, "allocation"), text(e, "reason")});
    std::cout << '\n';
    print_table(events);
  }
}

int list_promotions(const settings& s, bool active_only) {
  json answer = call(s, "/admin/v1/promotions", std::nullopt, credential::admin);
  if (s.json_output) {
    print_json(answer);
    return 0;
  }
  std::vector<std::vector<std::string>> rows = {{"ID", "MODEL", "EXPERIMENT", "STATUS", "ALLOCATION", "LAST_DECISION"}};
  for (const json& p : list(answer, "promotions"))
    if (!active_only || text(p, "status") == "active")
      rows.push_back({text(p, "id"), text(p, "model"), text(p, "experiment"), text(p, "status"),
                      text(p, "allocation"), text(p, "last_decision")});
  print_table(rows);
  return 0;
}

} // namespace

int promote_command(const settings& s, const command_line& line) {
  auto verb = line.words.size() > 1 ? line.words[1] : std::string{};
  if (verb == "list") {
    expect(line, {}, 2, synopsis);
    return list_promotions(s, false);
  }
  if (verb == "status") {
    expect(line, {}, line.words.size() == 2 ? 2 : 3, synopsis);
    if (line.words.size() == 2)
      return list_promotions(s, true);
    json p = call(s, "/admin/v1/promotions/" + escape_segment(line.words[2]), std::nullopt, credential::admin);
    if (s.json_output)
      print_json(p);
    else
      print_promotion(p);
    return 0;
  }
  if (verb.empty())
    throw usage_error("usage: expctl " + synopsis);
  expect(line, {"experiment", "allocation", "steps", "hold", "min-exposures", "guardrail", "baseline", "variant", "policy"},
         2, synopsis);
  json p = call(s, "/admin/v1/promotions", request_of(line), credential::admin);
  if (s.json_output)
    print_json(p);
  else
    print_promotion(p);
  return 0;
}

} // namespace expd::tools::expctl
