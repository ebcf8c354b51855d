#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

// Which way a metric is better, and what part it plays in an experiment (issue 15):
// results read both to colour, adjust and judge each comparison (docs/statistics.md).
namespace expd::core {

/// `better:` on an event type's metric: whether a rise is good (conversions, revenue)
/// or bad (latency, cost, errors).
enum class metric_direction { higher, lower };

/// "higher", "lower".
std::string_view to_string(metric_direction d) noexcept;

/// What a metric is in one experiment. Each role is its own family for the
/// multiple-testing correction.
/// - goal: what the experiment is run to move; its verdicts decide it.
/// - secondary: watched for understanding, not for the decision.
/// - guardrail: must not get worse by more than its margin (non-inferiority).
/// - exploratory: measured but not named in the experiment's `metrics:` block.
enum class metric_role { goal, secondary, guardrail, exploratory };

/// "goal", "secondary", "guardrail", "exploratory".
std::string_view to_string(metric_role r) noexcept;

/// EVENT_TYPE.METRIC, split at the first dot.
struct metric_ref {
  std::string event_type;
  std::string metric_name;

  /// "EVENT_TYPE.METRIC".
  std::string text() const;
  bool operator==(const metric_ref& o) const {
    return event_type == o.event_type && metric_name == o.metric_name;
  }
};

/// Reads "plan_accepted.accepted"; throws field_error(field) for anything else.
metric_ref parse_metric_ref(const std::string& text, const std::string& field);

/// One metric's role in an experiment.
struct metric_role_spec {
  metric_ref metric;
  metric_role role = metric_role::goal;
  /// Guardrails only: the relative harm tolerated, in the metric's bad direction
  /// (0.05: up to 5% worse is still non-inferior). 0 for the other roles.
  double margin = 0;
  bool operator==(const metric_role_spec& o) const {
    return metric == o.metric && role == o.role && margin == o.margin;
  }
};

/// An experiment's `metrics:` block:
///   metrics:
///     goals: [plan_accepted.accepted]
///     secondary: [plan_generated.tokens]
///     guardrails:
///       - plan_generated.latency_ms              # margin 0
///       - {metric: plan_generated.cost_usd, margin: 0.05}
/// Empty: no block, and every metric the experiment measures is a goal.
struct experiment_metrics {
  std::vector<metric_role_spec> metrics;

  bool empty() const noexcept {
    return metrics.empty();
  }
  /// The spec naming `event_type`.`metric_name`, or nullptr.
  const metric_role_spec* find(std::string_view event_type, std::string_view metric_name) const noexcept;
  bool operator==(const experiment_metrics& o) const {
    return metrics == o.metrics;
  }
};

/// The most metrics one block may name.
inline constexpr std::size_t max_experiment_metrics = 100;

/// Reads the block at `path` ("experiments[0].metrics"). Unknown keys, a metric named
/// twice (in one role or two), a margin outside [0, 1) and more than
/// max_experiment_metrics metrics are refused with a field_error naming the place.
experiment_metrics parse_experiment_metrics(const nlohmann::json& block, const std::string& path);

/// The block as parse_experiment_metrics reads it back (guardrails always as objects);
/// null when empty. What exp.experiments.metrics stores.
nlohmann::json experiment_metrics_json(const experiment_metrics& m);

} // namespace expd::core
