#include "runtime/assignment_journal.hpp"

#include <algorithm>
#include <string>

#include "core/spool_record.hpp"

namespace expd::runtime {

namespace fs = std::filesystem;

namespace {

constexpr const char* shard_prefix = "shard-";

spool_config journal_config(fs::path dir) {
  spool_config cfg;
  cfg.dir = std::move(dir);
  cfg.segment_bytes = 4 * 1024 * 1024;
  // Nothing is refused for want of space: a full disk fails the write instead.
  cfg.max_bytes = UINT64_MAX;
  // The page cache survives a process crash; an fdatasync per reply would put the
  // disk's latency on the assign path.
  cfg.fsync = false;
  return cfg;
}

std::vector<fs::path> journal_dirs(const fs::path& root) {
  std::vector<fs::path> out;
  if (!fs::exists(root))
    return out;
  for (auto& entry : fs::directory_iterator(root))
    if (entry.is_directory() && entry.path().filename().string().rfind(shard_prefix, 0) == 0)
      out.push_back(entry.path());
  std::sort(out.begin(), out.end());
  return out;
}

} // namespace

assignment_journal::assignment_journal(const fs::path& root, std::size_t index)
  : log_(journal_config(root / (shard_prefix + std::to_string(index)))) {
}

std::uint64_t assignment_journal::write(const core::assignment_record* rows, std::size_t n) {
  try {
    for (std::size_t i = 0; i < n; ++i) {
      payload_.clear();
      core::append_journal_record(payload_, rows[i]);
      log_.append(payload_);
    }
    log_.commit();
  } catch (...) {
    log_.rollback();
    throw;
  }
  return log_.last_seq();
}

std::uint64_t read_assignment_journals(const fs::path& root, std::size_t batch_size,
                                       const std::function<void(assignment_batch&&)>& fn,
                                       std::uint64_t& unreadable) {
  std::uint64_t rows = 0;
  for (auto& dir : journal_dirs(root)) {
    // Opening recovers: a record torn by the crash is not read.
    auto last = spool{journal_config(dir)}.last_seq();
    spool_reader reader{dir};
    auto first = reader.first_available();
    if (first == 0 || last < first)
      continue;
    assignment_batch batch;
    for (auto after = first - 1; after < last;) {
      auto n = reader.read(after, last, batch_size, [&](std::uint64_t, std::string_view payload) {
        if (auto row = core::read_journal_record(payload))
          batch.push_back(std::move(*row));
        else
          ++unreadable;
      });
      if (n == 0)
        throw spool_error("assignment journal " + dir.string() + " ends before record "
                          + std::to_string(after + 1));
      after += n;
      rows += batch.size();
      fn(std::move(batch));
      batch.clear();
    }
  }
  return rows;
}

void remove_assignment_journals(const fs::path& root) {
  for (auto& dir : journal_dirs(root))
    fs::remove_all(dir);
}

} // namespace expd::runtime
