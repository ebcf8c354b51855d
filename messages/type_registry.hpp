#pragma once

#include <caf/actor_system_config.hpp>

namespace expd {

/// Registers every message type and typed actor handle of messages/ under a portable
/// name ("expd.api_reply"), and the `expd` error category with its renderer, so the
/// middleman can carry them between nodes. Call it on every config before the
/// actor_system is made.
void add_message_types(caf::actor_system_config& cfg);

} // namespace expd
