#pragma once

#include "messages/actors.hpp"
#include "messages/shard_router.hpp"

namespace expd::cluster {

/// Answers other nodes' requests for units of the slots this node owns and has taken
/// over, passing each to its local shard (one hop: the shard replies straight to the
/// asking node). Any other unit, and every unit once this node's lease may have run
/// out, is refused: a partitioned node never answers for slots another node owns.
node_entry_control_actor spawn_node_entry(caf::actor_system& sys, node_hello hello);

} // namespace expd::cluster
