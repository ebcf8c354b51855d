#pragma once

#include <string_view>
#include <vector>

#include "core/shard_ring.hpp"
#include "messages/actors.hpp"

namespace expd {

/// The one place that decides which of this node's shards holds a unit: by its ring
/// slot, so a slot (the unit of handoff between nodes) lives in one local shard.
class shard_router {
public:
  shard_router() = default;

  explicit shard_router(std::vector<assignment_shard_actor> shards)
    : shards_(std::move(shards)) {
  }

  const assignment_shard_actor& route(std::string_view unit_id) const noexcept {
    return shards_[index_of(unit_id)];
  }

  std::size_t index_of(std::string_view unit_id) const noexcept {
    return core::slot_of(unit_id) % shards_.size();
  }

  const std::vector<assignment_shard_actor>& all() const noexcept {
    return shards_;
  }

private:
  std::vector<assignment_shard_actor> shards_;
};

} // namespace expd
