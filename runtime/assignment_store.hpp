#pragma once

#include <functional>
#include <string>
#include <vector>

#include "messages/types.hpp"
#include "runtime/pg_session.hpp"

namespace expd::runtime {

/// A row PostgreSQL refused, moved to exp.assignment_dead_letters.
struct refused_assignment {
  std::size_t index; ///< in the batch given to write()
  std::string error; ///< PostgreSQL's message
};

/// What write() did with a batch. Rows are settled in order, so the settled ones are
/// always the first `settled`.
struct assignment_write {
  std::size_t settled = 0; ///< rows from the front stored or dead-lettered
  std::vector<refused_assignment> refused;
  /// Non-empty: PostgreSQL was away or failing (not refusing a row); the rows from
  /// `settled` on are not stored and must be written again.
  std::string failure;
};

/// exp.assignments. Blocking; used by the writer actor and at start-up only.
class assignment_store {
public:
  explicit assignment_store(std::string pg_url);

  /// Stores `rows` in one transaction (COPY into a staging table, then one upsert).
  /// A unit that already has a row under the same salt keeps it: the first variant
  /// wins. A row under an older salt is replaced.
  /// When PostgreSQL refuses the data (SQLSTATE class 22, data exception, or 23,
  /// integrity violation: a fault of some row, not of the server), the batch is split
  /// in halves until the refused rows are found; those go to
  /// exp.assignment_dead_letters with the error (and the log) and the rest are stored, so one bad row
  /// never holds back the others. Any other error ends the call with `failure` set
  /// and the connection reset.
  assignment_write write(const assignment_batch& rows);

  /// The (experiment, variant) pairs each unit (unit_type, unit_id) holds in PostgreSQL
  /// among `experiments`, under the experiment's current salt and while it runs or is
  /// paused: what the unit's shard would answer to atom::held once its rows are loaded.
  std::vector<std::vector<std::pair<core::uuid, core::uuid>>>
  held(const std::vector<std::pair<std::string, std::string>>& units,
       const std::vector<core::uuid>& experiments);

  /// Streams every stored assignment of running or paused experiments, in batches of
  /// `batch_size`, for the shards to preload; with `slots`, only the rows of those ring
  /// slots (a node's share, or the slots it just gained).
  void for_each_served(std::size_t batch_size,
                       const std::function<void(assignment_batch&&)>& fn,
                       const std::vector<std::uint32_t>* slots = nullptr);

private:
  void store(const core::assignment_record* rows, std::size_t n);
  void dead_letter(const core::assignment_record& row, const std::string& error);
  bool settle(const assignment_batch& rows, std::size_t from, std::size_t n,
              assignment_write& out);

  /// Drops the connection after an error so the next call reconnects.
  void reset() noexcept {
    session_.reset();
    staging_ready_ = false; // temp tables die with their session
  }

  pg_session session_;
  bool staging_ready_ = false;
};

} // namespace expd::runtime
