#include "core/spool_record.hpp"

#include <algorithm>
#include <cstring>

#include <xxhash.h>

namespace expd::core {

namespace {

template <class T>
void put(std::string& out, T v) {
  char buf[sizeof(T)];
  for (std::size_t i = 0; i < sizeof(T); ++i)
    buf[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  out.append(buf, sizeof(T));
}

template <class T>
T get(const char* p) noexcept {
  T v = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i)
    v |= static_cast<T>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

std::uint32_t checksum(std::uint64_t seq, std::string_view payload) noexcept {
  // Seeding with seq ties the payload to its position: a stale record of a reused
  // file cannot pass for the next one.
  return static_cast<std::uint32_t>(XXH3_64bits_withSeed(payload.data(), payload.size(), seq));
}

constexpr std::size_t event_header_bytes = 16 + 8 + 1 + 4;

constexpr std::string_view segment_magic{"EXPDSPL\x01", 8};

std::uint64_t header_checksum(std::string_view first_24) noexcept {
  return XXH3_64bits(first_24.data(), first_24.size());
}

// Experiment and variant id, then three length-prefixed texts.
constexpr std::size_t journal_header_bytes = 32;

// Takes a u32 length and that many bytes from the front of `rest`; false when short.
bool take_text(std::string_view& rest, std::string& out) {
  if (rest.size() < 4)
    return false;
  auto size = get<std::uint32_t>(rest.data());
  if (rest.size() - 4 < size)
    return false;
  out.assign(rest.data() + 4, size);
  rest.remove_prefix(4 + size);
  return true;
}

} // namespace

void append_frame(std::string& out, std::uint64_t seq, std::string_view payload) {
  put<std::uint32_t>(out, static_cast<std::uint32_t>(payload.size()));
  put<std::uint32_t>(out, checksum(seq, payload));
  put<std::uint64_t>(out, seq);
  out.append(payload);
}

frame read_frame(std::string_view bytes) noexcept {
  frame f;
  if (bytes.size() < frame_header_bytes)
    return f;
  auto size = get<std::uint32_t>(bytes.data());
  if (size == 0 || size > max_frame_payload)
    return f;
  if (bytes.size() < frame_header_bytes + size) {
    f.what = frame::kind::incomplete;
    f.size = frame_header_bytes + size;
    return f;
  }
  auto sum = get<std::uint32_t>(bytes.data() + 4);
  auto seq = get<std::uint64_t>(bytes.data() + 8);
  auto payload = bytes.substr(frame_header_bytes, size);
  if (checksum(seq, payload) != sum)
    return f;
  f.what = frame::kind::record;
  f.seq = seq;
  f.payload = payload;
  f.size = frame_header_bytes + size;
  return f;
}

void append_segment_header(std::string& out, const segment_header& h) {
  auto start = out.size();
  out.append(segment_magic);
  put<std::uint64_t>(out, h.segment_bytes);
  put<std::uint64_t>(out, h.first_seq);
  put<std::uint64_t>(out, header_checksum(std::string_view{out}.substr(start, 24)));
}

segment_start read_segment_start(std::string_view bytes, std::uint64_t first_seq) noexcept {
  segment_start s;
  // A headless segment starts with a frame or zeros; a frame's size field is at most
  // max_frame_payload, so its bytes never spell the magic.
  if (bytes.size() < segment_magic.size() || bytes.substr(0, segment_magic.size()) != segment_magic) {
    auto prefix = bytes.substr(0, std::min(bytes.size(), segment_header_bytes));
    bool zeros = prefix.find_first_not_of('\0') == std::string_view::npos;
    bool frame = bytes.size() >= frame_header_bytes && get<std::uint32_t>(bytes.data()) != 0
                 && get<std::uint32_t>(bytes.data()) <= max_frame_payload
                 && get<std::uint64_t>(bytes.data() + 8) == first_seq;
    if (!zeros && !frame)
      s.what = segment_start::kind::damaged;
    return s;
  }
  s.what = segment_start::kind::damaged;
  if (bytes.size() < segment_header_bytes
      || get<std::uint64_t>(bytes.data() + 24) != header_checksum(bytes.substr(0, 24)))
    return s;
  s.what = segment_start::kind::header;
  s.header.segment_bytes = get<std::uint64_t>(bytes.data() + 8);
  s.header.first_seq = get<std::uint64_t>(bytes.data() + 16);
  return s;
}

void append_spooled_event(std::string& out, const valid_event& e) {
  put<std::uint64_t>(out, e.event_id.hi);
  put<std::uint64_t>(out, e.event_id.lo);
  put<std::uint64_t>(out, static_cast<std::uint64_t>(e.occurred_at));
  out += static_cast<char>(e.client_event_id ? 1 : 0);
  auto size_at = out.size();
  put<std::uint32_t>(out, 0);
  append_copy_line(out, e);
  auto copy_size = static_cast<std::uint32_t>(out.size() - size_at - 4);
  for (std::size_t i = 0; i < 4; ++i)
    out[size_at + i] = static_cast<char>((copy_size >> (8 * i)) & 0xff);
  append_json_line(out, e);
}

std::optional<spooled_event> read_spooled_event(std::string_view payload) noexcept {
  if (payload.size() < event_header_bytes)
    return std::nullopt;
  spooled_event e;
  auto* p = payload.data();
  e.event_id.hi = get<std::uint64_t>(p);
  e.event_id.lo = get<std::uint64_t>(p + 8);
  e.occurred_at = static_cast<unix_micros>(get<std::uint64_t>(p + 16));
  e.client_event_id = p[24] != 0;
  auto copy_size = get<std::uint32_t>(p + 25);
  auto rest = payload.substr(event_header_bytes);
  if (copy_size > rest.size())
    return std::nullopt;
  e.copy_line = rest.substr(0, copy_size);
  e.json_line = rest.substr(copy_size);
  return e;
}

void append_journal_record(std::string& out, const assignment_record& row) {
  for (auto* id : {&row.experiment_id, &row.variant_id}) {
    put<std::uint64_t>(out, id->hi);
    put<std::uint64_t>(out, id->lo);
  }
  for (auto* text : {&row.unit_type, &row.unit_id, row.salt.get()}) {
    put<std::uint32_t>(out, static_cast<std::uint32_t>(text->size()));
    out += *text;
  }
}

std::optional<assignment_record> read_journal_record(std::string_view payload) {
  if (payload.size() < journal_header_bytes)
    return std::nullopt;
  assignment_record row;
  auto* p = payload.data();
  row.experiment_id = {get<std::uint64_t>(p), get<std::uint64_t>(p + 8)};
  row.variant_id = {get<std::uint64_t>(p + 16), get<std::uint64_t>(p + 24)};
  auto rest = payload.substr(journal_header_bytes);
  std::string salt;
  if (!take_text(rest, row.unit_type) || !take_text(rest, row.unit_id) || !take_text(rest, salt)
      || !rest.empty())
    return std::nullopt;
  row.salt = std::make_shared<const std::string>(std::move(salt));
  return row;
}

} // namespace expd::core
