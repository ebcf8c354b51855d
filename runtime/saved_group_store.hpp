#pragma once

#include <string>
#include <vector>

#include "core/saved_group.hpp"
#include "runtime/pg_session.hpp"

namespace expd::runtime {

/// exp.saved_groups (sql/015_saved_groups.sql). Blocking; used by the experiment
/// registry, whose snapshots compile conditions against the groups.
class saved_group_store {
public:
  explicit saved_group_store(std::string pg_url);

  /// Every saved group, by name.
  std::vector<core::saved_group_spec> load();

  /// Creates or updates `groups` (by name) in one transaction: all or nothing.
  void apply(const std::vector<core::saved_group_spec>& groups);

  /// Deletes the group `name`; false when there was none.
  bool remove(const std::string& name);

private:
  pg_session session_;
};

} // namespace expd::runtime
