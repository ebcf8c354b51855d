#pragma once

#include <functional>
#include <string>

#include "messages/types.hpp"
#include "runtime/pg_session.hpp"

namespace expd::runtime {

/// exp.assignments. Blocking; used by the writer actor and at start-up only.
class assignment_store {
public:
  explicit assignment_store(std::string pg_url);

  /// Stores `rows` in one transaction (COPY into a staging table, then one upsert).
  /// A unit that already has a row under the same salt keeps it: the first variant
  /// wins. A row under an older salt is replaced.
  void write(const assignment_batch& rows);

  /// Streams every stored assignment of running or paused experiments, in batches of
  /// `batch_size`, for the shards to preload.
  void for_each_served(std::size_t batch_size,
                       const std::function<void(assignment_batch&&)>& fn);

  /// Drops the connection after an error so the next call reconnects.
  void reset() noexcept {
    session_.reset();
    staging_ready_ = false; // temp tables die with their session
  }

private:
  pg_session session_;
  bool staging_ready_ = false;
};

} // namespace expd::runtime
