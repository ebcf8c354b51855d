#pragma once

#include <memory>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <gtest/gtest.h>

#include "messages/type_registry.hpp"

namespace expd::test {

/// A real actor system per test, configured as the node's is, with a scoped actor to
/// send requests and receive the replies.
struct actor_system_fixture : ::testing::Test {
  actor_system_fixture() : sys(configured(cfg)), self(sys) {
  }

  static caf::actor_system_config& configured(caf::actor_system_config& c) {
    // The gateway is a broker, and the membership actor links to other nodes.
    c.load<caf::io::middleman>();
    add_message_types(c);
    return c;
  }

  caf::actor_system_config cfg;
  caf::actor_system sys;
  caf::scoped_actor self;
};

} // namespace expd::test
