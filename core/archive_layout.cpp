#include "core/archive_layout.hpp"

#include <charconv>
#include <cstdio>

namespace expd::core {

namespace {

std::string seq_text(std::uint64_t seq) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "%020llu", static_cast<unsigned long long>(seq));
  return buf;
}

constexpr std::int64_t micros_per_hour = 3600LL * 1000000;

std::int64_t hour_number(unix_micros t) {
  return t >= 0 ? t / micros_per_hour : (t - micros_per_hour + 1) / micros_per_hour;
}

} // namespace

std::string archive_data_key(const utc_hour& h, const uuid& spool, std::uint64_t first_seq) {
  char dir[48];
  std::snprintf(dir, sizeof(dir), "events/date=%04d-%02d-%02d/hour=%02d/", h.year, h.month, h.day,
                h.hour);
  return dir + ("part-" + spool.str() + "-" + seq_text(first_seq) + ".ndjson.zst");
}

std::string archive_manifest_prefix(const uuid& spool) {
  return "events/_manifest/" + spool.str() + "-";
}

std::string archive_manifest_key(const uuid& spool, std::uint64_t first_seq,
                                 std::uint64_t last_seq) {
  return archive_manifest_prefix(spool) + seq_text(first_seq) + "-" + seq_text(last_seq) + ".json";
}

std::string archive_pending_key(const uuid& spool) {
  return "events/_pending/" + spool.str() + ".json";
}

std::optional<std::uint64_t> manifest_last_seq(std::string_view key, const uuid& spool) {
  auto prefix = archive_manifest_prefix(spool);
  constexpr std::string_view suffix = ".json";
  if (key.size() != prefix.size() + 20 + 1 + 20 + suffix.size() || key.substr(0, prefix.size()) != prefix
      || key.substr(key.size() - suffix.size()) != suffix || key[prefix.size() + 20] != '-')
    return std::nullopt;
  auto digits = key.substr(prefix.size() + 21, 20);
  std::uint64_t last = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), last);
  if (ec != std::errc{} || end != digits.data() + digits.size())
    return std::nullopt;
  return last;
}

void archive_chunk::add(std::uint64_t seq, unix_micros occurred_at, std::string_view json_line,
                        bool skipped) {
  if (empty())
    first_ = seq;
  last_ = seq;
  if (skipped) {
    ++skipped_;
    return;
  }
  auto& file = hours_[hour_number(occurred_at)];
  if (file.events == 0) {
    file.hour = utc_hour_of(occurred_at);
    file.min_time = file.max_time = occurred_at;
  }
  file.min_time = std::min(file.min_time, occurred_at);
  file.max_time = std::max(file.max_time, occurred_at);
  file.lines.append(json_line);
  ++file.events;
  ++events_;
  bytes_ += json_line.size();
}

nlohmann::json archive_chunk::manifest(const uuid& spool,
                                       const std::vector<nlohmann::json>& files) const {
  return {{"spool_id", spool.str()}, {"first_seq", first_},   {"last_seq", last_},
          {"events", events_},       {"skipped", skipped_},   {"format", "ndjson+zstd"},
          {"files", files}};
}

void archive_chunk::clear() {
  hours_.clear();
  first_ = last_ = 0;
  events_ = skipped_ = bytes_ = 0;
}

} // namespace expd::core
