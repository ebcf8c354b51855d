#pragma once

#include <chrono>

#include <caf/actor_cast.hpp>
#include <caf/send.hpp>

namespace expd {

/// Sends `atom` to the actor `self` after `delay` (at once for 0) unless one is already
/// on its way, as `pending` records (the handler clears it): a busy actor queues one
/// wake-up, not one per event. Anonymous: a reply to a wake-up has nobody to go to.
template <class Handle, class SelfPtr, class Atom>
void wake_once(SelfPtr self, bool& pending, std::chrono::milliseconds delay, Atom atom) {
  if (pending)
    return;
  pending = true;
  auto me = caf::actor_cast<Handle>(self);
  if (delay.count() == 0)
    caf::anon_send(me, atom);
  else
    caf::delayed_anon_send(me, delay, atom);
}

} // namespace expd
