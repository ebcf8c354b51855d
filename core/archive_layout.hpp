#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/rfc3339.hpp"
#include "core/uuid.hpp"

namespace expd::core {

/// Where archived events go in the bucket (docs/events.md, "Archive"): one
/// newline-delimited JSON file per chunk and UTC hour of the events' timestamps,
///   events/date=YYYY-MM-DD/hour=HH/part-<spool id>-<first seq, 20 digits>.ndjson.zst
/// a manifest per chunk,
///   events/_manifest/<spool id>-<first seq>-<last seq>.json
/// and, while a chunk is being written, its intent,
///   events/_pending/<spool id>.json
/// so a node that crashes mid-chunk deletes the chunk's files before writing it again.
std::string archive_data_key(const utc_hour& hour, const uuid& spool, std::uint64_t first_seq);
std::string archive_manifest_prefix(const uuid& spool);
std::string archive_manifest_key(const uuid& spool, std::uint64_t first_seq,
                                 std::uint64_t last_seq);
std::string archive_pending_key(const uuid& spool);

/// The last seq a manifest key covers; nullopt for a key that is not one of `spool`'s
/// manifests.
std::optional<std::uint64_t> manifest_last_seq(std::string_view key, const uuid& spool);

/// One chunk being gathered: the JSON lines of consecutive spool records, split by hour.
class archive_chunk {
public:
  bool empty() const noexcept {
    return events_ == 0 && skipped_ == 0;
  }
  std::uint64_t first_seq() const noexcept {
    return first_;
  }
  std::uint64_t last_seq() const noexcept {
    return last_;
  }
  std::size_t events() const noexcept {
    return events_;
  }
  std::size_t bytes() const noexcept {
    return bytes_;
  }

  /// Adds record `seq` (the next one); `skipped` records (not in the table) only move
  /// the chunk's range.
  void add(std::uint64_t seq, unix_micros occurred_at, std::string_view json_line, bool skipped);

  struct hour_file {
    utc_hour hour;
    std::string lines;
    std::size_t events = 0;
    unix_micros min_time = 0, max_time = 0;
  };
  const std::map<std::int64_t, hour_file>& hours() const noexcept {
    return hours_;
  }

  /// The manifest of this chunk, given the keys and sizes its files were stored under.
  nlohmann::json manifest(const uuid& spool, const std::vector<nlohmann::json>& files) const;

  void clear();

private:
  std::map<std::int64_t, hour_file> hours_; ///< by hour number since the epoch
  std::uint64_t first_ = 0, last_ = 0;
  std::size_t events_ = 0, skipped_ = 0, bytes_ = 0;
};

} // namespace expd::core
