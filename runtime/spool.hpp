#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/uuid.hpp"

namespace expd::runtime {

struct spool_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct spool_config {
  std::filesystem::path dir;
  std::uint64_t segment_bytes = 16 * 1024 * 1024;
  std::uint64_t max_bytes = 1024ULL * 1024 * 1024; ///< past this, new events are refused
  bool fsync = true; ///< commit() returns once records are on disk, not only in the OS
};

/// The local append-only log every accepted event goes to before it is acknowledged
/// (docs/events.md, "Durability"). Records are numbered 1, 2, ... for the spool's life;
/// files are segments named by their first record's number and preallocated, so an
/// fdatasync flushes data alone. Each segment's header says its size, so a run with
/// another segment size (a changed --spool-max-mb) reads the old ones as written and
/// starts its own size with the next segment. Opening recovers: a torn record at the
/// end (a crash mid-write, never acknowledged) is overwritten by the next append. Not thread-safe:
/// one actor owns it; readers use spool_reader.
class spool {
public:
  explicit spool(spool_config cfg);
  ~spool();
  spool(const spool&) = delete;
  spool& operator=(const spool&) = delete;

  /// This spool's identity, kept in its folder: the loader's progress is recorded under
  /// it, so renaming the node does not replay (or skip) anything.
  const core::uuid& id() const noexcept {
    return id_;
  }

  /// The number of the last record appended (0 when none ever was).
  std::uint64_t last_seq() const noexcept {
    return next_seq_ - 1;
  }

  /// Buffers `payload` as the next record; returns its number. Durable after commit().
  std::uint64_t append(std::string_view payload);

  /// Writes buffered records and, with fsync on, waits until they are on disk.
  void commit();

  /// Undoes every append since the last successful commit, after append() or commit()
  /// threw: nobody was told those records are durable, and a client that retries must
  /// not find them stored twice. Bytes already written for them are zeroed and segments
  /// opened for them deleted. When even that fails the spool refuses every later append
  /// (restart to recover what is on disk).
  void rollback();

  /// Deletes the segments whose records are all <= seq (consumed by every reader). The
  /// segment being written is kept.
  void release_through(std::uint64_t seq);

  /// Bytes the live segments take on disk.
  std::uint64_t disk_bytes() const noexcept {
    return disk_bytes_;
  }

  bool full() const noexcept {
    return disk_bytes() >= cfg_.max_bytes;
  }

  const spool_config& config() const noexcept {
    return cfg_;
  }

private:
  struct segment {
    std::uint64_t first_seq;
    std::filesystem::path path;
    std::uint64_t bytes;      ///< the file's size as its header says
    std::uint64_t data_start; ///< where its first frame is
  };

  void load_id();
  void recover();
  void open_segment(std::uint64_t first_seq, bool create);
  void write_buffer();

  spool_config cfg_;
  core::uuid id_;
  std::vector<segment> segments_; ///< in order; back() is written to
  std::uint64_t disk_bytes_ = 0;  ///< sum of segments_' sizes
  int fd_ = -1;
  std::uint64_t offset_ = 0; ///< write position in segments_.back()
  std::uint64_t attempted_end_ = 0; ///< furthest byte a write tried in segments_.back()
  std::string buffer_;       ///< appended, not yet written
  std::uint64_t next_seq_ = 1;
  // Where the last successful commit (or recovery) left the spool, for rollback().
  std::uint64_t committed_seq_ = 0;
  std::size_t committed_segments_ = 0;
  std::uint64_t committed_offset_ = 0;
  bool broken_ = false; ///< a rollback failed: nothing more is appended
  void mark_committed() noexcept;
};

/// Reads a spool's records in order, from another thread than the spool's owner; it
/// must only ask for records the owner has committed.
class spool_reader {
public:
  explicit spool_reader(std::filesystem::path dir);
  ~spool_reader();
  spool_reader(const spool_reader&) = delete;
  spool_reader& operator=(const spool_reader&) = delete;

  /// Calls fn(seq, payload) for the records numbered after `after` up to `through`, in
  /// order, at most `max_records`; the payload is valid during the call. Returns how
  /// many were read. Throws spool_error when a committed record is missing.
  std::size_t read(std::uint64_t after, std::uint64_t through, std::size_t max_records,
                   const std::function<void(std::uint64_t, std::string_view)>& fn);

  /// The number of the oldest record still in the spool's segments (released ones are
  /// gone); 0 when the folder holds no segment.
  std::uint64_t first_available() const;

private:
  void open_segment_holding(std::uint64_t seq);
  bool fill(std::size_t need);

  std::filesystem::path dir_;
  int fd_ = -1;
  std::uint64_t buffer_offset_ = 0; ///< file offset of buffer_[0]
  std::size_t pos_ = 0;             ///< next frame in buffer_
  std::size_t end_ = 0;             ///< bytes of buffer_ read from the file
  std::string buffer_;
  std::uint64_t next_seq_ = 0; ///< number of the frame at pos_ (0: not positioned)
};

/// The segment file names of `dir` in record order.
std::vector<std::pair<std::uint64_t, std::filesystem::path>> spool_segments(
  const std::filesystem::path& dir);

} // namespace expd::runtime
