#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/metric_roles.hpp"

namespace expd::core {

/// The type of one metric an event may carry.
enum class metric_kind { number, integer, boolean };

/// "number", "integer", "boolean".
std::string_view to_string(metric_kind k) noexcept;

/// How a metric's events become one value per unit, the unit of analysis of every
/// aggregate (docs/aggregation.md):
/// - sum: the unit's values added up; a unit without events counts as 0.
/// - any: 1 when any of the unit's events is true (non-zero), else 0; a unit without
///   events counts as 0 (a conversion).
/// - mean: the mean of the unit's values; only units with events count.
enum class per_unit_rule { sum, any, mean };

/// "sum", "any", "mean".
std::string_view to_string(per_unit_rule r) noexcept;

/// "sum", "any", "mean"; nullopt for anything else.
std::optional<per_unit_rule> parse_per_unit_rule(std::string_view text) noexcept;

/// The rule a metric of `kind` gets when it declares none: boolean -> any, integer and
/// number -> sum.
per_unit_rule default_per_unit_rule(metric_kind kind) noexcept;

/// One metric an event type declares: `latency_ms: {type: number, min: 0, unit: ms}`.
struct metric_spec {
  std::string name;
  metric_kind kind = metric_kind::number;
  std::optional<double> min; ///< inclusive
  std::optional<double> max; ///< inclusive
  std::string unit;          ///< free text for people ("ms", "usd")
  std::string description;
  per_unit_rule per_unit = per_unit_rule::sum; ///< `per_unit:`; default by kind
  metric_direction better = metric_direction::higher; ///< `better: higher|lower`
};

/// A known event type and the metrics its events may carry (a metric not declared
/// here is refused, so a typo cannot silently start a new metric).
struct event_type {
  std::string name;
  std::string description;
  std::vector<metric_spec> metrics; ///< sorted by name

  const metric_spec* find_metric(std::string_view name) const noexcept;
};

/// The type named `name` among `types` (sorted by name, as parse_event_type_document
/// leaves them), or nullptr.
const event_type* find_event_type(const std::vector<event_type>& types, std::string_view name) noexcept;

/// Limits of one event types document; past them it is refused.
struct event_type_document_limits {
  std::size_t max_event_types = 1000;
  std::size_t max_metrics = 64;
};

/// Reads `{"event_types":[{"name":"plan_generated","description":"...",
/// "metrics":{"latency_ms":{"type":"number","min":0,"unit":"ms"}}}]}` (event_types.yml
/// as JSON). Names are checked like experiment names (letters, digits, '_', '-', '.',
/// 1..128 chars), metric names likewise; unknown fields, duplicate names, min > max,
/// non-finite bounds and an integer kind with fractional bounds are refused. The result
/// is sorted by name. Throws core::field_error naming the fault's path
/// ("event_types[1].metrics.latency_ms.min").
std::vector<event_type> parse_event_type_document(const nlohmann::json& doc,
                                                  const event_type_document_limits& limits = {});

/// The spec as stored in exp.event_types.metrics and shown by GET /v1/event-types:
/// `{"latency_ms":{"type":"number","min":0,"unit":"ms","per_unit":"mean","better":"lower"}}`
/// (absent fields left out; `per_unit` only when it is not the default of the kind,
/// `better` only when lower).
nlohmann::json metrics_to_json(const event_type& t);

} // namespace expd::core
