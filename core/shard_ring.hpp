#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace expd::core {

/// Units hash into a fixed number of slots, and the ring gives each slot to a node.
/// The slot of a unit never changes, whatever the cluster's size: only the owner of a
/// slot does, so sticky rows are found by slot (exp.assignments.slot) when a slot moves.
constexpr std::uint32_t ring_slots = 4096;

/// XXH64 of the unit id with the routing seed, modulo ring_slots: independent of the
/// buckets the unit falls in (those hash the salt and the id with seed 0).
std::uint32_t slot_of(std::string_view unit_id) noexcept;

/// A node of the cluster as the ring knows it.
struct ring_member {
  std::string name;
  std::string cluster_address; ///< host:port of its node link
  std::string http_address;    ///< host:port of its gateway
};

/// Which node owns each slot: rendezvous (highest random weight) hashing, so removing
/// one of N nodes moves only its own slots (about 1/N of the units) and adding one
/// moves about 1/(N+1), each to the new node. An immutable, versioned value: nodes
/// install a ring only when it is newer than theirs, as they do snapshots.
class shard_ring {
public:
  static constexpr std::size_t no_owner = static_cast<std::size_t>(-1);

  /// Version 0 and no members: owns nothing.
  shard_ring() = default;

  /// Members are kept sorted by name; names must be unique (std::invalid_argument).
  shard_ring(std::uint64_t version, std::vector<ring_member> members);

  std::uint64_t version() const noexcept {
    return version_;
  }

  const std::vector<ring_member>& members() const noexcept {
    return members_;
  }

  /// Index into members() of the slot's owner, or no_owner for an empty ring.
  std::size_t owner_of_slot(std::uint32_t slot) const noexcept {
    return owners_.empty() ? no_owner : owners_[slot];
  }

  std::size_t owner_of(std::string_view unit_id) const noexcept {
    return owner_of_slot(slot_of(unit_id));
  }

  std::optional<std::size_t> index_of(std::string_view name) const noexcept;

  /// The slots `name` owns, ascending (none when it is not a member).
  std::vector<std::uint32_t> slots_of(std::string_view name) const;

private:
  std::uint64_t version_ = 0;
  std::vector<ring_member> members_;
  std::vector<std::uint16_t> owners_; ///< ring_slots entries; empty without members
};

using shard_ring_ptr = std::shared_ptr<const shard_ring>;

/// A slot that changes hands between two rings, from the view of one node.
struct slot_move {
  std::uint32_t slot;
  std::string from; ///< previous owner; empty when the older ring had no members
};

/// What `self` gains and loses going from `before` to `after`.
struct ring_change {
  std::vector<slot_move> gained;
  std::vector<std::uint32_t> lost;
};

ring_change diff_rings(const shard_ring& before, const shard_ring& after, std::string_view self);

} // namespace expd::core
