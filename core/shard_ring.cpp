#include "core/shard_ring.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>

#include <xxhash.h>

namespace expd::core {

namespace {

constexpr std::uint64_t routing_seed = 0x5a4d; // any constant other than the bucket seed 0

// The weight of a member for a slot: the member with the highest weight owns it.
std::uint64_t weight(const std::string& name, std::uint32_t slot) noexcept {
  return XXH64(name.data(), name.size(), routing_seed + slot * 0x9e3779b97f4a7c15ULL);
}

} // namespace

std::uint32_t slot_of(std::string_view unit_id) noexcept {
  return static_cast<std::uint32_t>(XXH64(unit_id.data(), unit_id.size(), routing_seed)
                                    % ring_slots);
}

shard_ring::shard_ring(std::uint64_t version, std::vector<ring_member> members)
  : version_(version), members_(std::move(members)) {
  std::sort(members_.begin(), members_.end(),
            [](const ring_member& a, const ring_member& b) { return a.name < b.name; });
  for (std::size_t i = 1; i < members_.size(); ++i)
    if (members_[i].name == members_[i - 1].name)
      throw std::invalid_argument("the ring names node " + members_[i].name + " twice");
  if (members_.size() > std::numeric_limits<std::uint16_t>::max())
    throw std::invalid_argument("a ring holds at most 65535 nodes");
  if (members_.empty())
    return;
  owners_.resize(ring_slots);
  for (std::uint32_t slot = 0; slot < ring_slots; ++slot) {
    std::uint16_t best = 0;
    auto best_weight = weight(members_[0].name, slot);
    for (std::size_t i = 1; i < members_.size(); ++i)
      if (auto w = weight(members_[i].name, slot); w > best_weight) {
        best_weight = w;
        best = static_cast<std::uint16_t>(i);
      }
    owners_[slot] = best;
  }
}

std::optional<std::size_t> shard_ring::index_of(std::string_view name) const noexcept {
  auto it = std::lower_bound(members_.begin(), members_.end(), name,
                             [](const ring_member& m, std::string_view n) { return m.name < n; });
  if (it == members_.end() || it->name != name)
    return std::nullopt;
  return static_cast<std::size_t>(it - members_.begin());
}

std::vector<std::uint32_t> shard_ring::slots_of(std::string_view name) const {
  std::vector<std::uint32_t> out;
  auto index = index_of(name);
  if (!index)
    return out;
  for (std::uint32_t slot = 0; slot < owners_.size(); ++slot)
    if (owners_[slot] == *index)
      out.push_back(slot);
  return out;
}

ring_change diff_rings(const shard_ring& before, const shard_ring& after, std::string_view self) {
  ring_change change;
  auto mine_before = before.index_of(self);
  auto mine_after = after.index_of(self);
  for (std::uint32_t slot = 0; slot < ring_slots; ++slot) {
    auto was = before.owner_of_slot(slot);
    auto now = after.owner_of_slot(slot);
    bool had = mine_before && was == *mine_before;
    bool has = mine_after && now == *mine_after;
    if (has && !had)
      change.gained.push_back(
        {slot, was == shard_ring::no_owner ? std::string{} : before.members()[was].name});
    else if (had && !has)
      change.lost.push_back(slot);
  }
  return change;
}

} // namespace expd::core
