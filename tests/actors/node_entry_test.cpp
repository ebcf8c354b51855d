// The node entry and the router against fakes of the real interfaces: what this node
// may answer for (its ready slots, while its lease holds), what it refuses with
// not_owner, and routing values arriving out of order.
#include <gtest/gtest.h>

#include <chrono>

#include <caf/typed_event_based_actor.hpp>

#include "actor_system_fixture.hpp"
#include "cluster/node_entry.hpp"
#include "messages/error.hpp"

using namespace expd;
using namespace std::chrono_literals;

namespace {

// A shard that answers every assignment with its own name, and held with one pair. It
// confirms barriers unless it is named "refuses".
assignment_shard_actor::behavior_type fake_shard(std::string name) {
  return {
    [name](atom::assign, const core::assign_request& req) -> api_reply {
      return {200, name + ":" + req.unit_id};
    },
    [](atom::snapshot, const core::snapshot_ptr&) {},
    [](atom::remember, const assignment_batch& rows) -> std::uint64_t { return rows.size(); },
    [](atom::flush) { return true; },
    [](atom::stored, std::uint64_t) {},
    [name](atom::held, const unit_refs& units) -> held_variants_list {
      return held_variants_list(units.size(), {{core::uuid{1, 2}, core::uuid{3, 4}}});
    },
    [name](atom::status) -> status_record { return {name, {}}; },
    [name](atom::barrier, const assignment_barrier&) -> caf::result<bool> {
      if (name == "refuses")
        return make_error(ec::database_unavailable, "", "2 rows unwritten");
      return true;
    },
  };
}

std::vector<core::ring_member> members(std::initializer_list<const char*> names) {
  std::vector<core::ring_member> out;
  for (auto* n : names)
    out.push_back({n, std::string{n} + ":7100", std::string{n} + ":8080"});
  return out;
}

// A unit that the ring gives to `who`.
std::string unit_owned_by(const core::shard_ring& ring, const std::string& who) {
  for (int i = 0;; ++i) {
    auto unit = "user-" + std::to_string(i);
    if (ring.members()[ring.owner_of(unit)].name == who)
      return unit;
  }
}

std::int64_t from_now(std::chrono::nanoseconds d) {
  return (std::chrono::steady_clock::now() + d).time_since_epoch().count();
}

struct node_entry_test : test::actor_system_fixture {
  node_entry_test() {
    shards = {sys.spawn(fake_shard, std::string{"s0"}), sys.spawn(fake_shard, std::string{"s1"})};
    ring = std::make_shared<const core::shard_ring>(7, members({"n1", "n2", "n3"}));
    entry = cluster::spawn_node_entry(sys, node_hello{"cluster", "n1", 1, "test"});
    mine = unit_owned_by(*ring, "n1");
    theirs = unit_owned_by(*ring, "n2");
  }

  ~node_entry_test() override {
    for (auto& s : shards)
      self->send_exit(s, caf::exit_reason::user_shutdown);
    self->send_exit(entry, caf::exit_reason::user_shutdown);
  }

  shard_router routing(bool ready, std::uint64_t version) {
    return {shards, ring, "n1", std::vector<bool>(core::ring_slots, ready), {}, version};
  }

  // The entry's answer: the body, or the error's code name.
  std::string ask(const std::string& unit) {
    std::string out;
    core::assign_request req;
    req.unit_type = "user";
    req.unit_id = unit;
    self->request(entry, 2s, atom::assign::value, req)
      .receive([&](api_reply& r) { out = r.body; },
               [&](caf::error& err) { out = std::string{to_string(static_cast<ec>(expd_code(err)))}; });
    return out;
  }

  std::vector<assignment_shard_actor> shards;
  core::shard_ring_ptr ring;
  node_entry_control_actor entry;
  std::string mine, theirs;
};

} // namespace

TEST_F(node_entry_test, answers_for_its_ready_slots_through_their_local_shard) {
  self->send(entry, atom::routing::value, routing(true, 1));
  self->send(entry, atom::lease::value, from_now(10s));
  auto shard = "s" + std::to_string(core::slot_of(mine) % 2);
  EXPECT_EQ(ask(mine), shard + ":" + mine);
}

TEST_F(node_entry_test, refuses_units_of_other_nodes_and_slots_not_taken_over) {
  self->send(entry, atom::lease::value, from_now(10s));
  EXPECT_EQ(ask(mine), "not_owner"); // no routing yet: owns nothing
  self->send(entry, atom::routing::value, routing(false, 1));
  EXPECT_EQ(ask(mine), "not_owner"); // owned, still being taken over
  self->send(entry, atom::routing::value, routing(true, 2));
  EXPECT_EQ(ask(theirs), "not_owner");
  EXPECT_NE(ask(mine), "not_owner");
}

// A partitioned node stops answering once its lease may have run out, even though its
// ring still names it: by then another node may own the slot.
TEST_F(node_entry_test, refuses_everything_once_its_lease_has_run_out) {
  self->send(entry, atom::routing::value, routing(true, 1));
  self->send(entry, atom::lease::value, from_now(10s));
  EXPECT_NE(ask(mine), "not_owner");
  self->send(entry, atom::lease::value, from_now(-1ns));
  EXPECT_EQ(ask(mine), "not_owner");
}

TEST_F(node_entry_test, an_older_routing_arriving_after_a_newer_one_is_ignored) {
  self->send(entry, atom::lease::value, from_now(10s));
  self->send(entry, atom::routing::value, routing(true, 5));
  self->send(entry, atom::routing::value, routing(false, 4));
  EXPECT_NE(ask(mine), "not_owner");
}

TEST_F(node_entry_test, held_variants_come_from_every_local_shard_of_the_units) {
  self->send(entry, atom::routing::value, routing(true, 1));
  self->send(entry, atom::lease::value, from_now(10s));
  unit_refs units{{"user", mine}, {"user", theirs}, {"user", unit_owned_by(*ring, "n1") + "x"}};
  held_variants_list lists;
  self->request(entry, 2s, atom::held::value, units)
    .receive([&](held_variants_list& l) { lists = std::move(l); }, [](caf::error&) {});
  ASSERT_EQ(lists.size(), 3u);
  EXPECT_EQ(lists[0].size(), 1u);
  EXPECT_TRUE(lists[1].empty()); // another node's unit: nothing attached here
  bool third_is_mine = ring->members()[ring->owner_of(units[2].unit_id)].name == "n1";
  EXPECT_EQ(lists[2].size(), third_is_mine ? 1u : 0u);
}

TEST(shard_router, a_node_alone_routes_every_unit_to_a_local_shard) {
  shard_router router{std::vector<assignment_shard_actor>(3)};
  for (int i = 0; i < 100; ++i) {
    auto unit = "u" + std::to_string(i);
    auto to = router.route(unit);
    EXPECT_FALSE(router.is_remote(to));
    EXPECT_EQ(to, core::slot_of(unit) % 3);
  }
}

TEST_F(node_entry_test, the_router_sends_other_nodes_units_to_their_entry_once_linked) {
  shard_router unlinked{shards, ring, "n1", std::vector<bool>(core::ring_slots, true), {}, 1};
  EXPECT_EQ(unlinked.route(theirs), shard_router::unavailable);
  std::vector<shard_access_actor> links(3);
  links[*ring->index_of("n2")] = entry;
  shard_router linked{shards, ring, "n1", std::vector<bool>(core::ring_slots, true), links, 2};
  auto to = linked.route(theirs);
  ASSERT_NE(to, shard_router::unavailable);
  EXPECT_TRUE(linked.is_remote(to));
  EXPECT_EQ(linked.destinations()[to], links[*ring->index_of("n2")]);
  EXPECT_FALSE(linked.is_remote(linked.route(mine)));
}

// The entry answers a barrier for the whole node: only once every local shard has.
TEST_F(node_entry_test, a_barrier_is_confirmed_once_every_local_shard_confirms_it) {
  auto barrier = [&] {
    std::string out;
    self->request(entry, 2s, atom::barrier::value, assignment_barrier{{core::uuid{0, 1}}, 3, 1000})
      .receive([&](bool b) { out = b ? "confirmed" : "false"; },
               [&](caf::error& err) { out = std::string{to_string(static_cast<ec>(expd_code(err)))}; });
    return out;
  };
  EXPECT_EQ(barrier(), "confirmed"); // no routing yet: no shards to ask
  self->send(entry, atom::routing::value, routing(true, 1));
  EXPECT_EQ(barrier(), "confirmed");
  shards.push_back(sys.spawn(fake_shard, std::string{"refuses"}));
  self->send(entry, atom::routing::value, routing(true, 2));
  EXPECT_EQ(barrier(), "database_unavailable");
}
