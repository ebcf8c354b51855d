#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

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
};

/// Reads events from PostgreSQL into a core::metric_rollup: every metric value of every
/// event in each of its variants that the pass aggregates. Events are streamed one
/// partition of exp.events at a time (binary COPY on a connection of its own), and each
/// day is closed once no partition left can hold it, so memory holds about one day.
/// Unit ids get the same number across read, read_covariates and read_exposures.
/// Blocking: detached actors only.
class metric_scan {
public:
  /// `variants[i]` is variant i of the rollup's plan, `catalog` its metrics.
  metric_scan(std::string pg_url, const core::metric_catalog& catalog,
              const std::vector<scan_variant>& variants);

  /// Events that occurred in [from, to) carrying one of the variants; nullopt: no
  /// bound. Throws std::runtime_error when PostgreSQL fails mid-way (the rollup
  /// is then incomplete and must be dropped).
  scan_counts read(std::optional<core::unix_micros> from, std::optional<core::unix_micros> to,
                   core::metric_rollup& rollup);

  /// Events of `unit_type` that occurred in [from, to), whatever their experiments,
  /// into covariate series `series` of the rollup (a CUPED pre-period).
  scan_counts read_covariates(std::uint32_t series, const std::string& unit_type,
                              core::unix_micros from, core::unix_micros to,
                              core::metric_rollup& rollup);

  /// The assignments of `experiments` to the variants, as the rollup's exposures;
  /// returns how many.
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
  };

  const variant_ref* find(const core::uuid& variant) const noexcept;

  std::string pg_url_;
  const core::metric_catalog& catalog_;
  std::vector<variant_ref> variants_; // sorted by variant: a few hundred at most
  std::string experiment_array_; // '{...}' of the variants' experiments
  core::string_interner units_; // unit id -> the rollup's number
  std::unique_ptr<pg_binary_copy> copy_;
};

} // namespace expd::runtime
