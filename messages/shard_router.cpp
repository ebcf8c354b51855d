#include "messages/shard_router.hpp"

#include <stdexcept>

namespace expd {

shard_router::shard_router(std::vector<assignment_shard_actor> shards)
  : shards_(std::move(shards)), destinations_(shards_.begin(), shards_.end()) {
}

shard_router::shard_router(std::vector<assignment_shard_actor> shards,
                           core::shard_ring_ptr ring, std::string_view self,
                           std::vector<bool> ready, std::vector<shard_access_actor> links,
                           std::uint64_t version)
  : shard_router(std::move(shards)) {
  ring_ = std::move(ring);
  self_ = ring_->index_of(self).value_or(core::shard_ring::no_owner);
  ready_ = std::move(ready);
  ready_.resize(core::ring_slots, false);
  links.resize(ring_->members().size());
  destinations_.insert(destinations_.end(), links.begin(), links.end());
  version_ = version;
}

void shard_router::remember(caf::scoped_actor& self, assignment_batch&& rows) const {
  std::vector<assignment_batch> per_shard(shards_.size());
  for (auto& row : rows)
    per_shard[index_of(row.unit_id)].push_back(std::move(row));
  for (std::size_t i = 0; i < per_shard.size(); ++i)
    if (!per_shard[i].empty())
      self->request(shards_[i], caf::infinite, atom::remember::value, per_shard[i])
        .receive([](std::uint64_t) {},
                 [](caf::error& err) { throw std::runtime_error(caf::to_string(err)); });
}

} // namespace expd
