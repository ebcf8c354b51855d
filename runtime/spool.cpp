#include "runtime/spool.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/spool_record.hpp"
#include "runtime/failpoint.hpp"
#include "runtime/random_uuid.hpp"

namespace expd::runtime {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view segment_suffix = ".seg";

[[noreturn]] void fail(const std::string& what, const fs::path& path) {
  throw spool_error(what + " " + path.string() + ": " + std::strerror(errno));
}

fs::path segment_path(const fs::path& dir, std::uint64_t first_seq) {
  char name[32];
  std::snprintf(name, sizeof(name), "%020llu", static_cast<unsigned long long>(first_seq));
  return dir / (std::string{name} + std::string{segment_suffix});
}

void sync_dir(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0)
    fail("cannot open", dir);
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0)
    fail("cannot fsync", dir);
}

void pwrite_all(int fd, std::string_view bytes, std::uint64_t offset, const fs::path& path) {
  while (!bytes.empty()) {
    auto n = ::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      fail("cannot write", path);
    bytes.remove_prefix(static_cast<std::size_t>(n));
    offset += static_cast<std::uint64_t>(n);
  }
}

struct segment_layout {
  std::uint64_t bytes;
  std::uint64_t data_start;
};

// Where the frames of an open segment are and how large it was made.
segment_layout read_layout(int fd, const fs::path& path, std::uint64_t first_seq) {
  char bytes[core::segment_header_bytes];
  auto n = ::pread(fd, bytes, sizeof(bytes), 0);
  if (n < 0)
    fail("cannot read", path);
  auto start = core::read_segment_start({bytes, static_cast<std::size_t>(n)}, first_seq);
  using kind = core::segment_start::kind;
  if (start.what == kind::damaged || (start.what == kind::header
                                      && (start.header.first_seq != first_seq
                                          || start.header.segment_bytes < core::segment_header_bytes)))
    throw spool_error("the header of spool segment " + path.string()
                      + " is damaged or does not match its name");
  if (start.what == kind::header)
    return {start.header.segment_bytes, core::segment_header_bytes};
  struct stat info {};
  if (::fstat(fd, &info) != 0)
    fail("cannot stat", path);
  return {static_cast<std::uint64_t>(info.st_size), 0};
}

} // namespace

std::vector<std::pair<std::uint64_t, fs::path>> spool_segments(const fs::path& dir) {
  std::vector<std::pair<std::uint64_t, fs::path>> out;
  for (auto& entry : fs::directory_iterator(dir)) {
    auto name = entry.path().filename().string();
    if (name.size() != 20 + segment_suffix.size() || entry.path().extension() != segment_suffix)
      continue;
    out.emplace_back(std::stoull(name.substr(0, 20)), entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

spool::spool(spool_config cfg) : cfg_(std::move(cfg)) {
  if (cfg_.segment_bytes < 1024 * 1024)
    throw spool_error("spool segments must be at least 1 MiB");
  fs::create_directories(cfg_.dir);
  load_id();
  recover();
  mark_committed();
}

spool::~spool() {
  if (fd_ >= 0)
    ::close(fd_);
}

void spool::load_id() {
  auto path = cfg_.dir / "spool.id";
  std::ifstream in(path);
  std::string text;
  if (in >> text) {
    auto id = core::uuid::parse(text);
    if (!id)
      throw spool_error(path.string() + " does not hold a UUID; the spool folder is damaged");
    id_ = *id;
    return;
  }
  id_ = random_uuid();
  auto tmp = cfg_.dir / "spool.id.tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << id_.str() << '\n';
    if (!out.flush())
      fail("cannot write", tmp);
  }
  int fd = ::open(tmp.c_str(), O_RDONLY);
  if (fd < 0 || ::fsync(fd) != 0)
    fail("cannot fsync", tmp);
  ::close(fd);
  fs::rename(tmp, path);
  sync_dir(cfg_.dir);
}

void spool::recover() {
  for (auto& entry : fs::directory_iterator(cfg_.dir))
    if (entry.path().extension() == ".tmp" && entry.path().stem().extension() == segment_suffix)
      fs::remove(entry.path()); // a segment whose creation a crash interrupted
  for (auto& [first, path] : spool_segments(cfg_.dir)) {
    int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0)
      fail("cannot open", path);
    try {
      auto layout = read_layout(fd, path, first);
      segments_.push_back({first, path, layout.bytes, layout.data_start});
      disk_bytes_ += layout.bytes;
    } catch (...) {
      ::close(fd);
      throw;
    }
    ::close(fd);
  }
  if (segments_.empty()) {
    open_segment(1, true);
    return;
  }
  // Only the last segment can end in a torn write; scan it to its end.
  auto& last = segments_.back();
  open_segment(last.first_seq, false);
  std::string bytes(last.bytes, '\0');
  auto n = ::pread(fd_, bytes.data(), bytes.size(), 0);
  if (n < 0)
    fail("cannot read", last.path);
  bytes.resize(static_cast<std::size_t>(n));
  next_seq_ = last.first_seq;
  std::string_view view = bytes;
  while (offset_ < view.size()) {
    auto f = core::read_frame(view.substr(offset_));
    if (f.what != core::frame::kind::record || f.seq != next_seq_)
      break;
    offset_ += f.size;
    ++next_seq_;
  }
  // Whole frames may lie behind a torn one (written, never acknowledged, or damaged).
  // Zeroed, so that an append ending where one of them starts cannot bring it back at
  // the next recovery.
  auto tail = view.find_last_not_of('\0');
  if (tail != std::string_view::npos && tail >= offset_) {
    pwrite_all(fd_, std::string(tail + 1 - offset_, '\0'), offset_, last.path);
    if (cfg_.fsync && ::fdatasync(fd_) != 0)
      fail("cannot fsync", last.path);
  }
  // A segment of another size (the limit changed) is not written on: once consumed it
  // can go, where the segment being written always stays.
  if (last.bytes != cfg_.segment_bytes) {
    if (cfg_.fsync && ::fdatasync(fd_) != 0)
      fail("cannot fsync", last.path);
    open_segment(next_seq_, true);
  }
}

void spool::open_segment(std::uint64_t first_seq, bool create) {
  auto path = segment_path(cfg_.dir, first_seq);
  if (create) {
    // Made complete under another name, so a segment with its name always has its
    // header, whenever a crash comes.
    auto tmp = fs::path{path.string() + ".tmp"};
    int fd = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
      fail("cannot open", tmp);
    // Preallocated space reads as zeros (the end marker) and later writes need no
    // size change, so fdatasync flushes data alone.
    int rc = ::posix_fallocate(fd, 0, static_cast<off_t>(cfg_.segment_bytes));
    std::string header;
    core::append_segment_header(header, {cfg_.segment_bytes, first_seq});
    bool ok = rc == 0 && ::pwrite(fd, header.data(), header.size(), 0)
                           == static_cast<ssize_t>(header.size());
    // Without fsync the spool promises only what a process crash leaves, the page cache
    // and the kernel's view of the folder: the flushes would only stall the writer (the
    // assignment journal rolls a segment every ~40k rows on a shard's thread).
    if (!ok || (cfg_.fsync && ::fsync(fd) != 0) || ::rename(tmp.c_str(), path.c_str()) != 0) {
      auto err = rc != 0 ? rc : errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      errno = err;
      fail("cannot create", path);
    }
    ::close(fd);
    if (cfg_.fsync)
      sync_dir(cfg_.dir);
    segments_.push_back({first_seq, path, cfg_.segment_bytes, core::segment_header_bytes});
    disk_bytes_ += cfg_.segment_bytes;
  }
  int fd = ::open(path.c_str(), O_RDWR);
  if (fd < 0)
    fail("cannot open", path);
  if (fd_ >= 0)
    ::close(fd_);
  fd_ = fd;
  offset_ = segments_.back().data_start;
  attempted_end_ = offset_;
}

std::uint64_t spool::append(std::string_view payload) {
  if (broken_)
    throw spool_error("the spool could not undo a failed write; restart expd to recover it");
  if (payload.size() > core::max_frame_payload
      || core::segment_header_bytes + core::frame_header_bytes + payload.size() > cfg_.segment_bytes)
    throw spool_error("a spool record of " + std::to_string(payload.size()) + " bytes is too large");
  if (offset_ + buffer_.size() + core::frame_header_bytes + payload.size()
      > segments_.back().bytes) {
    write_buffer();
    // The old segment stays durable-ordered: its tail is flushed before records that
    // follow it are acknowledged (commit syncs the current file only).
    if (cfg_.fsync && ::fdatasync(fd_) != 0)
      fail("cannot fsync", segments_.back().path);
    open_segment(next_seq_, true);
  }
  core::append_frame(buffer_, next_seq_, payload);
  return next_seq_++;
}

void spool::write_buffer() {
  if (buffer_.empty())
    return;
  // A failed write may have left whole records: rollback() zeros up to here.
  attempted_end_ = std::max(attempted_end_, offset_ + buffer_.size());
  pwrite_all(fd_, buffer_, offset_, segments_.back().path);
  offset_ += buffer_.size();
  buffer_.clear();
}

void spool::commit() {
  write_buffer();
  failpoint("spool.after_write");
  if (cfg_.fsync && ::fdatasync(fd_) != 0)
    fail("cannot fsync", segments_.back().path);
  failpoint("spool.after_sync");
  mark_committed();
}

void spool::mark_committed() noexcept {
  committed_seq_ = next_seq_ - 1;
  committed_segments_ = segments_.size();
  committed_offset_ = offset_;
}

void spool::rollback() {
  buffer_.clear();
  try {
    // A rollover since the commit flushed the old segment's tail and opened segments
    // that hold only uncommitted records.
    bool rolled_over = segments_.size() > committed_segments_;
    while (segments_.size() > committed_segments_) {
      fs::remove(segments_.back().path);
      disk_bytes_ -= segments_.back().bytes;
      segments_.pop_back();
    }
    if (rolled_over) {
      sync_dir(cfg_.dir);
      open_segment(segments_.back().first_seq, false);
      attempted_end_ = segments_.back().bytes;
    }
    auto end = std::max(offset_, attempted_end_);
    if (end > committed_offset_) {
      // Zeros end the records: neither recovery nor a reader takes what follows.
      pwrite_all(fd_, std::string(end - committed_offset_, '\0'), committed_offset_,
                 segments_.back().path);
      if (cfg_.fsync && ::fdatasync(fd_) != 0)
        fail("cannot fsync", segments_.back().path);
    }
  } catch (...) {
    broken_ = true;
    throw;
  }
  offset_ = committed_offset_;
  attempted_end_ = committed_offset_;
  next_seq_ = committed_seq_ + 1;
}

void spool::release_through(std::uint64_t seq) {
  // Segment i holds [first_i, first_{i+1} - 1]; keep the one being written.
  std::size_t drop = 0;
  while (drop + 1 < segments_.size() && segments_[drop + 1].first_seq - 1 <= seq) {
    fs::remove(segments_[drop].path);
    disk_bytes_ -= segments_[drop].bytes;
    ++drop;
  }
  segments_.erase(segments_.begin(), segments_.begin() + static_cast<std::ptrdiff_t>(drop));
}

spool_reader::spool_reader(fs::path dir) : dir_(std::move(dir)) {
}

spool_reader::~spool_reader() {
  if (fd_ >= 0)
    ::close(fd_);
}

void spool_reader::open_segment_holding(std::uint64_t seq) {
  auto segments = spool_segments(dir_);
  auto it = std::upper_bound(segments.begin(), segments.end(), seq,
                             [](std::uint64_t s, const auto& seg) { return s < seg.first; });
  if (it == segments.begin())
    throw spool_error("spool record " + std::to_string(seq) + " is gone from " + dir_.string());
  --it;
  if (fd_ >= 0)
    ::close(fd_);
  fd_ = ::open(it->second.c_str(), O_RDONLY);
  if (fd_ < 0)
    fail("cannot open", it->second);
  buffer_offset_ = read_layout(fd_, it->second, it->first).data_start;
  pos_ = 0;
  end_ = 0;
  next_seq_ = it->first;
}

std::uint64_t spool_reader::first_available() const {
  auto segments = spool_segments(dir_);
  return segments.empty() ? 0 : segments.front().first;
}

bool spool_reader::fill(std::size_t need) {
  // Keeps the unread tail, then reads after it into space sized once: resizing a
  // string zero-fills it, which cost more than the read itself.
  std::memmove(buffer_.data(), buffer_.data() + pos_, end_ - pos_);
  buffer_offset_ += pos_;
  end_ -= pos_;
  pos_ = 0;
  if (buffer_.size() < end_ + std::max<std::size_t>(need, 1 << 20))
    buffer_.resize(end_ + std::max<std::size_t>(need, 1 << 20));
  auto n = ::pread(fd_, buffer_.data() + end_, buffer_.size() - end_,
                   static_cast<off_t>(buffer_offset_ + end_));
  if (n < 0)
    fail("cannot read", dir_);
  end_ += static_cast<std::size_t>(n);
  return n > 0;
}

std::size_t spool_reader::read(std::uint64_t after, std::uint64_t through,
                               std::size_t max_records,
                               const std::function<void(std::uint64_t, std::string_view)>& fn) {
  if (next_seq_ == 0 || next_seq_ > after + 1)
    open_segment_holding(after + 1);
  std::size_t count = 0;
  bool refreshed = false; ///< this position was read from the file again
  while (count < max_records && next_seq_ <= through) {
    auto f = core::read_frame(std::string_view{buffer_.data() + pos_, end_ - pos_});
    if (f.what == core::frame::kind::record && f.seq == next_seq_) {
      pos_ += f.size;
      ++next_seq_;
      refreshed = false;
      if (f.seq > after) {
        fn(f.seq, f.payload);
        ++count;
      }
      continue;
    }
    if (f.what == core::frame::kind::incomplete || end_ - pos_ < core::frame_header_bytes) {
      if (fill(f.what == core::frame::kind::incomplete ? f.size : core::frame_header_bytes))
        continue;
    }
    // Zeros or a torn frame may be bytes read before the writer got there: read this
    // position again once before taking it as the end of the segment.
    if (!refreshed) {
      refreshed = true;
      end_ = pos_;
      if (fill(core::frame_header_bytes))
        continue;
    }
    // The end of this segment: the next record starts the next one.
    auto want = next_seq_;
    open_segment_holding(want);
    if (next_seq_ != want)
      throw spool_error("spool record " + std::to_string(want) + " is missing from " + dir_.string());
  }
  return count;
}

} // namespace expd::runtime
