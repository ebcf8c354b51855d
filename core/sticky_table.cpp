#include "core/sticky_table.hpp"

#include <algorithm>
#include <stdexcept>

// Inlined: for ids of a few dozen bytes the call and dispatch would cost as much as
// the hash itself.
#define XXH_INLINE_ALL
#include <xxhash.h>

namespace expd::core {

namespace {

// stored_id::form values. Inline ids use inline_form + size.
constexpr std::uint8_t empty_form = 0;
constexpr std::uint8_t inline_form = 1;
constexpr std::uint8_t packed_uuid = 0xfe;
constexpr std::uint8_t in_arena = 0xff;

// Where an arena id lies, kept in stored_id::bytes.
struct arena_ref {
  std::uint64_t offset;
  std::uint32_t size;
};
static_assert(sizeof(arena_ref) <= sizeof(stored_id::bytes));

arena_ref arena_ref_of(const stored_id& id) noexcept {
  arena_ref ref;
  std::memcpy(&ref, id.bytes, sizeof ref);
  return ref;
}

constexpr std::uint64_t in_every_byte(std::uint8_t b) noexcept {
  return b * 0x0101010101010101ull;
}

template <std::size_t N>
std::uint64_t load(const char* p) noexcept {
  std::uint64_t bytes = 0;
  std::memcpy(&bytes, p, N);
  return bytes;
}

// Packs the canonical lower-case 8-4-4-4-12 form into 16 bytes; upper case stays
// unpacked so that the packed form is one-to-one with the text. Works on words of
// eight digits because uuids are random hex: a per-character digit/letter branch
// mispredicts. The nibble order follows the loads, which is fine: the packing need
// only be one-to-one.
bool pack_uuid(std::string_view text, char* out) noexcept {
  if (text.size() != 36 || text[8] != '-' || text[13] != '-' || text[18] != '-'
      || text[23] != '-')
    return false;
  auto high_bits = in_every_byte(0x80);
  auto hex_bytes = high_bits;
  auto pack8 = [&](std::uint64_t chars) {
    // Bit 7 of each byte of at_least(c): that byte of `chars` is >= c (ASCII bytes).
    auto at_least = [chars](char c) { return chars + in_every_byte(0x80 - c); };
    auto digits = at_least('0') & ~at_least('9' + 1);
    auto letters = at_least('a') & ~at_least('f' + 1) & high_bits;
    hex_bytes &= (digits | letters) & ~chars;
    auto nibbles = (chars & in_every_byte(0x0f)) + (letters >> 7) * 9;
    auto pairs = (nibbles | nibbles >> 4) & 0x00ff00ff00ff00ffull;
    pairs = (pairs | pairs >> 8) & 0x0000ffff0000ffffull;
    return (pairs | pairs >> 16) & 0xffffffffull;
  };
  auto* p = text.data();
  const std::uint64_t packed[2] = {
    pack8(load<8>(p)) | pack8(load<4>(p + 9) | load<4>(p + 14) << 32) << 32,
    pack8(load<4>(p + 19) | load<4>(p + 24) << 32) | pack8(load<8>(p + 28)) << 32};
  if (hex_bytes != high_bits)
    return false;
  std::memcpy(out, packed, sizeof packed);
  return true;
}

} // namespace

unit_key::unit_key(std::string_view unit_id) noexcept
  : text(unit_id), hash(XXH3_64bits(unit_id.data(), unit_id.size())) {
  if (unit_id.size() <= sizeof(id.bytes)) {
    id.form = static_cast<std::uint8_t>(inline_form + unit_id.size());
    unit_id.copy(id.bytes, unit_id.size());
  } else {
    id.form = pack_uuid(unit_id, id.bytes) ? packed_uuid : in_arena;
  }
}

bool sticky_table::holds(const slot& s, const unit_key& key) const noexcept {
  if (s.hash != key.hash || s.id.form != key.id.form)
    return false;
  if (s.id.form != in_arena)
    return s.id == key.id;
  auto ref = arena_ref_of(s.id);
  return key.text == std::string_view(arena_.data() + ref.offset, ref.size);
}

std::size_t sticky_table::probe(const unit_key& key) const noexcept {
  auto i = key.hash & mask_;
  while (slots_[i].id.form != empty_form && !holds(slots_[i], key))
    i = (i + 1) & mask_;
  return i;
}

std::uint16_t sticky_table::find(const unit_key& key) const noexcept {
  if (size_ == 0)
    return none;
  auto& s = slots_[probe(key)];
  return s.id.form == empty_form ? none : s.variant;
}

bool sticky_table::insert_or_assign(const unit_key& key, const uuid& variant) {
  auto ref = variant_ref(variant);
  std::size_t i = 0;
  if (size_ != 0) {
    i = probe(key);
    if (slots_[i].id.form != empty_form) {
      slots_[i].variant = ref;
      return false;
    }
  }
  if ((size_ + 1) * 10 > slots_.size() * 7) {
    grow();
    i = probe(key);
  }
  auto& s = slots_[i];
  s.hash = key.hash;
  s.id = key.id;
  s.variant = ref;
  if (key.id.form == in_arena) {
    arena_ref where{arena_.size(), static_cast<std::uint32_t>(key.text.size())};
    std::memcpy(s.id.bytes, &where, sizeof where);
    arena_.insert(arena_.end(), key.text.begin(), key.text.end());
  }
  ++size_;
  return true;
}

std::uint16_t sticky_table::variant_ref(const uuid& variant) {
  auto it = std::find(variants_.begin(), variants_.end(), variant);
  if (it != variants_.end())
    return static_cast<std::uint16_t>(it - variants_.begin());
  if (variants_.size() == none)
    throw std::length_error("sticky_table: more than 65535 variants");
  variants_.push_back(variant);
  return static_cast<std::uint16_t>(variants_.size() - 1);
}

void sticky_table::grow() {
  std::vector<slot> old(std::max<std::size_t>(slots_.size() * 2, 16));
  old.swap(slots_);
  mask_ = slots_.size() - 1;
  for (auto& s : old) {
    if (s.id.form == empty_form)
      continue;
    auto i = s.hash & mask_;
    while (slots_[i].id.form != empty_form)
      i = (i + 1) & mask_;
    slots_[i] = s;
  }
}

void sticky_table::clear() noexcept {
  *this = sticky_table{};
}

std::size_t sticky_table::memory_bytes() const noexcept {
  return slots_.capacity() * sizeof(slot) + arena_.capacity()
         + variants_.capacity() * sizeof(uuid);
}

} // namespace expd::core
