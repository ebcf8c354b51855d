#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

#include "core/uuid.hpp"

namespace expd::core {

/// A unit id in the form sticky_table keeps it: up to 21 bytes inline, a canonical
/// lower-case uuid packed into 16 bytes, anything longer in the table's arena. The
/// form is a function of the id alone, so two ids are equal exactly when their forms
/// and bytes are (the arena form compares the arena's bytes instead).
struct stored_id {
  std::uint8_t form = 0;
  char bytes[21] = {};

  friend bool operator==(const stored_id& a, const stored_id& b) noexcept {
    return std::memcmp(&a, &b, sizeof a) == 0;
  }
};

/// A unit id hashed and encoded once per request, then looked up in the table of
/// every experiment the request reaches. Refers to the caller's characters.
struct unit_key {
  explicit unit_key(std::string_view unit_id) noexcept;

  std::string_view text;
  std::uint64_t hash; ///< XXH3-64 of the id
  stored_id id;
};

/// The sticky variant of every unit one experiment has assigned, for 1M+ units per
/// shard: flat open addressing with linear probing over 32-byte slots, so a lookup
/// of a short id or a uuid costs one cache miss. Slots hold the id's hash, the id
/// and a 2-byte reference into a small dictionary of variant ids. Units are never
/// removed one by one: an experiment that is gone or re-salted drops its whole table.
class sticky_table {
public:
  /// What find() answers for a unit without a variant here.
  static constexpr std::uint16_t none = 0xffff;

  /// Index into variant_ids() of the variant the unit sticks to, or none.
  std::uint16_t find(const unit_key& key) const noexcept;

  /// Starts loading the slot find(key) reads first, to overlap the likely cache miss
  /// with other work of the same request.
  void prefetch(const unit_key& key) const noexcept {
    // Unconditional: GCC 12 drops a prefetch under a branch. Empty: prefetches null.
    __builtin_prefetch(slots_.data() + (key.hash & mask_));
  }

  /// Sticks the unit to `variant`; true when it had no variant before. Throws
  /// std::length_error past 65535 distinct variants.
  bool insert_or_assign(const unit_key& key, const uuid& variant);

  /// The distinct variants units stick to, in first-seen order; find() indexes it.
  const std::vector<uuid>& variant_ids() const noexcept {
    return variants_;
  }

  std::size_t size() const noexcept {
    return size_;
  }

  /// Forgets every unit and releases the memory.
  void clear() noexcept;

  /// Heap bytes held: slots, arena and variant dictionary.
  std::size_t memory_bytes() const noexcept;

private:
  struct alignas(32) slot {
    std::uint64_t hash;
    stored_id id; ///< form 0: empty
    std::uint16_t variant;
  };
  static_assert(sizeof(slot) == 32, "two slots per cache line");

  bool holds(const slot& s, const unit_key& key) const noexcept;
  /// The slot holding `key`, else the empty slot that ends its probe run.
  std::size_t probe(const unit_key& key) const noexcept;
  std::uint16_t variant_ref(const uuid& variant);
  void grow();

  std::vector<slot> slots_; ///< power-of-two size, at most 70% full
  std::size_t mask_ = 0;    ///< slots_.size() - 1, or 0 while there are none
  std::size_t size_ = 0;
  std::vector<char> arena_; ///< ids too long to hold inline, back to back
  std::vector<uuid> variants_;
};

} // namespace expd::core
