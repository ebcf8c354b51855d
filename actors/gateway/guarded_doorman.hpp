#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <caf/io/abstract_broker.hpp>
#include <caf/io/doorman.hpp>

namespace expd {

/// What the gateway and its doorman share; both run on the multiplexer's thread.
struct accept_guard {
  std::uint64_t shed = 0; ///< connections answered at once for want of descriptors
  bool paused = false;    ///< accepting stopped; the broker resumes it with trigger()
};

/// A doorman for `listen_fd` that accepts as CAF's own does, except out of descriptors
/// (EMFILE, ENFILE). CAF's acceptor leaves that connection queued and, the socket still
/// readable, retries at once forever: a core at 100% and a client without an answer.
/// This one sheds the connection with `answer` (runtime::descriptor_reserve) and, when
/// even that fails, stops accepting and sets guard->paused.
caf::io::doorman_ptr make_guarded_doorman(caf::io::abstract_broker* broker, int listen_fd,
                                          std::shared_ptr<accept_guard> guard,
                                          std::string answer);

} // namespace expd
