// Spool recovery from a damaged last segment. Each run writes a spool (one segment, or
// two when the input asks for a rollover), damages its last segment as the input says
// (bytes overwritten, zeroed, the file truncated) behind its header, where a crash's
// torn write lands, then reopens it. Invariants: opening neither crashes nor throws;
// the records recovered are a prefix of those written, byte for byte; appends after
// recovery are read back, and still are after another reopen, with nothing else
// resurrected around them. A damaged header (written once, before the segment has its
// name, so never torn) is refused with spool_error, never read as an empty segment.
#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <fuzzer/FuzzedDataProvider.h>

#include "core/spool_record.hpp"
#include "runtime/spool.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using namespace expd::runtime;
namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t segment_bytes = 1024 * 1024;

// Under $TMPDIR, which run.sh points at tmpfs: every run preallocates and fsyncs a segment.
fs::path scratch_dir() {
  return fs::temp_directory_path() / ("expd_spool_fuzz_" + std::to_string(::getpid()));
}

spool_config config(const fs::path& dir) {
  return {dir, segment_bytes, 1ULL << 30, false};
}

std::vector<std::string> read_all(const fs::path& dir, std::uint64_t through) {
  std::vector<std::string> out;
  spool_reader reader{dir};
  reader.read(0, through, SIZE_MAX, [&](std::uint64_t seq, std::string_view payload) {
    FUZZ_CHECK(seq == out.size() + 1);
    out.emplace_back(payload);
  });
  return out;
}

void damage(const fs::path& segment, FuzzedDataProvider& input, std::uint64_t written_end) {
  const int fd = ::open(segment.c_str(), O_RDWR);
  FUZZ_CHECK(fd >= 0);
  // Offsets reach a little past the records written, where a torn write would land.
  const std::uint64_t reach = written_end + 64;
  while (input.remaining_bytes() > 0) {
    const auto offset =
      input.ConsumeIntegralInRange<std::uint64_t>(expd::core::segment_header_bytes, reach);
    switch (input.ConsumeIntegralInRange(0, 2)) {
    case 0: {
      const auto bytes = input.ConsumeRandomLengthString(64);
      FUZZ_CHECK(::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(offset))
                 == static_cast<ssize_t>(bytes.size()));
      break;
    }
    case 1: {
      const std::string zeros(input.ConsumeIntegralInRange(1, 64), '\0');
      FUZZ_CHECK(::pwrite(fd, zeros.data(), zeros.size(), static_cast<off_t>(offset))
                 == static_cast<ssize_t>(zeros.size()));
      break;
    }
    default: FUZZ_CHECK(::ftruncate(fd, static_cast<off_t>(offset)) == 0);
    }
  }
  ::close(fd);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider input{data, size};
  const auto dir = scratch_dir();
  fs::remove_all(dir);

  std::vector<std::string> written;
  const bool rollover = input.ConsumeBool();
  const auto count = input.ConsumeIntegralInRange<std::size_t>(1, 40);
  const bool damaged_header = input.ConsumeIntegralInRange(0, 15) == 0;
  std::uint64_t last_segment_end = expd::core::segment_header_bytes;
  {
    spool s{config(dir)};
    if (rollover) // fills most of the first segment, so later records start a second
      written.push_back(std::string(segment_bytes - 200, 'f'));
    while (written.size() < count + (rollover ? 1 : 0)) {
      const auto extra = input.ConsumeIntegralInRange<std::size_t>(0, 80);
      written.push_back("record-" + std::to_string(written.size() + 1) + std::string(extra, 'x'));
    }
    for (const auto& payload : written)
      s.append(payload);
    s.commit();
    const auto segments = spool_segments(dir);
    for (std::size_t i = segments.back().first - 1; i < written.size(); ++i)
      last_segment_end += expd::core::frame_header_bytes + written[i].size();
  }
  if (damaged_header) {
    const int fd = ::open(spool_segments(dir).back().second.c_str(), O_RDWR);
    const char byte = static_cast<char>(input.ConsumeIntegralInRange(1, 255));
    const auto at = input.ConsumeIntegralInRange<off_t>(0, expd::core::segment_header_bytes - 1);
    char old = 0;
    FUZZ_CHECK(::pread(fd, &old, 1, at) == 1);
    const char flipped = static_cast<char>(old ^ byte);
    FUZZ_CHECK(::pwrite(fd, &flipped, 1, at) == 1);
    ::close(fd);
    bool refused = false;
    try {
      spool s{config(dir)};
    } catch (const spool_error&) {
      refused = true;
    }
    FUZZ_CHECK(refused);
    fs::remove_all(dir);
    return 0;
  }
  damage(spool_segments(dir).back().second, input, last_segment_end);

  std::vector<std::string> expected;
  {
    spool s{config(dir)};
    const auto recovered = s.last_seq();
    FUZZ_CHECK(recovered <= written.size());
    FUZZ_CHECK(recovered >= spool_segments(dir).back().first - 1); // earlier segments are whole
    expected.assign(written.begin(), written.begin() + static_cast<std::ptrdiff_t>(recovered));
    FUZZ_CHECK(read_all(dir, recovered) == expected);
    for (int i = 0; i < 3; ++i) {
      expected.push_back("after-recovery-" + std::to_string(i));
      FUZZ_CHECK(s.append(expected.back()) == expected.size());
    }
    s.commit();
    FUZZ_CHECK(read_all(dir, s.last_seq()) == expected);
  }
  {
    spool s{config(dir)};
    FUZZ_CHECK(s.last_seq() == expected.size());
    FUZZ_CHECK(read_all(dir, s.last_seq()) == expected);
  }
  fs::remove_all(dir);
  return 0;
}
