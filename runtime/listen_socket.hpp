#pragma once

#include <cstdint>
#include <string>

namespace expd::runtime {

/// A TCP socket bound to host:port and listening, non-blocking, with SO_REUSEADDR.
/// Opened before the actor system starts so a taken port fails start-up loudly.
/// Throws std::runtime_error naming the address.
int open_listen_socket(const std::string& host, std::uint16_t port);

/// Blocks SIGTERM and SIGINT in the calling thread and every thread it starts later,
/// so they can be taken synchronously by wait_for_termination().
void block_termination_signals();

/// Waits for SIGTERM or SIGINT; returns its number.
int wait_for_termination();

} // namespace expd::runtime
