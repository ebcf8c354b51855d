#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/promotion.hpp"
#include "runtime/pg_session.hpp"

namespace expd::runtime {

/// A promotion as stored in exp.promotions.
struct promotion_row {
  std::string id;
  std::string experiment_id;
  std::string experiment_name;
  std::string variant;
  std::string baseline;
  std::string model_name;
  int model_version = 0;
  std::string policy_version_id;
  core::promotion_request request;
  std::string status = "active"; ///< active, completed, rolled_back
  std::size_t step_index = 0;
  double allocation = 0;
  core::unix_micros step_started_at = 0;
  std::string last_decision;
  nlohmann::json last_reading = nlohmann::json::object();
  std::string checked_at, created_at, finished_at; ///< RFC 3339; empty when not yet
};

struct promotion_event {
  int seq = 0;
  std::string at;
  std::string kind;
  double allocation = 0;
  std::string reason;
  nlohmann::json reading;
};

/// exp.promotions and exp.promotion_events. Blocking; the promotion actor's.
class promotion_store {
public:
  explicit promotion_store(std::string pg_url);

  /// Stores a new active promotion with its `started` event; false when the experiment
  /// has an active one already.
  bool create(const promotion_row& row, const std::string& reason);

  std::vector<promotion_row> active();
  /// The newest first, at most `limit`.
  std::vector<promotion_row> recent(std::size_t limit);
  std::optional<promotion_row> find(const std::string& id);
  /// The experiment's, the newest first.
  std::vector<promotion_row> of_experiment(const std::string& experiment_id);
  std::vector<promotion_event> events(const std::string& id);

  /// A move that changed the allocation (raised, rolled_back, completed): the row and
  /// its event in one transaction. `status` is the row's afterwards.
  void record_step(const promotion_row& after, const std::string& kind, const std::string& reason,
                   const nlohmann::json& reading);

  /// Units first assigned to each variant of the experiment since `since` (exp.assignments).
  std::map<std::string, std::uint64_t> assigned_since(const std::string& experiment_id, core::unix_micros since);

  /// Takes the cluster-wide lock of a pass over active promotions (a session advisory
  /// lock on this store's connection); false when another node's pass holds it.
  bool try_lock_pass();
  void unlock_pass();

  /// A pass that changed nothing: what it decided and read.
  void record_check(const std::string& id, const std::string& decision, const nlohmann::json& reading);

private:
  pg_session session_;
};

} // namespace expd::runtime
