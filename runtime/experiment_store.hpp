#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/apply_plan.hpp"
#include "core/experiment.hpp"
#include "runtime/pg_session.hpp"

namespace expd::runtime {

/// exp.experiments and exp.variants. Blocking; used by the registry actor only.
class experiment_store {
public:
  explicit experiment_store(std::string pg_url);

  /// Every experiment with its variants in position order (derived fields unset).
  std::vector<core::experiment> load();

  /// Writes the created and updated entries of `plan` in one transaction: all or
  /// nothing. Variants are upserted by name; ones the spec dropped are deleted (the
  /// plan allows that only in draft).
  void apply(const std::vector<core::planned_experiment>& plan);

  /// Sets the status of experiment `name` and why, stamping start_at on the first run
  /// and end_at on stop.
  void set_status(const std::string& name, core::experiment_status status, const std::string& reason = "");

  /// After a committed change: takes the next cluster-wide snapshot version and tells
  /// every node (NOTIFY expd_cluster, 'experiments'). Answers the version.
  std::uint64_t announce();

  /// The newest snapshot version announced (1 before any).
  std::uint64_t version();

  /// Round trip to the database; throws when it does not answer.
  void ping();

private:
  template <class F>
  auto with_retry(F&& fn);

  pg_session session_;
};

} // namespace expd::runtime
