#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/held_variants.hpp"
#include "core/metric_catalog.hpp"
#include "core/metric_rollup.hpp"
#include "core/string_interner.hpp"
#include "core/uuid.hpp"
#include "runtime/pg_binary_copy.hpp"

namespace expd::runtime {

/// A variant a pass aggregates: its id and its experiment's.
struct scan_variant {
  core::uuid variant_id;
  core::uuid experiment_id;
};

/// What a scan read.
struct scan_counts {
  std::uint64_t events = 0;       ///< rows received
  std::uint64_t observations = 0; ///< (event, variant, metric) values given to the rollup
  std::uint64_t units = 0;        ///< distinct unit ids
  std::uint64_t unheld = 0;       ///< claims of a variant the unit does not hold, left out
};

/// Reads events from PostgreSQL into a core::metric_rollup: every metric value of every
/// event in each of its variants that the pass aggregates. Events are streamed one
/// partition of exp.events at a time (binary COPY on a connection of its own), and each
/// day is closed once no partition left can hold it, so memory holds about one day.
/// Unit ids get the same number across read, read_covariates and read_exposures.
/// Blocking: detached actors only.
class metric_scan {
public:
  /// `variants[i]` is variant i of the rollup's plan, `catalog` its metrics;
  /// `include_unheld`: claims of a variant the unit does not hold are counted and kept.
  metric_scan(std::string pg_url, const core::metric_catalog& catalog,
              const std::vector<scan_variant>& variants, bool include_unheld = false);

  /// The assignments of the pass's experiments (exp.assignments), which read() checks
  /// each event's claims against and read_exposures() takes; returns how many. Call
  /// before both.
  std::uint64_t load_assignments();

  /// Events that occurred in [from, to) carrying one of the variants; nullopt: no
  /// bound. A claim of a variant whose experiment assigned the unit another one is
  /// counted (unheld_events) and left out, unless include_unheld; a unit never assigned
  /// cannot be checked and counts. Throws std::runtime_error when PostgreSQL fails mid-way (the rollup is
  /// then incomplete and must be dropped).
  scan_counts read(std::optional<core::unix_micros> from, std::optional<core::unix_micros> to,
                   core::metric_rollup& rollup);

  /// Per variant of the plan: the events read() left out for crediting it to a unit
  /// that holds another variant.
  const std::vector<std::uint64_t>& unheld_events() const noexcept {
    return unheld_;
  }

  /// Events of `unit_type` that occurred in [from, to), whatever their experiments,
  /// into covariate series `series` of the rollup (a CUPED pre-period).
  scan_counts read_covariates(std::uint32_t series, const std::string& unit_type,
                              core::unix_micros from, core::unix_micros to,
                              core::metric_rollup& rollup);

  /// The assignments of `experiments` (loaded by load_assignments) as the rollup's
  /// exposures; returns how many.
  std::uint64_t read_exposures(const std::vector<core::uuid>& experiments,
                               core::metric_rollup& rollup);

private:
  pg_binary_copy& connection();
  // Runs `SELECT select FROM <partition> WHERE where AND <[from, to)>` on every leaf
  // partition that can hold such events, default first, closing the rollup's days as
  // their partitions end.
  void each_partition(std::optional<core::unix_micros> from, std::optional<core::unix_micros> to,
                      const std::string& select, std::string where,
                      const std::function<void(const binary_row&)>& on_row,
                      core::metric_rollup& rollup);

  struct variant_ref {
    core::uuid variant;
    core::uuid experiment;
    std::uint32_t index;
    std::uint32_t experiment_index; ///< in experiments_
  };

  const variant_ref* find(const core::uuid& variant) const noexcept;

  std::string pg_url_;
  const core::metric_catalog& catalog_;
  std::vector<variant_ref> variants_; // sorted by variant: a few hundred at most
  std::vector<core::uuid> experiments_; // the variants' experiments, each once
  std::string experiment_array_; // '{...}' of experiments_
  core::string_interner units_; // unit id -> the rollup's number
  core::held_variants held_;     // (experiment, unit) -> the variant index it holds
  std::vector<std::uint64_t> unheld_; // per variant index
  bool include_unheld_ = false;
  std::unique_ptr<pg_binary_copy> copy_;
};

} // namespace expd::runtime
