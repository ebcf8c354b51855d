#include "core/replay.hpp"

#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "core/json_fields.hpp"

namespace expd::core {

using nlohmann::json;

namespace {

std::string figure(double x) {
  char text[32];
  std::snprintf(text, sizeof text, "%.4g", x);
  return text;
}

double number_in(const json& obj, const std::string& path, const char* key, double fallback, double low,
                 double high, const char* rule) {
  auto* v = optional_member(obj, key);
  if (v == nullptr)
    return fallback;
  if (!v->is_number() || !(v->get<double>() >= low && v->get<double>() <= high))
    throw field_error(member_path(path, key), std::string(key) + " must be " + rule);
  return v->get<double>();
}

std::uint64_t whole_in(const json& obj, const std::string& path, const char* key, std::uint64_t fallback,
                       std::uint64_t low, std::uint64_t high) {
  auto* v = optional_member(obj, key);
  if (v == nullptr)
    return fallback;
  if (!v->is_number_integer() || v->get<std::int64_t>() < static_cast<std::int64_t>(low)
      || v->get<std::uint64_t>() > high)
    throw field_error(member_path(path, key), std::string(key) + " must be a whole number from " + std::to_string(low)
                                                + " to " + std::to_string(high));
  return v->get<std::uint64_t>();
}

model_reference model_at(const json& body, const char* key) {
  auto& text = required_string(body, "", key);
  auto ref = parse_model_reference(text);
  if (!ref)
    throw field_error(key, std::string(key) + " must be MODEL/VERSION (planner_model/5) or MODEL@ALIAS "
                                              "(planner_model@production), not \"" + text + "\"");
  return *ref;
}

replay_criteria criteria_of(const json& body) {
  replay_criteria c;
  auto* criteria = optional_member(body, "criteria");
  if (criteria == nullptr)
    return c;
  if (!criteria->is_object())
    throw field_error("criteria", "criteria must be an object");
  require_known_fields(*criteria, "criteria", {"max_violations", "alignment_tolerance", "edit_distance_tolerance",
                                               "variety_tolerance", "leftovers_tolerance"});
  c.max_violations = whole_in(*criteria, "criteria", "max_violations", c.max_violations, 0, 1u << 30);
  const char* rule = "a number from 0 to 1";
  c.alignment_tolerance = number_in(*criteria, "criteria", "alignment_tolerance", c.alignment_tolerance, 0, 1, rule);
  c.edit_distance_tolerance
    = number_in(*criteria, "criteria", "edit_distance_tolerance", c.edit_distance_tolerance, 0, 1, rule);
  c.variety_tolerance = number_in(*criteria, "criteria", "variety_tolerance", c.variety_tolerance, 0, 1, rule);
  c.leftovers_tolerance = number_in(*criteria, "criteria", "leftovers_tolerance", c.leftovers_tolerance, 0, 1, rule);
  return c;
}

} // namespace

std::string model_reference::text() const {
  return version > 0 ? name + "/" + std::to_string(version) : name + "@" + alias;
}

std::optional<model_reference> parse_model_reference(const std::string& text) {
  auto at = text.find_first_of("/@");
  if (at == std::string::npos || at == 0 || at + 1 == text.size())
    return std::nullopt;
  model_reference ref;
  ref.name = text.substr(0, at);
  auto rest = text.substr(at + 1);
  try {
    check_identifier(ref.name, "", "model", 256);
    check_identifier(rest, "", "version", 64);
  } catch (const field_error&) {
    return std::nullopt;
  }
  if (text[at] == '@') {
    ref.alias = rest;
    return ref;
  }
  if (rest.size() > 9 || rest.find_first_not_of("0123456789") != std::string::npos || rest[0] == '0')
    return std::nullopt;
  ref.version = std::stoi(rest);
  return ref;
}

replay_request parse_replay_request(const json& body) {
  if (!body.is_object())
    throw field_error("body", "the body must be a JSON object");
  require_known_fields(body, "", {"candidate", "baseline", "dataset", "split", "max_rows", "max_new_tokens",
                                  "bootstrap", "criteria"});
  replay_request r;
  r.candidate = model_at(body, "candidate");
  r.baseline = model_at(body, "baseline");
  if (r.candidate.name == r.baseline.name && r.candidate.version > 0 && r.candidate.version == r.baseline.version)
    throw field_error("baseline", "the baseline must be another version than the candidate");
  r.dataset = required_string(body, "", "dataset");
  auto slash = r.dataset.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == r.dataset.size())
    throw field_error("dataset", "dataset must be NAME/VERSION, as expctl dataset list shows it (planner/2025-12-01)");
  check_identifier(r.dataset.substr(0, slash), "dataset", "dataset name", 128);
  check_identifier(r.dataset.substr(slash + 1), "dataset", "dataset version", 64);
  if (auto split = optional_string(body, "", "split", 16)) {
    if (*split != "validation" && *split != "train" && *split != "all")
      throw field_error("split", "split must be validation, train or all");
    r.split = *split;
  }
  r.max_rows = static_cast<std::uint32_t>(whole_in(body, "", "max_rows", r.max_rows, 1, 1000000));
  r.max_new_tokens = static_cast<std::uint32_t>(whole_in(body, "", "max_new_tokens", r.max_new_tokens, 1, 4096));
  if (auto* b = optional_member(body, "bootstrap")) {
    if (!b->is_object())
      throw field_error("bootstrap", "bootstrap must be an object");
    require_known_fields(*b, "bootstrap", {"resamples", "confidence", "seed"});
    r.resamples = static_cast<std::uint32_t>(whole_in(*b, "bootstrap", "resamples", r.resamples, 100, 100000));
    r.confidence = number_in(*b, "bootstrap", "confidence", r.confidence, 0.5, 0.999, "a number from 0.5 to 0.999");
    r.seed = whole_in(*b, "bootstrap", "seed", r.seed, 0, std::uint64_t{1} << 53);
  }
  r.criteria = criteria_of(body);
  return r;
}

json replay_request_json(const replay_request& r) {
  return {{"candidate", r.candidate.text()},
          {"baseline", r.baseline.text()},
          {"dataset", r.dataset},
          {"split", r.split},
          {"max_rows", r.max_rows},
          {"max_new_tokens", r.max_new_tokens},
          {"bootstrap", {{"resamples", r.resamples}, {"confidence", r.confidence}, {"seed", r.seed}}},
          {"criteria",
           {{"max_violations", r.criteria.max_violations},
            {"alignment_tolerance", r.criteria.alignment_tolerance},
            {"edit_distance_tolerance", r.criteria.edit_distance_tolerance},
            {"variety_tolerance", r.criteria.variety_tolerance},
            {"leftovers_tolerance", r.criteria.leftovers_tolerance}}}};
}

replay_verdict judge_replay(const std::vector<plan_scores>& candidate, const std::vector<plan_scores>& baseline,
                            const replay_request& request) {
  if (candidate.empty() || candidate.size() != baseline.size())
    throw std::invalid_argument("judge_replay: the candidate's and baseline's rows must be the same, and some");
  replay_verdict v;
  v.rows = candidate.size();
  auto add = [](plan_violations& to, const plan_violations& from) {
    to.unreadable += from.unreadable;
    to.unknown_recipe += from.unknown_recipe;
    to.diet += from.diet;
    to.too_long += from.too_long;
    to.repeated += from.repeated;
    to.wrong_days += from.wrong_days;
  };
  for (std::size_t i = 0; i < v.rows; ++i) {
    add(v.candidate_violations, candidate[i].violations);
    add(v.baseline_violations, baseline[i].violations);
  }
  const auto& c = request.criteria;
  const std::optional<double> tolerances[]
    = {c.alignment_tolerance, std::nullopt, c.edit_distance_tolerance, c.variety_tolerance, c.leftovers_tolerance};
  const auto& names = replay_metric_names();
  for (std::size_t m = 0; m < names.size(); ++m) {
    std::vector<double> cs(v.rows), bs(v.rows);
    for (std::size_t i = 0; i < v.rows; ++i) {
      cs[i] = metric_value(candidate[i], m);
      bs[i] = metric_value(baseline[i], m);
    }
    replay_metric metric{names[m], 0, 0, paired_bootstrap(cs, bs, request.resamples, request.confidence,
                                                          request.seed + m),
                         tolerances[m], true};
    for (std::size_t i = 0; i < v.rows; ++i) {
      metric.candidate += cs[i];
      metric.baseline += bs[i];
    }
    metric.candidate /= static_cast<double>(v.rows);
    metric.baseline /= static_cast<double>(v.rows);
    if (metric.tolerance && metric.difference.estimate < -*metric.tolerance - 1e-12) {
      metric.passed = false;
      v.failed.push_back(metric.name + " fell by " + figure(-metric.difference.estimate) + " (candidate "
                         + figure(metric.candidate) + ", baseline " + figure(metric.baseline) + ", "
                         + figure(request.confidence * 100) + "% interval of the difference "
                         + figure(metric.difference.low) + " to " + figure(metric.difference.high)
                         + "), more than its tolerance " + figure(*metric.tolerance));
    }
    v.metrics.push_back(std::move(metric));
  }
  if (v.candidate_violations.total() > c.max_violations)
    v.failed.insert(v.failed.begin(), "the candidate's plans broke " + std::to_string(v.candidate_violations.total())
                                        + " constraints in " + std::to_string(v.rows) + " rows (at most "
                                        + std::to_string(c.max_violations) + " allowed; the baseline's broke "
                                        + std::to_string(v.baseline_violations.total()) + ")");
  return v;
}

json violations_json(const plan_violations& v) {
  return {{"total", v.total()},         {"unreadable", v.unreadable}, {"unknown_recipe", v.unknown_recipe},
          {"diet", v.diet},             {"too_long", v.too_long},     {"repeated", v.repeated},
          {"wrong_days", v.wrong_days}};
}

json replay_verdict_json(const replay_verdict& v) {
  auto metrics = json::array();
  for (auto& m : v.metrics)
    metrics.push_back({{"name", m.name},
                       {"candidate", m.candidate},
                       {"baseline", m.baseline},
                       {"difference", m.difference.estimate},
                       {"difference_low", m.difference.low},
                       {"difference_high", m.difference.high},
                       {"tolerance", m.tolerance ? json(*m.tolerance) : json(nullptr)},
                       {"passed", m.passed}});
  return {{"verdict", v.accepted() ? "accepted" : "refused"},
          {"rows", v.rows},
          {"metrics", std::move(metrics)},
          {"violations", {{"candidate", violations_json(v.candidate_violations)},
                          {"baseline", violations_json(v.baseline_violations)}}},
          {"failed", v.failed}};
}

} // namespace expd::core
