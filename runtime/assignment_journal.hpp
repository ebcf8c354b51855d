#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>

#include "messages/types.hpp"
#include "runtime/spool.hpp"

namespace expd::runtime {

/// One shard's local log of first-time assignments, written before the shard replies
/// so a process crash (SIGKILL, abort, OOM kill) loses none of them
/// (docs/assignment.md, "Persistence"). A runtime::spool with fsync off: write() is one
/// write(2) into the page cache, which outlives the process but not the machine. Records
/// stay until the writer has them in PostgreSQL (release_through). Not thread-safe: the
/// shard owns it.
class assignment_journal {
public:
  /// Opens (creating) the journal of shard `index` under `root`.
  assignment_journal(const std::filesystem::path& root, std::size_t index);

  /// Appends rows[0, n) as one write (no fsync) and returns the number of the last; on
  /// a throw none of them is kept.
  std::uint64_t write(const core::assignment_record* rows, std::size_t n);

  /// The writer stored every record up to `seq`: segments holding only those go.
  void release_through(std::uint64_t seq) {
    log_.release_through(seq);
  }

private:
  spool log_;
  std::string payload_;
};

/// Calls fn with every row of every shard journal under `root`, in batches of at most
/// `batch_size` and in each journal's order, whatever shard count wrote them (a unit's
/// rows are all in one journal, as one run wrote them all). Start-up only, before any
/// shard opens its journal. Returns the rows read; records that do not decode are
/// skipped and counted in `unreadable`.
std::uint64_t read_assignment_journals(const std::filesystem::path& root, std::size_t batch_size,
                                       const std::function<void(assignment_batch&&)>& fn,
                                       std::uint64_t& unreadable);

/// Deletes every shard journal under `root`, once read_assignment_journals' rows are in
/// PostgreSQL.
void remove_assignment_journals(const std::filesystem::path& root);

} // namespace expd::runtime
