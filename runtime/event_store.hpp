#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/event_query.hpp"
#include "core/event_type.hpp"
#include "core/rfc3339.hpp"
#include "core/spool_record.hpp"
#include "runtime/pg_session.hpp"

namespace expd::runtime {

/// Spool records on their way to exp.events: numbers and payloads, in order.
struct event_load_batch {
  std::vector<std::uint64_t> seqs;
  std::vector<std::string> payloads; ///< core::append_spooled_event encoding
};

struct event_load_result {
  bool already_loaded = false; ///< another loader got there first; nothing written
  std::size_t stored = 0;
  std::vector<std::uint64_t> skipped; ///< seqs whose event the table already held
};

/// exp.events, exp.event_types and the loader's progress. Blocking: detached actors only.
class event_store {
public:
  explicit event_store(std::string pg_url);

  struct partition_pass {
    int created = 0;
    int waited = 0;  ///< days not made because a lock was not granted in time: try again
    int in_default = 0; ///< days whose events already sit in exp.events_default
  };

  /// Makes the daily partitions covering the UTC days of [from, to], each in its own
  /// transaction, waiting at most `lock_timeout` for a day's locks (a reader's long
  /// query must not hold this up for long, nor anything queued behind it); after one
  /// wait in vain the pass ends and the days left count as waited. Remembers the days
  /// done, so repeated calls cost nothing.
  partition_pass prepare_partitions(core::unix_micros from, core::unix_micros to,
                                    std::chrono::milliseconds lock_timeout);

  /// The last spool record stored for `spool` (0 when none).
  std::uint64_t loaded_seq(const core::uuid& spool);

  /// Stores the batch's events and advances the spool's cursor to its last seq, in one
  /// transaction: a crash before the commit replays the batch, after it skips it.
  /// Events the table already holds (same event_id and timestamp: a client's retry)
  /// are skipped and recorded in exp.ingest_skipped.
  event_load_result load(const core::uuid& spool, const event_load_batch& batch);

  /// Seqs in (after, through] that load() skipped.
  std::set<std::uint64_t> skipped(const core::uuid& spool, std::uint64_t after,
                                  std::uint64_t through);

  /// `{"events":[...],"next_before":"..."}` for GET /v1/events.
  std::string query_json(const core::event_query& q);

  std::vector<core::event_type> load_event_types();

  /// Upserts `types` in one transaction (types not named are kept).
  void apply_event_types(const std::vector<core::event_type>& types);

  void ping();

private:
  template <class F>
  auto with_retry(F&& fn);

  pg_session session_;
  std::set<std::int64_t> days_ready_; ///< UTC day numbers whose partition exists
};

} // namespace expd::runtime
