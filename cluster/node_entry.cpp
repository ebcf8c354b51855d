#include "cluster/node_entry.hpp"

#include <caf/blocking_actor.hpp>
#include <caf/io/middleman.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <chrono>
#include <map>
#include <memory>

#include "cluster/node_link.hpp"
#include "messages/error.hpp"
#include "runtime/log.hpp"

namespace expd::cluster {

namespace {

struct node_entry_state {
  static inline const char* name = "node_entry";

  node_hello hello;
  caf::actor membership;
  shard_router router;
  std::int64_t serve_until = 0; ///< steady clock, nanoseconds
  std::uint64_t refused = 0;
};

using self_ptr = node_entry_control_actor::stateful_pointer<node_entry_state>;

std::int64_t steady_now() {
  return std::chrono::steady_clock::now().time_since_epoch().count();
}

// The local shard for the unit, or none when this node may not answer for it.
const shard_access_actor* local_shard(self_ptr self, const std::string& unit_id) {
  auto& st = self->state;
  auto dest = st.router.route(unit_id);
  if (dest == shard_router::unavailable || st.router.is_remote(dest)
      || steady_now() >= st.serve_until) {
    ++st.refused;
    return nullptr;
  }
  return &st.router.destinations()[dest];
}

caf::error not_owner() {
  return make_error(ec::not_owner, "unit_id", "this node does not serve the unit's slot now; retry");
}

} // namespace

node_entry_control_actor spawn_node_entry(caf::actor_system& sys, node_hello hello) {
  return sys.spawn([hello = std::move(hello)](self_ptr self)
                     -> node_entry_control_actor::behavior_type {
    self->state.hello = hello;
    return {
      [=](atom::assign, core::assign_request& req) -> caf::result<api_reply> {
        auto* shard = local_shard(self, req.unit_id);
        if (shard == nullptr)
          return not_owner();
        return self->delegate(*shard, atom::assign::value, std::move(req));
      },
      [=](atom::held, unit_refs& units) -> caf::result<held_variants_list> {
        // The units are this node's but may live in several of its shards.
        struct part {
          unit_refs units;
          std::vector<std::size_t> at;
        };
        std::map<const shard_access_actor*, part> parts;
        for (std::size_t i = 0; i < units.size(); ++i)
          if (auto* shard = local_shard(self, units[i].unit_id)) {
            auto& p = parts[shard];
            p.units.push_back(std::move(units[i]));
            p.at.push_back(i);
          }
        auto out = std::make_shared<held_variants_list>(units.size());
        if (parts.empty())
          return *out;
        auto rp = self->make_response_promise<held_variants_list>();
        auto remaining = std::make_shared<std::size_t>(parts.size());
        for (auto& [shard, p] : parts) {
          auto done = [rp, out, remaining]() mutable {
            if (--*remaining == 0)
              rp.deliver(std::move(*out));
          };
          self->request(*shard, caf::infinite, atom::held::value, std::move(p.units))
            .then(
              [out, at = p.at, done](held_variants_list& lists) mutable {
                for (std::size_t k = 0; k < at.size() && k < lists.size(); ++k)
                  (*out)[at[k]] = std::move(lists[k]);
                done();
              },
              [done](caf::error&) mutable { done(); });
        }
        return rp;
      },
      [=](atom::barrier, assignment_barrier& b) -> caf::result<bool> {
        auto& shards = self->state.router.all();
        if (shards.empty())
          return true;
        // Answered once: true when every shard is, else the first refusal.
        struct gather {
          caf::typed_response_promise<bool> rp;
          std::size_t remaining;
        };
        auto g = std::make_shared<gather>(gather{self->make_response_promise<bool>(), shards.size()});
        for (auto& shard : shards)
          self->request(shard, caf::infinite, atom::barrier::value, b)
            .then(
              [g](bool) {
                if (g->remaining > 0 && --g->remaining == 0)
                  g->rp.deliver(true);
              },
              [g](caf::error& e) {
                if (g->remaining > 0) {
                  g->remaining = 0;
                  g->rp.deliver(std::move(e));
                }
              });
        return g->rp;
      },
      [=](atom::hello, node_hello& caller, caf::actor& entry) -> caf::result<node_hello> {
        auto welcome = [=]() mutable {
          auto& st = self->state;
          if (entry && st.membership && caller.cluster_id == st.hello.cluster_id
              && caller.protocol == st.hello.protocol)
            caf::anon_send(st.membership, atom::linked::value, std::move(caller.name),
                           caf::actor_cast<node_entry_actor>(entry));
          return st.hello;
        };
        auto sender = self->current_sender();
        if (sender == nullptr || sender->node() == self->node())
          return welcome();
        // Another node's name counts only if the certificate of its link names it.
        auto rp = self->make_response_promise<node_hello>();
        self->request(self->system().middleman().actor_handle(), std::chrono::seconds{5},
                      caf::get_atom::value, sender->node())
          .then(
            [=](const caf::node_id&, const std::string& host, std::uint16_t port) mutable {
              auto refused = check_peer_name(host, port, caller.name, peer_drop::after_reply);
              if (!refused) {
                rp.deliver(welcome());
                return;
              }
              runtime::log(runtime::log_level::error, "node_link_refused",
                           {{"node", caller.name}, {"address", host + ":" + std::to_string(port)},
                            {"error", error_text(self->system(), refused)}});
              rp.deliver(std::move(refused));
            },
            [=](caf::error& err) mutable { rp.deliver(std::move(err)); });
        return rp;
      },
      [=](atom::subscribe, caf::actor& membership) { self->state.membership = std::move(membership); },
      [=](atom::routing, shard_router& router) {
        if (router.version() > self->state.router.version())
          self->state.router = std::move(router);
      },
      [=](atom::lease, std::int64_t until) { self->state.serve_until = until; },
    };
  });
}

} // namespace expd::cluster
