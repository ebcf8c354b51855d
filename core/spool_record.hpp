#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/assignment_book.hpp"
#include "core/event.hpp"

namespace expd::core {

/// A spool file is a sequence of frames: [u32 payload size][u32 checksum][u64 seq]
/// [payload], little-endian. A zero size marks the end of what was written (segments
/// are preallocated, so unwritten space reads as zeros); the checksum covers seq and
/// payload, so a torn write at a crash reads as the end, never as a record.
constexpr std::size_t frame_header_bytes = 16;
constexpr std::size_t max_frame_payload = 16 * 1024 * 1024;

void append_frame(std::string& out, std::uint64_t seq, std::string_view payload);

struct frame {
  enum class kind { record, end, incomplete } what = kind::end;
  std::uint64_t seq = 0;
  std::string_view payload;
  std::size_t size = 0; ///< header + payload, for kind::record and kind::incomplete
};

/// Reads the frame at the start of `bytes`. `incomplete` when a record's header says it
/// is longer than `bytes` (read more); `end` for zeros, a bad checksum or a size past
/// max_frame_payload.
frame read_frame(std::string_view bytes) noexcept;

/// Every segment file starts with a header, so a later run reads it with the size and
/// numbering it was written with whatever its own flags say: [8 bytes "EXPDSPL" 0x01]
/// [u64 segment bytes][u64 first seq][u64 checksum of the 24 bytes before],
/// little-endian. Frames follow it.
constexpr std::size_t segment_header_bytes = 32;

struct segment_header {
  std::uint64_t segment_bytes = 0; ///< the file's preallocated size, header included
  std::uint64_t first_seq = 0;
};

void append_segment_header(std::string& out, const segment_header& h);

/// What the start of a segment file says.
struct segment_start {
  enum class kind {
    header,   ///< a valid header
    headless, ///< no header: a segment written before headers existed, frames from byte 0
    damaged   ///< neither: a header with a wrong checksum or a broken magic
  } what = kind::headless;
  segment_header header;
};

/// Reads the first segment_header_bytes of the segment that `first_seq` names. A
/// headless segment starts with zeros or with the frame of record `first_seq`; any
/// other start is damage, so a header whose magic broke is never taken for an empty
/// segment.
segment_start read_segment_start(std::string_view bytes, std::uint64_t first_seq) noexcept;

/// One accepted event as the spool stores it: the few fields the loader needs without
/// parsing, the COPY line for PostgreSQL and the JSON line for the archive.
struct spooled_event {
  uuid event_id;
  unix_micros occurred_at = 0;
  bool client_event_id = false;
  std::string_view copy_line; ///< ends with '\n'
  std::string_view json_line; ///< ends with '\n'
};

/// Encodes `e` as a frame payload (rendering both lines).
void append_spooled_event(std::string& out, const valid_event& e);

/// Decodes a payload written by append_spooled_event; nullopt when it is not one.
std::optional<spooled_event> read_spooled_event(std::string_view payload) noexcept;

/// Encodes a first-time assignment as a payload of a shard's assignment journal
/// (runtime/assignment_journal.hpp).
void append_journal_record(std::string& out, const assignment_record& row);

/// Decodes a payload written by append_journal_record; nullopt when it is not one.
std::optional<assignment_record> read_journal_record(std::string_view payload);

} // namespace expd::core
