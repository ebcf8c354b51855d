#include "core/experiment_results.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>
#include <tuple>

#include "core/cuped.hpp"
#include "core/field_error.hpp"
#include "core/multiple_testing.hpp"
#include "core/power.hpp"
#include "core/query_string.hpp"
#include "core/proportions.hpp"
#include "core/rfc3339.hpp"
#include "core/srm.hpp"
#include "core/statistics.hpp"

namespace expd::core {

namespace {

using json = nlohmann::json;

constexpr const char* not_aggregated = "not aggregated yet";

constexpr const char* peeking_text =
  "p_value is a fixed-horizon p-value: it is valid once, at a sample size chosen in "
  "advance. Looking at it while the experiment runs and stopping when it is small "
  "produces false winners; the always-valid p-value, which allows that, is not "
  "available here.";

// A number, or the text of the status that says why it is not there.
json value_or_status(const std::optional<double>& v, statistic_status s) {
  if (v && std::isfinite(*v))
    return *v;
  return std::string{s == statistic_status::ok ? "not available" : to_string(s)};
}

json interval_or_status(const std::optional<interval>& v, statistic_status s) {
  if (v && std::isfinite(v->lower) && std::isfinite(v->upper))
    return json{{"lower", v->lower}, {"upper", v->upper}};
  return value_or_status(std::nullopt, s);
}

json probability_json(const probability& p) {
  return value_or_status(p.value, p.status);
}

moments to_moments(const metric_moments& m) {
  return {static_cast<double>(m.units), m.sum, m.sum_sq};
}

struct metric_key {
  std::string event_type;
  std::string metric_name;
  per_unit_rule rule = per_unit_rule::sum;
  metric_role role = metric_role::goal;
  metric_direction better = metric_direction::higher;
  double margin = 0; ///< guardrails'

  bool operator<(const metric_key& o) const {
    return std::tie(role, event_type, metric_name) < std::tie(o.role, o.event_type, o.metric_name);
  }
};

// Every metric any variant has, with its role and direction, goals first.
std::vector<metric_key> metric_keys(const experiment_aggregates& a) {
  std::set<metric_key> keys;
  for (auto& v : a.variants)
    for (auto& m : v.metrics) {
      metric_key k{m.event_type, m.metric_name, m.rule};
      if (auto* spec = a.roles.find(m.event_type, m.metric_name)) {
        k.role = spec->role;
        k.margin = spec->margin;
      } else if (!a.roles.empty()) {
        k.role = metric_role::exploratory;
      }
      metric_ref ref{m.event_type, m.metric_name};
      if (std::find(a.lower_is_better.begin(), a.lower_is_better.end(), ref) != a.lower_is_better.end())
        k.better = metric_direction::lower;
      keys.insert(std::move(k));
    }
  return {keys.begin(), keys.end()};
}

// A variant's moments of a metric. A variant with no row for a sum or any metric had
// no unit send one: its exposed units are all zeros. For a mean metric it has no unit.
metric_moments find_metric(const variant_aggregates& v, const metric_key& key) {
  for (auto& m : v.metrics)
    if (m.event_type == key.event_type && m.metric_name == key.metric_name)
      return m;
  metric_moments zero;
  zero.event_type = key.event_type;
  zero.metric_name = key.metric_name;
  zero.rule = key.rule;
  if (key.rule != per_unit_rule::mean)
    zero.units = v.exposures;
  return zero;
}

std::size_t pick_control(const experiment_aggregates& a, const results_options& o) {
  if (o.control) {
    for (std::size_t i = 0; i < a.variants.size(); ++i)
      if (a.variants[i].variant_name == *o.control || a.variants[i].variant_id.str() == *o.control)
        return i;
    throw field_error("control", "no variant of this experiment is named or has the id \""
                                   + *o.control + "\"");
  }
  for (std::size_t i = 0; i < a.variants.size(); ++i)
    if (a.variants[i].variant_name == "control")
      return i;
  return 0;
}

// Observed against expected units per variant; a variant at allocation 0 takes no part.
json srm_json(const experiment_aggregates& a, double threshold) {
  std::vector<double> units;
  std::vector<double> allocations;
  for (auto& v : a.variants) {
    units.push_back(static_cast<double>(v.exposures));
    allocations.push_back(v.allocation);
  }
  auto check = check_sample_ratio(units, allocations, threshold);
  json observed = json::array();
  for (std::size_t i = 0; i < a.variants.size(); ++i) {
    auto& v = a.variants[i];
    bool checked = i < check.checked.size() && check.checked[i];
    json line{{"variant_name", v.variant_name}, {"exposures", v.exposures},
              {"allocation", v.allocation}, {"checked", checked}};
    if (checked)
      line["expected"] = check.expected[i];
    observed.push_back(std::move(line));
  }
  return {{"status", to_string(check.status)},
          {"mismatch", check.mismatch},
          {"p_value", value_or_status(check.p_value, check.status)},
          {"chi_square", value_or_status(check.chi_square, check.status)},
          {"threshold", threshold},
          {"variants", std::move(observed)}};
}

std::string srm_warning(const json& srm) {
  return "SAMPLE RATIO MISMATCH: units reached the variants in a split that differs from "
         "the allocations (chi-square p = "
         + srm["p_value"].dump()
         + "). Assignment or logging is broken for some variant; do not trust any result "
           "of this experiment until that is explained.";
}

bool has_covariate(const metric_moments& m) {
  return m.units_x && m.sum_x && m.sum_x_sq && m.sum_xy;
}

// The mSPRT mixture variance for one metric: the option, or (0.1 m_c)^2, or the
// control's variance, or the treatment's (a control of all zeros); 0 when none is
// there, and then the comparison has no always-valid p-value (zero variance).
double tau_sq_for(const moments& treatment, const moments& control, const results_options& o) {
  if (o.msprt_tau_sq)
    return *o.msprt_tau_sq;
  auto c = summarize(control, o.confidence);
  if (c.mean && *c.mean != 0)
    return 0.01 * *c.mean * *c.mean;
  if (c.variance && *c.variance > 0)
    return *c.variance;
  return summarize(treatment, o.confidence).variance.value_or(0);
}

// The mSPRT p-value at `tau_sq`; zero variance when tau_sq_for found no variance to
// take it from.
probability always_valid(const moments& t, const moments& c, double tau_sq) {
  return tau_sq > 0 ? msprt_p_value(t, c, tau_sq) : probability{statistic_status::zero_variance, std::nullopt};
}

// A comparison's p-value, where its adjusted value goes, and its family.
struct tested {
  json* comparison;
  double p_value;
  metric_role family;
  metric_direction better;
};

// The absolute difference of a mean_comparison or proportion_comparison.
template <class Comparison>
void write_difference(json& out, const Comparison& x) {
  out["status"] = to_string(x.status);
  out["absolute_lift"] = value_or_status(x.difference, x.status);
  out["absolute_ci"] = interval_or_status(x.difference_ci, x.status);
  out["p_value"] = value_or_status(x.p_value, x.status);
}

// A guardrail against its margin, from the relative lift's interval: "non-inferior"
// when the whole interval is on the good side of -margin, "inferior" when it is all on
// the bad side, else "inconclusive"; the status text when there is no interval.
std::string non_inferiority(const metric_key& key, const std::optional<interval>& ci,
                            statistic_status status) {
  if (!ci)
    return std::string{to_string(status == statistic_status::ok ? statistic_status::not_enough_data : status)};
  // In "good" units: a rise is good for higher, a fall for lower.
  bool lower = key.better == metric_direction::lower;
  double worst = lower ? -ci->upper : ci->lower, best = lower ? -ci->lower : ci->upper;
  if (worst > -key.margin)
    return "non-inferior";
  if (best < -key.margin)
    return "inferior";
  return "inconclusive";
}

// How much the data so far can detect, and how many units and days detecting the
// target effect takes at the traffic so far (units of this metric per day since the
// experiment started, up to the aggregation).
json power_json(const metric_key& key, const moments& t, const moments& c, double allocation_ratio,
                double days_running, const results_options& o) {
  double alpha = 1 - o.confidence;
  auto mde = minimum_detectable_effect(t, c, alpha, o.power);
  json out{{"power", o.power},
           {"target_effect", o.target_effect},
           {"mde_absolute", value_or_status(mde.absolute, mde.status)},
           {"mde_relative", value_or_status(mde.relative, mde.status)}};
  auto size = key.rule == per_unit_rule::any
                ? sample_size_for_conversion(c, o.target_effect, alpha, o.power, allocation_ratio)
                : sample_size_for_mean(c, o.target_effect, alpha, o.power, allocation_ratio);
  out["status"] = to_string(size.status);
  if (size.status != statistic_status::ok) {
    out["units_needed"] = to_string(size.status);
    out["days_left"] = to_string(size.status);
    return out;
  }
  auto needed_c = std::ceil(*size.control_units), needed_t = std::ceil(*size.treatment_units);
  out["units_needed"] = {{"control", needed_c}, {"treatment", needed_t}};
  if (days_running <= 0) {
    out["days_left"] = "not started";
    return out;
  }
  auto days = days_left({{needed_t, t.n, t.n / days_running}, {needed_c, c.n, c.n / days_running}});
  out["days_left"] = value_or_status(days.days, days.status);
  return out;
}

json compare(const metric_key& key, const moments& t, const moments& c,
             const results_options& o) {
  json out;
  bool lower = key.better == metric_direction::lower;
  auto welch = welch_test(t, c, o.confidence);
  bool conversion = key.rule == per_unit_rule::any;
  // Chance to beat is the chance to be better: for lower-is-better, the control beating
  // the treatment on the raw scale.
  auto& above = lower ? c : t;
  auto& below = lower ? t : c;
  if (conversion) {
    auto prop = two_proportion_test(t, c, o.confidence);
    out["test"] = "two-proportion z-test";
    write_difference(out, prop);
    out["chance_to_beat"] = probability_json(conversion_chance_to_beat(above, below));
    out["chance_to_beat_method"] = "beta posteriors, uniform priors";
  } else {
    out["test"] = "welch t-test";
    write_difference(out, welch);
    out["chance_to_beat"] = probability_json(chance_to_beat(above, below));
    out["chance_to_beat_method"] = "normal approximation";
  }
  out["relative_status"] = to_string(welch.relative_status);
  out["relative_lift"] = value_or_status(welch.relative_lift, welch.relative_status);
  out["relative_ci"] = interval_or_status(welch.relative_ci, welch.relative_status);
  if (key.role == metric_role::guardrail) {
    out["margin"] = key.margin;
    out["non_inferiority"] = non_inferiority(key, welch.relative_ci, welch.relative_status);
  }
  auto tau_sq = tau_sq_for(t, c, o);
  out["always_valid_p_value"] = probability_json(always_valid(t, c, tau_sq));
  out["msprt_tau_sq"] = tau_sq;
  if (out["p_value"].is_number() && !out["always_valid_p_value"].is_number())
    out["peeking_warning"] = peeking_text;
  return out;
}

// The comparison on the CUPED-adjusted values: every number the unadjusted one has,
// relative to the adjusted control mean (the unadjusted mean shifted by theta times the
// control's chance deviation in x), its mSPRT on the adjusted variances with the
// unadjusted comparison's tau^2.
json cuped_json(const metric_key& key, const std::vector<cuped_arm>& arms, std::size_t t,
                std::size_t c, const cuped_adjustment& adj, double tau_sq, const results_options& o) {
  json out{{"status", to_string(adj.status)},
           {"theta", value_or_status(adj.theta, adj.status)},
           {"variance_reduction", value_or_status(adj.variance_reduction, adj.status)}};
  if (adj.status != statistic_status::ok || adj.adjusted.size() != arms.size())
    return out;
  auto& at = adj.adjusted[t];
  auto& ac = adj.adjusted[c];
  auto w = welch_test(at, ac, o.confidence);
  bool lower = key.better == metric_direction::lower;
  out["test"] = "welch t-test on CUPED-adjusted values";
  out["absolute_lift"] = value_or_status(w.difference, w.status);
  out["absolute_ci"] = interval_or_status(w.difference_ci, w.status);
  out["p_value"] = value_or_status(w.p_value, w.status);
  out["relative_status"] = to_string(w.relative_status);
  out["relative_lift"] = value_or_status(w.relative_lift, w.relative_status);
  out["relative_ci"] = interval_or_status(w.relative_ci, w.relative_status);
  out["chance_to_beat"] = probability_json(lower ? chance_to_beat(ac, at) : chance_to_beat(at, ac));
  out["always_valid_p_value"] = probability_json(always_valid(at, ac, tau_sq));
  if (key.role == metric_role::guardrail)
    out["non_inferiority"] = non_inferiority(key, w.relative_ci, w.relative_status);
  return out;
}

// "better" or "worse" when significant after adjustment, by the metric's direction;
// else "inconclusive".
std::string verdict(const json& cmp, metric_direction better) {
  if (!cmp.value("significant", false) || !cmp["absolute_lift"].is_number())
    return "inconclusive";
  auto lift = cmp["absolute_lift"].get<double>();
  bool good = better == metric_direction::lower ? lift < 0 : lift > 0;
  return good ? "better" : "worse";
}

// One comparison's reading after the correction: its adjusted p-value, whether that is
// significant, and the verdict.
void write_adjusted(json& cmp, double adjusted, metric_direction better, const results_options& o) {
  cmp["adjusted_p_value"] = adjusted;
  cmp["significant"] = adjusted < 1 - o.confidence;
  cmp["verdict"] = verdict(cmp, better);
}

// Holm or BH within one role's family; the comparisons without a p-value say why not.
// Returns how many comparisons the family holds.
std::size_t adjust(std::vector<tested>& all, metric_role family, const results_options& o) {
  std::vector<tested*> members;
  std::vector<double> ps;
  for (auto& x : all)
    if (x.family == family) {
      members.push_back(&x);
      ps.push_back(x.p_value);
    }
  auto correct = [&o](const std::vector<double>& values) {
    return o.correction == correction_method::holm ? holm(values) : benjamini_hochberg(values);
  };
  auto adjusted = correct(ps);
  for (std::size_t i = 0; i < members.size(); ++i) {
    auto& cmp = *members[i]->comparison;
    if (adjusted.status != statistic_status::ok) {
      cmp["adjusted_p_value"] = to_string(adjusted.status);
      cmp["verdict"] = "inconclusive";
      continue;
    }
    write_adjusted(cmp, adjusted.values[i], members[i]->better, o);
  }
  // The CUPED comparisons as one more reading of the same family: each member's CUPED
  // p-value where it has one, its own p-value where not, adjusted together.
  std::vector<json*> cuped(members.size(), nullptr);
  std::vector<double> cuped_ps = ps;
  bool any_cuped = false;
  for (std::size_t i = 0; i < members.size(); ++i) {
    auto& cmp = *members[i]->comparison;
    if (auto it = cmp.find("cuped"); it != cmp.end() && (*it)["p_value"].is_number()) {
      cuped[i] = &*it;
      cuped_ps[i] = (*it)["p_value"].get<double>();
      any_cuped = true;
    }
  }
  auto cuped_adjusted = any_cuped ? correct(cuped_ps) : adjusted_p_values{};
  for (std::size_t i = 0; i < members.size(); ++i) {
    if (cuped[i] == nullptr || cuped_adjusted.status != statistic_status::ok)
      continue;
    write_adjusted(*cuped[i], cuped_adjusted.values[i], members[i]->better, o);
  }
  return members.size();
}

// What each number of the document was computed with (docs/statistics.md).
json methods_json(const results_options& o) {
  return {
    {"mean_metrics", {{"test", "welch t-test, Welch-Satterthwaite degrees of freedom"},
                      {"interval", "t interval of the mean"}}},
    {"conversion_metrics", {{"test", "two-proportion z-test, unpooled variance (as its Wald interval)"},
                            {"interval", "Wilson score interval of the rate"}}},
    {"relative_lift", "delta method, t quantile on the Welch-Satterthwaite degrees of freedom"},
    {"chance_to_beat", {{"mean_metrics", "normal approximation, flat prior"},
                        {"conversion_metrics", "beta posteriors, uniform priors"},
                        {"direction", "the chance the treatment is better: for better=lower, lower"}}},
    {"always_valid_p_value", "mSPRT, normal mixture (Johari, Pekelis and Walsh 2017)"},
    {"correction", {{"method", to_string(o.correction)},
                    {"families", "each role (goal, secondary, guardrail, exploratory) apart"}}},
    {"guardrail", "non-inferiority: the relative lift's interval against -margin in the bad direction"},
    {"cuped", "pooled within-arm regression slope (Deng, Xu, Kohavi and Walker 2013)"},
    {"srm", "Pearson chi-square goodness of fit, variants at allocation 0 left out"},
    {"power", "normal approximation, two-sided at 1 - confidence, units per arm for the target relative "
              "effect; days left at each arm's units per day since the start"},
  };
}

double parse_double(const std::string& text, const std::string& field, double lo, double hi,
                    const char* range) {
  double v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size() || !std::isfinite(v) || v < lo
      || v > hi)
    throw field_error(field, field + " must be a number " + range);
  return v;
}

unix_micros parse_time(const std::string& text, const std::string& field) {
  auto t = parse_rfc3339(text);
  if (!t)
    throw field_error(field, field + " must be an RFC 3339 date-time (2025-01-01T00:00:00Z)");
  return *t;
}

} // namespace

std::string_view to_string(correction_method m) noexcept {
  return m == correction_method::holm ? "holm" : "bh";
}

results_options parse_results_query(std::string_view query_string) {
  results_options o;
  for (auto& [key, value] :
       parse_query_parameters(query_string, {"confidence", "control", "correction", "tau_sq", "effect", "power"})) {
    if (key == "confidence") {
      o.confidence = parse_double(value, key, 0.5, 0.999, "from 0.5 to 0.999");
    } else if (key == "control") {
      if (value.empty())
        throw field_error(key, "control must name a variant (its name or id)");
      o.control = value;
    } else if (key == "correction") {
      if (value == "holm")
        o.correction = correction_method::holm;
      else if (value == "bh")
        o.correction = correction_method::benjamini_hochberg;
      else
        throw field_error(key, "correction must be holm or bh");
    } else if (key == "effect") {
      o.target_effect = parse_double(value, key, 0.001, 10, "from 0.001 to 10 (a relative effect: 0.05 is 5%)");
    } else if (key == "power") {
      o.power = parse_double(value, key, 0.5, 0.999, "from 0.5 to 0.999");
    } else {
      o.msprt_tau_sq = parse_double(value, key, 1e-300, 1e300, "above 0");
    }
  }
  return o;
}

json experiment_results(const experiment_aggregates& a, const results_options& o) {
  json doc;
  doc["experiment"] = {{"id", a.experiment_id.str()}, {"name", a.experiment_name}};
  doc["computed_at"] = a.computed_at ? json(format_rfc3339(*a.computed_at)) : json(not_aggregated);
  doc["confidence"] = o.confidence;
  doc["correction"] = to_string(o.correction);
  json warnings = json::array();
  if (a.variants.empty()) {
    doc["status"] = "no variants";
    doc["warnings"] = std::move(warnings);
    doc["variants"] = json::array();
    doc["metrics"] = json::array();
    return doc;
  }
  auto control = pick_control(a, o);
  auto& cv = a.variants[control];
  doc["status"] = a.computed_at ? "ok" : not_aggregated;
  if (!a.computed_at)
    warnings.push_back("This experiment has not been aggregated yet: the aggregator writes "
                       "its first results on its next pass (or POST /admin/v1/aggregate).");
  doc["control"] = {{"variant_id", cv.variant_id.str()}, {"variant_name", cv.variant_name}};
  doc["srm"] = srm_json(a, o.srm_threshold);
  if (doc["srm"]["mismatch"].get<bool>())
    warnings.push_back(srm_warning(doc["srm"]));
  std::uint64_t unheld = 0;
  for (auto& v : a.variants)
    unheld += v.unheld_events;
  doc["data_quality"] = {{"unheld_events", unheld}};
  if (unheld > 0)
    warnings.push_back(std::to_string(unheld) + " events credit a variant that their unit was "
                       "not assigned (a client sending the wrong variant, or a forged claim); "
                       "by default they are left out of these results (--aggregate-unheld). "
                       "Per variant: variants[].unheld_events.");

  auto keys = metric_keys(a);
  json metrics = json::array();
  for (auto& k : keys) {
    json line{{"event_type", k.event_type},
              {"metric_name", k.metric_name},
              {"rule", to_string(k.rule)},
              {"role", to_string(k.role)},
              {"better", to_string(k.better)},
              {"test", k.rule == per_unit_rule::any ? "two-proportion z-test" : "welch t-test"}};
    if (k.role == metric_role::guardrail)
      line["margin"] = k.margin;
    metrics.push_back(std::move(line));
  }
  doc["metrics"] = std::move(metrics);

  json variants = json::array();
  for (std::size_t i = 0; i < a.variants.size(); ++i) {
    auto& v = a.variants[i];
    variants.push_back({{"variant_id", v.variant_id.str()},
                        {"variant_name", v.variant_name},
                        {"allocation", v.allocation},
                        {"exposures", v.exposures},
                        {"unheld_events", v.unheld_events},
                        {"is_control", i == control},
                        {"metrics", json::array()}});
  }
  double days_running = a.started_at && a.computed_at && *a.computed_at > *a.started_at
                          ? static_cast<double>(*a.computed_at - *a.started_at) / 86400e6
                          : 0.0;
  bool peeking = false;
  for (auto& k : keys) {
    std::vector<metric_moments> per_variant;
    for (auto& v : a.variants)
      per_variant.push_back(find_metric(v, k));
    std::vector<cuped_arm> arms;
    if (std::all_of(per_variant.begin(), per_variant.end(), has_covariate))
      for (auto& m : per_variant)
        arms.push_back({to_moments(m),
                        {static_cast<double>(*m.units_x), *m.sum_x, *m.sum_x_sq},
                        *m.sum_xy});
    std::optional<cuped_adjustment> adj;
    if (!arms.empty())
      adj = cuped(arms);
    auto c = to_moments(per_variant[control]);
    for (std::size_t i = 0; i < per_variant.size(); ++i) {
      auto& m = per_variant[i];
      auto s = k.rule == per_unit_rule::any ? summarize_conversion(to_moments(m), o.confidence)
                                            : summarize(to_moments(m), o.confidence);
      json entry{{"event_type", k.event_type},
                 {"metric_name", k.metric_name},
                 {"rule", to_string(k.rule)},
                 {"role", to_string(k.role)},
                 {"better", to_string(k.better)},
                 {"n", m.units},
                 {"units_with_events", m.units_with_events},
                 {"events", m.events},
                 {"status", to_string(s.status)},
                 {"mean", value_or_status(s.mean, s.status)},
                 {"mean_ci", interval_or_status(s.mean_ci, s.status)}};
      if (i != control) {
        auto cmp = compare(k, to_moments(m), c, o);
        auto& tv = a.variants[i];
        double ratio = tv.allocation > 0 && cv.allocation > 0 ? tv.allocation / cv.allocation : 1.0;
        cmp["power"] = power_json(k, to_moments(m), c, ratio, days_running, o);
        if (adj)
          cmp["cuped"] = cuped_json(k, arms, i, control, *adj, cmp["msprt_tau_sq"].get<double>(), o);
        peeking = peeking || cmp.contains("peeking_warning");
        entry["vs_control"] = std::move(cmp);
      }
      variants[i]["metrics"].push_back(std::move(entry));
    }
  }
  // Pointers into `variants` are taken once it no longer grows; each variant's metrics
  // are in the order of `keys`.
  std::vector<tested> all;
  for (auto& v : variants)
    for (std::size_t j = 0; j < keys.size(); ++j) {
      auto& m = v["metrics"][j];
      if (!m.contains("vs_control"))
        continue;
      auto& cmp = m["vs_control"];
      if (cmp["p_value"].is_number()) {
        all.push_back({&cmp, cmp["p_value"].get<double>(), keys[j].role, keys[j].better});
      } else {
        cmp["adjusted_p_value"] = cmp["p_value"];
        cmp["verdict"] = "inconclusive";
      }
    }
  json families = json::object();
  for (auto role : {metric_role::goal, metric_role::secondary, metric_role::guardrail, metric_role::exploratory})
    if (auto n = adjust(all, role, o); n > 0)
      families[std::string{to_string(role)}] = n;
  if (peeking)
    warnings.push_back("Some comparisons show only a fixed-horizon p-value: " + std::string{peeking_text});
  doc["multiple_testing"] = {{"method", to_string(o.correction)}, {"comparisons", all.size()},
                             {"families", std::move(families)}};
  doc["methods"] = methods_json(o);
  doc["variants"] = std::move(variants);
  doc["warnings"] = std::move(warnings);
  return doc;
}

json experiment_overview(const experiment_aggregates& a, std::string_view experiment_status,
                         std::string_view status_reason) {
  json variants = json::array();
  std::uint64_t exposures = 0;
  for (auto& v : a.variants) {
    exposures += v.exposures;
    variants.push_back({{"variant_id", v.variant_id.str()},
                        {"variant_name", v.variant_name},
                        {"allocation", v.allocation},
                        {"exposures", v.exposures}});
  }
  return {{"id", a.experiment_id.str()},
          {"name", a.experiment_name},
          {"status", experiment_status},
          {"status_reason", status_reason},
          {"computed_at", a.computed_at ? json(format_rfc3339(*a.computed_at)) : json(not_aggregated)},
          {"exposures", exposures},
          {"variants", std::move(variants)},
          {"srm", srm_json(a, results_options{}.srm_threshold)}};
}

series_request parse_series_query(std::string_view query_string, unix_micros now) {
  auto params = parse_query_parameters(query_string, {"granularity", "from", "to", "confidence"});
  series_request r;
  if (auto it = params.find("granularity"); it != params.end()) {
    auto g = parse_aggregate_granularity(it->second);
    if (!g || *g == aggregate_granularity::experiment)
      throw field_error("granularity", "granularity must be hour or day");
    r.granularity = *g;
  }
  bool hourly = r.granularity == aggregate_granularity::hour;
  auto longest = hourly ? max_hourly_series : max_daily_series;
  auto fallback = (hourly ? 2LL : 30LL) * 86400 * 1000000;
  auto to = params.count("to") ? parse_time(params["to"], "to") : now;
  auto from = params.count("from") ? parse_time(params["from"], "from") : to - fallback;
  if (from >= to)
    throw field_error("from", "from must be before to");
  if (to - from > longest)
    throw field_error(params.count("from") ? "from" : "to",
                      std::string{"the window may span at most "}
                        + (hourly ? "31 days of hours" : "400 days of days"));
  r.window = {from, to};
  if (auto it = params.find("confidence"); it != params.end())
    r.confidence = parse_double(it->second, "confidence", 0.5, 0.999, "from 0.5 to 0.999");
  return r;
}

json experiment_series(const experiment_aggregates& a, const series_request& request,
                       const std::vector<aggregate_point>& points) {
  json lines = json::array();
  const aggregate_point* previous = nullptr;
  for (auto& p : points) {
    bool same = previous != nullptr && previous->variant_id == p.variant_id
                && previous->event_type == p.event_type && previous->metric_name == p.metric_name;
    if (!same) {
      std::string name;
      for (auto& v : a.variants)
        if (v.variant_id == p.variant_id)
          name = v.variant_name;
      lines.push_back({{"variant_id", p.variant_id.str()},
                       {"variant_name", name},
                       {"event_type", p.event_type},
                       {"metric_name", p.metric_name},
                       {"rule", to_string(p.moments.rule)},
                       {"points", json::array()}});
    }
    previous = &p;
    auto s = summarize(to_moments(p.moments), request.confidence);
    lines.back()["points"].push_back({{"t", format_rfc3339(p.bucket_start)},
                                      {"n", p.moments.units},
                                      {"events", p.moments.events},
                                      {"sum", p.moments.sum},
                                      {"status", to_string(s.status)},
                                      {"mean", value_or_status(s.mean, s.status)},
                                      {"mean_ci", interval_or_status(s.mean_ci, s.status)},
                                      {"exposures_cumulative", p.exposures_cumulative}});
  }
  return {{"experiment", {{"id", a.experiment_id.str()}, {"name", a.experiment_name}}},
          {"granularity", to_string(request.granularity)},
          {"from", format_rfc3339(request.window.from)},
          {"to", format_rfc3339(request.window.to)},
          {"confidence", request.confidence},
          {"computed_at", a.computed_at ? json(format_rfc3339(*a.computed_at)) : json(not_aggregated)},
          {"series", std::move(lines)}};
}

} // namespace expd::core
