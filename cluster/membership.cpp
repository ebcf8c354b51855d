#include "cluster/membership.hpp"

#include <caf/blocking_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <algorithm>
#include <map>
#include <thread>
#include <set>

#include <caf/scoped_actor.hpp>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "core/node_figures.hpp"
#include "messages/error.hpp"
#include "messages/shard_router.hpp"
#include "runtime/assignment_store.hpp"
#include "runtime/log.hpp"

namespace expd::cluster {

namespace {

using clock_type = std::chrono::steady_clock;
using nlohmann::json;
using runtime::log;
using runtime::log_level;

// Hears NOTIFY expd_cluster; a change of experiments elsewhere is passed to the
// registry at once, anything else makes the next pass come early.
struct notice_receiver : pqxx::notification_receiver {
  notice_receiver(pqxx::connection_base& conn, std::function<void(const std::string&)> fn)
    : pqxx::notification_receiver(conn, "expd_cluster"), on_notice(std::move(fn)) {
  }

  void operator()(const std::string& payload, int) override {
    on_notice(payload);
  }

  std::function<void(const std::string&)> on_notice;
};

struct membership_state {
  static inline const char* name = "membership";

  membership_config cfg;
  membership_peers peers;
  std::unique_ptr<runtime::cluster_store> store;
  std::unique_ptr<runtime::assignment_store> assignments;
  std::unique_ptr<pqxx::connection> listen_conn;
  std::unique_ptr<notice_receiver> notices;
  std::string state = "joining";
  core::shard_ring_ptr ring = std::make_shared<const core::shard_ring>();
  std::vector<bool> ready = std::vector<bool>(core::ring_slots, false);
  std::map<std::uint32_t, std::string> pending; ///< gained, not taken over: slot -> previous owner
  std::int64_t released = 0; ///< the ring whose lost slots are released
  std::map<std::string, node_entry_actor> links;
  std::map<caf::actor_addr, std::string> link_names;
  std::map<std::string, clock_type::time_point> last_link_attempt;
  std::set<std::string> linking;
  std::uint64_t routing_version = 0;
  std::vector<caf::actor> gateways;
  std::int64_t serve_until = 0; ///< the lease as last sent
  std::vector<caf::typed_response_promise<bool>> leaving;
  bool left = false;
  clock_type::time_point last_stats{};
  core::node_totals totals_before;
  std::map<caf::actor_addr, status_record> last_records; ///< by actor, for gather_stats
  std::string stats_json = "{}";
  std::uint64_t passes = 0;
  std::uint64_t ring_changes = 0, slots_taken = 0, rows_loaded = 0, pass_failures = 0,
                replaced = 0;
};

using self_ptr = membership_actor::stateful_pointer<membership_state>;

const std::string& my_name(self_ptr self) {
  return self->state.cfg.identity.name;
}

void push_routing(self_ptr self) {
  auto& st = self->state;
  std::vector<shard_access_actor> links(st.ring->members().size());
  for (std::size_t i = 0; i < links.size(); ++i)
    if (auto it = st.links.find(st.ring->members()[i].name); it != st.links.end())
      links[i] = it->second;
  shard_router router{st.peers.shards, st.ring, my_name(self), st.ready, std::move(links),
                      ++st.routing_version};
  self->send(st.peers.entry, atom::routing::value, router);
  self->send(st.peers.ingestion, atom::routing::value, router);
  self->send(st.peers.registry, atom::routing::value, router);
  for (auto& gateway : st.gateways)
    caf::anon_send(gateway, atom::routing::value, router);
}

void send_lease(self_ptr self, clock_type::time_point until) {
  auto& st = self->state;
  st.serve_until = static_cast<std::int64_t>(until.time_since_epoch().count());
  self->send(st.peers.entry, atom::lease::value, st.serve_until);
  for (auto& gateway : st.gateways)
    caf::anon_send(gateway, atom::lease::value, st.serve_until);
}

core::shard_ring_ptr build_ring(const runtime::cluster_ring_row& row,
                                const std::vector<runtime::cluster_node_row>& nodes) {
  std::vector<core::ring_member> members;
  for (auto& name : row.members)
    for (auto& n : nodes)
      if (n.node.name == name)
        members.push_back({name, n.node.cluster_address, n.node.http_address});
  return std::make_shared<const core::shard_ring>(static_cast<std::uint64_t>(row.version),
                                                  std::move(members));
}

void install(self_ptr self, const runtime::cluster_ring_row& row) {
  auto& st = self->state;
  auto next = build_ring(row, st.store->nodes());
  auto change = core::diff_rings(*st.ring, *next, my_name(self));
  for (auto slot : change.lost) {
    st.ready[slot] = false;
    st.pending.erase(slot);
  }
  for (auto& move : change.gained)
    st.pending[move.slot] = move.from;
  st.ring = std::move(next);
  ++st.ring_changes;
  log(log_level::info, "ring_installed",
      {{"version", row.version}, {"members", row.members}, {"gained", change.gained.size()},
       {"lost", change.lost.size()}});
  push_routing(self);
}

// The slots lost are no longer routed here (the routing went out first); what the shards
// assigned in them is handed to the writer and stored, then the release is recorded so
// their new owners load complete sticky rows.
void release(self_ptr self) {
  auto& st = self->state;
  caf::scoped_actor sync{self->system()};
  for (auto& shard : st.peers.shards)
    sync->request(shard, std::chrono::seconds{5}, atom::flush::value)
      .receive([](bool) {}, [](caf::error&) {});
  std::uint64_t left = 1;
  sync->request(st.peers.writer, st.cfg.drain_timeout + std::chrono::seconds{5}, atom::drain::value)
    .receive([&](std::uint64_t n) { left = n; }, [](caf::error&) {});
  if (left != 0) {
    log(log_level::warn, "ring_release_waits", {{"version", st.ring->version()}, {"rows_unwritten", left}});
    return;
  }
  st.store->release(my_name(self), st.cfg.incarnation, static_cast<std::int64_t>(st.ring->version()));
  st.released = static_cast<std::int64_t>(st.ring->version());
}

// A gained slot is taken over once nobody else may still assign in it without having
// stored what it assigned: its previous owner released it, left, or is down.
void take_over(self_ptr self) {
  auto& st = self->state;
  if (st.pending.empty())
    return;
  auto nodes = st.store->nodes();
  auto version = static_cast<std::int64_t>(st.ring->version());
  std::vector<std::uint32_t> slots;
  for (auto& [slot, from] : st.pending) {
    auto previous = std::find_if(nodes.begin(), nodes.end(),
                                 [&](auto& n) { return n.node.name == from; });
    if (from.empty() || previous == nodes.end() || previous->state == "down"
        || previous->state == "left" || previous->lease_left_seconds <= 0
        || previous->released_ring >= version)
      slots.push_back(slot);
  }
  if (slots.empty())
    return;
  auto started = clock_type::now();
  caf::scoped_actor sync{self->system()};
  // The experiments as PostgreSQL has them now, in the shards before any row: the slots'
  // previous owner may have served a bucket move whose NOTIFY this node missed, and a
  // unit whose row it lost must get the variant of the buckets it was given.
  sync->request(st.peers.registry, std::chrono::seconds{5}, atom::reload::value)
    .receive([](std::uint64_t) {}, [](caf::error&) {});
  std::uint64_t rows = 0;
  shard_router local{st.peers.shards};
  st.assignments->for_each_served(
    st.cfg.preload_batch,
    [&](assignment_batch&& batch) {
      rows += batch.size();
      local.remember(sync, std::move(batch));
    },
    &slots);
  for (auto slot : slots) {
    st.ready[slot] = true;
    st.pending.erase(slot);
  }
  st.slots_taken += slots.size();
  st.rows_loaded += rows;
  log(log_level::info, "slots_taken_over",
      {{"slots", slots.size()}, {"rows", rows}, {"ring", version},
       {"seconds", std::chrono::duration<double>(clock_type::now() - started).count()}});
  push_routing(self);
}

// Links to ring members not linked yet, at most once a second each, from a thread of
// its own: a connect to a cut-off host can hang far longer than a lease. Of each pair
// only the later incarnation dials, handing over its entry: two TLS connections between
// one pair (CAF 0.17 keeps one and drops the other) lose each other's messages and
// drop the link every few seconds.
void link_missing(self_ptr self) {
  auto& st = self->state;
  auto now = clock_type::now();
  std::vector<core::ring_member> due;
  for (auto& m : st.ring->members()) {
    if (m.name == my_name(self) || st.links.count(m.name) || st.linking.count(m.name)
        || now - st.last_link_attempt[m.name] < std::chrono::seconds{1})
      continue;
    due.push_back(m);
  }
  if (due.empty())
    return;
  auto nodes = st.store->nodes();
  for (auto& m : due) {
    auto row = std::find_if(nodes.begin(), nodes.end(), [&](auto& n) { return n.node.name == m.name; });
    if (row == nodes.end() || row->incarnation > st.cfg.incarnation)
      continue;
    st.last_link_attempt[m.name] = now;
    st.linking.insert(m.name);
    auto me = caf::actor_cast<membership_actor>(self);
    self->system().spawn<caf::detached>(
      [me, name = m.name, address = m.cluster_address, sec = st.cfg.security,
       hello = st.cfg.hello, entry = caf::actor_cast<caf::actor>(st.peers.entry),
       timeout = st.cfg.link_timeout](caf::blocking_actor* linker) {
        auto linked = connect_node(linker->system(), address, sec, hello, entry, timeout);
        if (!linked)
          log(log_level::warn, "node_link_failed",
              {{"node", name}, {"address", address}, {"error", linker->system().render(linked.error())}});
        linker->send(me, atom::linked::value, name, linked ? linked->entry : node_entry_actor{});
      });
  }
}

// Another process took the name (or the lease ran out while PostgreSQL was away): serve
// nothing, and join again as a new incarnation that takes its slots over like a new node.
void rejoin(self_ptr self) {
  auto& st = self->state;
  ++st.replaced;
  send_lease(self, clock_type::time_point{});
  log(log_level::error, "node_lease_lost",
      {{"node", my_name(self)}, {"incarnation", st.cfg.incarnation},
       {"fix", "nothing: the node joins again as a new incarnation"}});
  st.cfg.incarnation = st.store->join(st.cfg.identity, st.cfg.lease * 2);
  st.state = "joining";
  st.ring = build_ring(st.store->reconcile(), st.store->nodes());
  st.ready.assign(core::ring_slots, false);
  st.pending.clear();
  st.released = 0;
  push_routing(self);
}

// The node's figures for its lease renewal, at most once a second: the counters of its
// actors' status records (the ones /metrics shows) as rates since the last time, the
// queue depths as they stand. Every request goes out before any answer is awaited,
// and an actor that does not answer in time (the loader in a long COPY) counts with
// its last record, so it reads neither as an empty queue nor as a counter back at 0.
std::string gather_stats(self_ptr self) {
  auto& st = self->state;
  auto now = clock_type::now();
  if (now - st.last_stats < std::chrono::seconds{1})
    return st.stats_json;
  std::vector<status_actor> sources(st.peers.shards.begin(), st.peers.shards.end());
  sources.insert(sources.end(), {st.peers.writer, st.peers.ingestion, st.peers.loader});
  for (auto& gateway : st.gateways)
    sources.push_back(caf::actor_cast<status_actor>(gateway));
  caf::scoped_actor sync{self->system()};
  std::vector<decltype(sync->request(sources[0], caf::infinite, atom::status::value))> asked;
  for (auto& source : sources)
    asked.push_back(sync->request(source, std::chrono::milliseconds{100}, atom::status::value));
  for (std::size_t i = 0; i < asked.size(); ++i)
    asked[i].receive([&](status_record& r) { st.last_records[sources[i].address()] = std::move(r); },
                     [](caf::error&) {});
  core::node_totals totals;
  for (auto& [source, record] : st.last_records)
    for (auto& s : record.samples)
      core::add_sample(totals, s.name, s.labels, s.value);
  auto seconds = st.last_stats == clock_type::time_point{}
                   ? 0.0
                   : std::chrono::duration<double>(now - st.last_stats).count();
  auto figures = core::node_figures(st.totals_before, totals, seconds);
  st.last_stats = now;
  st.totals_before = totals;
  std::size_t ready = 0;
  for (bool r : st.ready)
    ready += r;
  figures["slots_ready"] = ready;
  figures["ring_version"] = st.ring->version();
  st.stats_json = figures.dump();
  return st.stats_json;
}

void answer_leaving(self_ptr self) {
  auto& st = self->state;
  if (st.leaving.empty() || st.ring->index_of(my_name(self))
      || st.released < static_cast<std::int64_t>(st.ring->version()))
    return;
  if (!st.left) {
    st.store->set_state(my_name(self), st.cfg.incarnation, "left");
    st.left = true;
    log(log_level::info, "node_left", {{"node", my_name(self)}, {"ring", st.ring->version()}});
  }
  for (auto& rp : st.leaving)
    rp.deliver(true);
  st.leaving.clear();
}

// Sleeps out the rest of the interval on the notification socket.
void wait_for_notices(self_ptr self, clock_type::time_point started) {
  auto& st = self->state;
  auto left = st.cfg.renew_interval - (clock_type::now() - started);
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(left).count();
  if (us <= 0)
    return;
  try {
    if (!st.listen_conn) {
      st.listen_conn = std::make_unique<pqxx::connection>(st.cfg.pg_url);
      st.notices = std::make_unique<notice_receiver>(*st.listen_conn, [self](const std::string& what) {
        if (what == "experiments")
          caf::anon_send(self->state.peers.registry, atom::reload::value);
      });
    }
    st.listen_conn->await_notification(us / 1000000, us % 1000000);
  } catch (const std::exception&) {
    st.notices.reset();
    st.listen_conn.reset();
    std::this_thread::sleep_for(left);
  }
}

void pass(self_ptr self) {
  auto& st = self->state;
  auto started = clock_type::now();
  try {
    auto state = st.store->renew(my_name(self), st.cfg.incarnation, gather_stats(self));
    if (!state) {
      rejoin(self);
    } else {
      send_lease(self, started + st.cfg.lease - st.cfg.lease / 4);
      if (*state == "draining" && st.state == "up") {
        st.state = "draining";
        log(log_level::info, "node_draining", {{"node", my_name(self)}});
      }
    }
    if (st.state == "joining" && st.store->set_state(my_name(self), st.cfg.incarnation, "up"))
      st.state = "up";
    auto row = st.store->reconcile();
    if (static_cast<std::uint64_t>(row.version) > st.ring->version())
      install(self, row);
    if (st.released < static_cast<std::int64_t>(st.ring->version()))
      release(self);
    take_over(self);
    answer_leaving(self);
    link_missing(self);
  } catch (const std::exception& e) {
    ++st.pass_failures;
    log(log_level::error, "membership_pass_failed", {{"error", e.what()}});
  }
  // A notice missed while the listening connection was down is caught up within a second.
  if (++st.passes % std::max<std::int64_t>(1, 1000 / st.cfg.renew_interval.count()) == 0)
    caf::anon_send(st.peers.registry, atom::reload::value);
  wait_for_notices(self, started);
}

status_record membership_status(self_ptr self) {
  auto& st = self->state;
  std::size_t owned = 0, ready = 0;
  if (auto me = st.ring->index_of(my_name(self)))
    for (std::uint32_t s = 0; s < core::ring_slots; ++s) {
      owned += st.ring->owner_of_slot(s) == *me;
      ready += st.ready[s];
    }
  auto g = [](const char* name, const char* help, double v) {
    return metric_sample{name, "gauge", help, "", v};
  };
  auto c = [](const char* name, const char* help, double v) {
    return metric_sample{name, "counter", help, "", v};
  };
  return {"membership",
          {g("expd_cluster_ring_version", "Version of the ring this node routes by.",
             static_cast<double>(st.ring->version())),
           g("expd_cluster_slots_owned", "Ring slots this node owns.", static_cast<double>(owned)),
           g("expd_cluster_slots_ready", "Owned slots taken over and served.",
             static_cast<double>(ready)),
           g("expd_cluster_links", "Other nodes this node is linked to.",
             static_cast<double>(st.links.size())),
           c("expd_cluster_ring_changes_total", "Rings installed.",
             static_cast<double>(st.ring_changes)),
           c("expd_cluster_slots_taken_total", "Slots taken over from other nodes or a start.",
             static_cast<double>(st.slots_taken)),
           c("expd_cluster_rows_loaded_total", "Sticky rows loaded for slots taken over.",
             static_cast<double>(st.rows_loaded)),
           c("expd_cluster_pass_failures_total", "Membership passes that failed (PostgreSQL away).",
             static_cast<double>(st.pass_failures)),
           c("expd_cluster_lease_lost_total", "Times this node lost its lease and joined again.",
             static_cast<double>(st.replaced))}};
}

api_reply describe_cluster(self_ptr self) {
  auto& st = self->state;
  auto nodes = st.store->nodes();
  json list = json::array();
  for (auto& n : nodes) {
    auto index = st.ring->index_of(n.node.name);
    std::size_t owned = index ? st.ring->slots_of(n.node.name).size() : 0;
    auto stats = json::parse(n.stats_json, nullptr, false);
    list.push_back({{"name", n.node.name},
                    {"cluster_address", n.node.cluster_address},
                    {"http_address", n.node.http_address},
                    {"state", n.state},
                    {"incarnation", n.incarnation},
                    {"build_version", n.node.build_version},
                    {"protocol", n.node.protocol},
                    {"started_at", n.started_at},
                    {"lease_left_seconds", n.lease_left_seconds},
                    {"slots_owned", owned},
                    {"ring_version", st.ring->version()},
                    {"linked", n.node.name == my_name(self) || st.links.count(n.node.name) > 0},
                    {"stats", stats.is_discarded() ? json::object() : stats},
                    {"stats_age_seconds", n.stats_age_seconds ? json(*n.stats_age_seconds) : json()}});
  }
  json members = json::array();
  for (auto& m : st.ring->members())
    members.push_back(m.name);
  json body{{"cluster_id", st.cfg.hello.cluster_id},
            {"answered_by", my_name(self)},
            {"ring", {{"version", st.ring->version()}, {"slots", core::ring_slots}, {"members", members}}},
            {"nodes", std::move(list)}};
  return {200, body.dump(-1, ' ', false, json::error_handler_t::replace)};
}

// An operator's drain or forget of a node by name: `change` acts on a node in one of
// the `allowed` states, which then is `after`.
caf::result<api_reply>
operator_change(self_ptr self, const std::string& name,
                std::optional<std::string> (runtime::cluster_store::*change)(const std::string&),
                std::initializer_list<const char*> allowed, const char* after) {
  std::optional<std::string> before;
  try {
    before = (self->state.store.get()->*change)(name);
  } catch (const std::exception& e) {
    return make_error(ec::database_unavailable, "", std::string{"PostgreSQL: "} + e.what());
  }
  if (!before)
    return make_error(ec::not_found, "name", "no node is named " + name);
  if (std::none_of(allowed.begin(), allowed.end(), [&](const char* s) { return *before == s; })) {
    std::string states;
    for (auto* s : allowed)
      states += (states.empty() ? "" : " or ") + std::string{s};
    return make_error(ec::invalid_transition, "name",
                      "node " + name + " is " + *before + ", not " + states + ": it cannot be "
                        + after);
  }
  log(log_level::info, "node_changed_by_operator", {{"node", name}, {"was", *before}, {"now", after}});
  return api_reply{200, json{{"node", name}, {"was", *before}, {"state", after}}.dump()};
}

} // namespace

membership_actor spawn_membership(caf::actor_system& sys, membership_config cfg,
                                  membership_peers peers) {
  return sys.spawn<caf::detached>(
    [cfg = std::move(cfg), peers = std::move(peers)](self_ptr self) mutable
    -> membership_actor::behavior_type {
      auto& st = self->state;
      st.cfg = std::move(cfg);
      st.peers = std::move(peers);
      st.store = std::make_unique<runtime::cluster_store>(st.cfg.pg_url, st.cfg.lease);
      st.assignments = std::make_unique<runtime::assignment_store>(st.cfg.pg_url);
      // The ring as it stands, which this node is not in yet: slots it gains later are
      // gained from their owners in it.
      st.ring = build_ring(st.store->reconcile(), st.store->nodes());
      push_routing(self);
      self->send(st.peers.entry, atom::subscribe::value, caf::actor_cast<caf::actor>(self));
      self->set_down_handler([self](const caf::down_msg& msg) {
        auto& st = self->state;
        auto it = st.link_names.find(msg.source);
        if (it == st.link_names.end())
          return;
        log(log_level::warn, "node_link_lost", {{"node", it->second}});
        st.links.erase(it->second);
        st.link_names.erase(it);
        push_routing(self);
      });
      self->send(self, atom::tick::value);
      return {
        [=](atom::tick) {
          pass(self);
          self->send(self, atom::tick::value);
        },
        [=](atom::linked, std::string& name, node_entry_actor& entry) {
          auto& st = self->state;
          st.linking.erase(name);
          // A node that linked to this one may not be in the ring installed here yet.
          if (!entry)
            return;
          if (auto old = st.links.find(name); old != st.links.end()) {
            self->demonitor(old->second.address());
            st.link_names.erase(old->second.address());
          }
          self->monitor(entry);
          st.link_names[entry.address()] = name;
          st.links[name] = std::move(entry);
          log(log_level::info, "node_linked", {{"node", name}});
          push_routing(self);
        },
        [=](atom::subscribe, caf::actor& gateway) {
          auto& st = self->state;
          st.gateways.push_back(gateway);
          caf::anon_send(gateway, atom::lease::value, st.serve_until);
          push_routing(self);
        },
        [=](atom::nodes) -> caf::result<api_reply> {
          try {
            return describe_cluster(self);
          } catch (const std::exception& e) {
            return make_error(ec::database_unavailable, "", std::string{"PostgreSQL: "} + e.what());
          }
        },
        [=](atom::drain_node, const std::string& name) -> caf::result<api_reply> {
          return operator_change(self, name, &runtime::cluster_store::drain, {"up", "draining"},
                                 "draining");
        },
        [=](atom::forget_node, const std::string& name) -> caf::result<api_reply> {
          return operator_change(self, name, &runtime::cluster_store::forget, {"down", "left"},
                                 "forgotten");
        },
        [=](atom::leave) -> caf::result<bool> {
          auto& st = self->state;
          st.state = "draining";
          st.store->set_state(my_name(self), st.cfg.incarnation, "draining");
          auto rp = self->make_response_promise<bool>();
          st.leaving.push_back(rp);
          return rp;
        },
        [=](atom::status) -> status_record { return membership_status(self); },
      };
    });
}

} // namespace expd::cluster
