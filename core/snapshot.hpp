#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/experiment.hpp"
#include "core/saved_group.hpp"

namespace expd::core {

/// An immutable, versioned view of every experiment and saved group. The registry
/// builds one per change and shares it with all shards; nobody mutates it afterwards.
/// Each experiment's condition is compiled here, against these groups, so a changed
/// group reaches the shards in the next snapshot without the experiments being applied.
class snapshot {
public:
  snapshot(std::uint64_t version, std::vector<experiment> experiments, saved_groups_ptr groups = nullptr);

  std::uint64_t version() const noexcept {
    return version_;
  }

  const std::vector<experiment>& experiments() const noexcept {
    return experiments_;
  }

  /// The experiment named `key`, or with id `key`; nullptr when unknown.
  const experiment* find(std::string_view key) const noexcept;

  /// The saved groups the conditions were compiled against (never null).
  const saved_groups_ptr& saved_groups() const noexcept {
    return groups_;
  }

  /// Running and paused experiments for `unit_type`, in name order.
  const std::vector<const experiment*>& served_for(std::string_view unit_type) const;

private:
  std::uint64_t version_;
  std::vector<experiment> experiments_;
  saved_groups_ptr groups_;
  std::map<std::string, const experiment*, std::less<>> by_key_;
  struct served_unit_type {
    std::string unit_type;
    std::vector<const experiment*> experiments;
  };
  /// Deployments have a handful of unit types: a scan is cheaper than a tree walk.
  std::vector<served_unit_type> served_;
};

using snapshot_ptr = std::shared_ptr<const snapshot>;

} // namespace expd::core
