#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/scoped_actor.hpp>

#include "core/shard_ring.hpp"
#include "messages/actors.hpp"

namespace expd {

/// The one place that decides who answers for a unit: one of this node's shards, or
/// the entry of the node that owns the unit's ring slot. A value: the membership actor
/// pushes a new one to the gateway, the entry and ingestion on each change of the ring,
/// of a slot's readiness or of a node link; the newest `version` wins.
class shard_router {
public:
  static constexpr std::size_t unavailable = static_cast<std::size_t>(-1);

  shard_router() = default;

  /// One node alone: every slot is local.
  explicit shard_router(std::vector<assignment_shard_actor> shards);

  /// A member of a cluster: `ready` says, per slot, whether this node has finished
  /// taking it over; `links` holds, per ring member, its entry (null for this node and
  /// for nodes not reached yet).
  shard_router(std::vector<assignment_shard_actor> shards, core::shard_ring_ptr ring,
               std::string_view self, std::vector<bool> ready,
               std::vector<shard_access_actor> links, std::uint64_t version);

  /// Index into destinations() of who answers for the unit, or unavailable: its slot is
  /// this node's but not taken over yet, it has no owner, or its owner is not linked.
  std::size_t route(std::string_view unit_id) const noexcept {
    if (shards_.empty()) // a default router, before the first is installed
      return unavailable;
    auto slot = core::slot_of(unit_id);
    if (!ring_)
      return slot % shards_.size();
    auto owner = ring_->owner_of_slot(slot);
    if (owner == self_)
      return ready_[slot] ? slot % shards_.size() : unavailable;
    if (owner == core::shard_ring::no_owner || !destinations_[shards_.size() + owner])
      return unavailable;
    return shards_.size() + owner;
  }

  /// This node's shards first (as many as all()), then one entry per ring member.
  const std::vector<shard_access_actor>& destinations() const noexcept {
    return destinations_;
  }

  bool is_remote(std::size_t destination) const noexcept {
    return destination >= shards_.size();
  }

  /// The local shard that holds the unit's slot.
  std::size_t index_of(std::string_view unit_id) const noexcept {
    return core::slot_of(unit_id) % shards_.size();
  }

  /// Hands stored sticky rows to the local shards that hold their units and waits for
  /// each to take them (blocking: start-up and slot takeover only). Throws
  /// std::runtime_error when a shard does not.
  void remember(caf::scoped_actor& self, assignment_batch&& rows) const;

  /// This node's shards.
  const std::vector<assignment_shard_actor>& all() const noexcept {
    return shards_;
  }

  /// This node's index among the ring's members (shard_ring::no_owner when it is not one).
  std::size_t self_index() const noexcept {
    return self_;
  }

  /// Null for a node alone.
  const core::shard_ring_ptr& ring() const noexcept {
    return ring_;
  }

  std::uint64_t version() const noexcept {
    return version_;
  }

private:
  std::vector<assignment_shard_actor> shards_;
  std::vector<shard_access_actor> destinations_;
  core::shard_ring_ptr ring_;
  std::size_t self_ = core::shard_ring::no_owner;
  std::vector<bool> ready_;
  std::uint64_t version_ = 0;
};

} // namespace expd

// In-process only: it holds this node's actor handles and ring by pointer; every node
// builds its own from the ring in PostgreSQL.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(expd::shard_router)
