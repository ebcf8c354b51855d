#pragma once

#include <string_view>
#include <vector>

#include "core/bucketing.hpp"
#include "messages/actors.hpp"

namespace expd {

/// The one place that decides which shard owns a unit. Today every shard is local;
/// the cluster hands it remote shard handles from the ring, and nothing that routes
/// through it changes.
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
    return core::shard_of(unit_id, shards_.size());
  }

  const std::vector<assignment_shard_actor>& all() const noexcept {
    return shards_;
  }

private:
  std::vector<assignment_shard_actor> shards_;
};

} // namespace expd
