// The membership actor against a scratch PostgreSQL and fakes of its peers (shards,
// writer, entry, ingestion, registry): other nodes are rows of exp.cluster_nodes made
// here through runtime::cluster_store or SQL, as another node would. What it must do
// in order when the ring changes (docs/cluster.md, "Handoff").
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "actor_system_fixture.hpp"
#include "cluster/membership.hpp"
#include "recording_fakes.hpp"
#include "runtime/assignment_store.hpp"
#include "runtime/cluster_store.hpp"
#include "runtime/migrations.hpp"
#include "tests/integration/expd_process.hpp"

using namespace expd;
using namespace std::chrono_literals;
using entry = test::journal::entry;
using entries = std::vector<entry>;

namespace {

constexpr std::size_t shard_count = 3;
constexpr auto lease = 400ms;
const auto experiment = *core::uuid::parse("0190a1b2-c3d4-4e5f-8a9b-0c1d2e3f4a5b");
const auto variant = *core::uuid::parse("0190a1b2-c3d4-4e5f-8a9b-0c1d2e3f4a5c");

// A unit of every slot, to ask a router about each slot.
const std::vector<std::string>& unit_of_slot() {
  static const auto units = [] {
    std::vector<std::string> out(core::ring_slots);
    std::size_t found = 0;
    for (int i = 0; found < core::ring_slots; ++i) {
      auto unit = "probe-" + std::to_string(i);
      auto& u = out[core::slot_of(unit)];
      if (u.empty()) {
        u = unit;
        ++found;
      }
    }
    return out;
  }();
  return units;
}

// The slots the router sends to a local shard.
std::set<std::uint32_t> served(const shard_router& r) {
  std::set<std::uint32_t> out;
  for (std::uint32_t s = 0; s < core::ring_slots; ++s) {
    auto to = r.route(unit_of_slot()[s]);
    if (to != shard_router::unavailable && !r.is_remote(to))
      out.insert(s);
  }
  return out;
}

std::set<std::uint32_t> all_slots() {
  std::set<std::uint32_t> out;
  for (std::uint32_t s = 0; s < core::ring_slots; ++s)
    out.insert(s);
  return out;
}

std::set<std::uint32_t> owned_by(const core::shard_ring& ring, const std::string& name) {
  auto slots = ring.slots_of(name);
  return {slots.begin(), slots.end()};
}

core::shard_ring ring_of(std::uint64_t version, std::vector<std::string> names) {
  std::vector<core::ring_member> members;
  for (auto& n : names)
    members.push_back({n, "", ""});
  return {version, std::move(members)};
}

runtime::node_identity identity(const std::string& name) {
  auto address = "127.0.0.1:" + std::to_string(expd::testing::free_port());
  return {name, address, address, "test", 1};
}

const entry* last_routing(const entries& es, const std::string& who) {
  for (auto it = es.rbegin(); it != es.rend(); ++it)
    if (it->what == "routing" && it->who == who)
      return &*it;
  return nullptr;
}

struct membership_test : test::actor_system_fixture {
  membership_test() {
    runtime::migrate(db.url());
    db.scalar("INSERT INTO exp.experiments (id, name, unit_type, status, salt) VALUES ('"
              + experiment.str() + "', 'exp', 'user', 'running', 'exp')");
    db.scalar("INSERT INTO exp.variants (id, experiment_id, name, position, allocation) VALUES ('"
              + variant.str() + "', '" + experiment.str() + "', 'a', 0, 1)");
    // Stored as the writer stores them, with their slot.
    auto salt = std::make_shared<const std::string>("exp");
    assignment_batch rows;
    for (int i = 0; i < 600; ++i)
      rows.push_back({experiment, variant, "user", "u" + std::to_string(i), salt});
    runtime::assignment_store{db.url()}.write(rows);
    for (auto& r : rows)
      stored.push_back(r.unit_id);
    entry_ = sys.spawn(test::fake_entry, log, std::string{"n1"});
    ingestion = sys.spawn(test::fake_ingestion, log);
    registry = sys.spawn(test::fake_registry, log);
    writer = sys.spawn<caf::detached>(test::fake_writer, log, unwritten, [this] {
      return std::stoll(released_ring("n1"));
    });
    for (std::size_t i = 0; i < shard_count; ++i)
      shards.push_back(sys.spawn<caf::detached>(
        test::fake_shard,
        test::fake_shard_config{"s" + std::to_string(i), log, {ingestion, registry}, entry_}));
  }

  ~membership_test() override {
    // Before the database goes: the actor holds connections to it.
    if (membership) {
      self->send_exit(membership, caf::exit_reason::user_shutdown);
      self->wait_for(membership);
    }
    for (auto& s : shards)
      self->send_exit(s, caf::exit_reason::user_shutdown);
    self->send_exit(writer, caf::exit_reason::user_shutdown);
    self->send_exit(entry_, caf::exit_reason::user_shutdown);
    self->send_exit(ingestion, caf::exit_reason::user_shutdown);
    self->send_exit(registry, caf::exit_reason::user_shutdown);
    self->send_exit(loader, caf::exit_reason::user_shutdown);
  }

  // n1 joins as node/main.cpp makes it join, and its membership actor starts.
  void start() {
    runtime::cluster_store store{db.url(), lease};
    auto me = identity("n1");
    cluster::membership_config cfg;
    cfg.pg_url = db.url();
    cfg.identity = me;
    cfg.incarnation = store.join(me, 0ms);
    cfg.hello = {store.cluster_id(), "n1", cluster::protocol, "test"};
    cfg.security = cluster::link_security::plain;
    cfg.lease = lease;
    cfg.renew_interval = lease / 5;
    cfg.link_timeout = 500ms;
    cfg.preload_batch = 100; // several batches of rows
    membership = cluster::spawn_membership(sys, cfg, {shards, writer, entry_, ingestion, registry,
                                                      loader});
  }

  std::string released_ring(const std::string& node) const {
    return db.scalar("SELECT released_ring FROM exp.cluster_nodes WHERE name = '" + node + "'");
  }

  // Waits until the entry's newest routing is of ring `version` and serves `slots`.
  bool serves(std::uint64_t version, const std::set<std::uint32_t>& slots) {
    return log->wait_until([&](const entries& es) {
      auto* r = last_routing(es, "entry");
      return r && r->router->ring()->version() == version && served(*r->router) == slots;
    });
  }

  // Waits for `n` more renewals (each sends the lease to the entry).
  bool passes(int n) {
    auto from = log->last_seq();
    return log->wait_until([&](const entries& es) {
      return std::count_if(es.begin() + from, es.end(), [](auto& e) { return e.what == "lease"; })
             >= n;
    });
  }

  // The units the shard was given with remember, sorted (a unit twice stays twice).
  std::vector<std::string> remembered(const entries& es, std::size_t shard) const {
    std::vector<std::string> out;
    for (auto& e : es)
      if (e.what == "remember" && e.who == "s" + std::to_string(shard))
        for (auto& r : e.rows)
          out.push_back(r.unit_id);
    std::sort(out.begin(), out.end());
    return out;
  }

  // The stored units of `slots` that live in the shard, sorted.
  std::vector<std::string> rows_of(const std::set<std::uint32_t>& slots, std::size_t shard) const {
    std::vector<std::string> out;
    for (auto& u : stored)
      if (core::slot_of(u) % shard_count == shard && slots.count(core::slot_of(u)))
        out.push_back(u);
    std::sort(out.begin(), out.end());
    return out;
  }

  void expect_remembered_exactly(const std::set<std::uint32_t>& slots) {
    auto es = log->entries();
    for (std::size_t i = 0; i < shard_count; ++i)
      EXPECT_EQ(remembered(es, i), rows_of(slots, i)) << "shard " << i;
  }

  expd::testing::scratch_database db;
  test::journal_ptr log = std::make_shared<test::journal>();
  std::shared_ptr<std::atomic<std::uint64_t>> unwritten =
    std::make_shared<std::atomic<std::uint64_t>>(0);
  std::vector<std::string> stored;
  node_entry_control_actor entry_;
  ingestion_actor ingestion;
  experiment_registry_actor registry;
  assignment_writer_actor writer;
  event_loader_actor loader = sys.spawn(test::fake_loader);
  std::vector<assignment_shard_actor> shards;
  membership_actor membership;
};

} // namespace

TEST_F(membership_test, a_node_alone_serves_every_slot_only_once_its_rows_are_in_the_shards) {
  start();
  ASSERT_TRUE(serves(1, all_slots()));
  EXPECT_EQ(db.scalar("SELECT state FROM exp.cluster_nodes WHERE name = 'n1'"), "up");
  EXPECT_EQ(db.scalar("SELECT array_to_string(members, ',') FROM exp.cluster_ring"), "n1");
  // Each shard got exactly the stored rows of its slots (slot % shards), each once.
  expect_remembered_exactly(all_slots());
  auto es = log->entries();
  std::uint64_t last_remember = 0, reload = 0;
  for (auto& e : es) {
    if (e.what == "remember")
      last_remember = e.seq;
    if (e.what == "reload" && reload == 0)
      reload = e.seq;
  }
  ASSERT_NE(last_remember, 0u);
  // The experiments are loaded again before any row.
  EXPECT_NE(reload, 0u);
  EXPECT_LT(reload, std::find_if(es.begin(), es.end(), [](auto& e) { return e.what == "remember"; })->seq);
  // Ring 1 went out with nothing served (503 while taking over), and no routing to the
  // entry, ingestion or registry served a slot before the shards had taken every row.
  bool seen_unready = false;
  for (auto& e : es) {
    if (e.what != "routing" || e.router->ring()->version() != 1)
      continue;
    auto slots = served(*e.router);
    seen_unready |= slots.empty() && e.who == "entry";
    if (!slots.empty()) {
      EXPECT_GT(e.seq, last_remember) << e.who << " was told to serve before the rows were in";
    }
  }
  EXPECT_TRUE(seen_unready);
}

TEST_F(membership_test, a_lost_slot_is_released_after_routing_away_flush_and_drain) {
  start();
  ASSERT_TRUE(serves(1, all_slots()));
  ASSERT_TRUE(expd::testing::eventually([&] { return released_ring("n1") == "1"; }, 50));
  *unwritten = 4; // the writer holds rows it cannot store yet
  auto mark = log->last_seq();
  runtime::cluster_store other{db.url(), 1h};
  auto n2 = other.join(identity("n2"), 0ms);
  ASSERT_TRUE(other.set_state("n2", n2, "up"));

  auto before = ring_of(1, {"n1"});
  auto after = ring_of(2, {"n1", "n2"});
  auto lost = core::diff_rings(before, after, "n1").lost;
  std::set<std::uint32_t> lost_set(lost.begin(), lost.end());
  std::set<std::uint32_t> gained_by_n2;
  for (auto& move : core::diff_rings(before, after, "n2").gained) {
    EXPECT_EQ(move.from, "n1");
    gained_by_n2.insert(move.slot);
  }
  EXPECT_EQ(gained_by_n2, lost_set);
  ASSERT_FALSE(lost_set.empty());
  auto kept = all_slots();
  for (auto s : lost)
    kept.erase(s);
  ASSERT_TRUE(serves(2, kept)); // n2 is not linked: its slots are 503 here

  // Blocked: the drains answer rows unwritten, and the release waits over passes.
  ASSERT_TRUE(log->wait_until([&](const entries& es) {
    return std::count_if(es.begin() + mark, es.end(),
                         [](auto& e) { return e.what == "drain"; }) >= 3;
  })) << "drains stopped: released_ring is " << released_ring("n1");
  EXPECT_EQ(released_ring("n1"), "1");
  *unwritten = 0;
  ASSERT_TRUE(expd::testing::eventually([&] { return released_ring("n1") == "2"; }, 50));

  auto es = log->entries();
  auto first_of_ring_2 = std::find_if(es.begin() + mark, es.end(), [](auto& e) {
    return e.what == "routing" && e.who == "entry" && e.router->ring()->version() == 2;
  });
  ASSERT_NE(first_of_ring_2, es.end());
  EXPECT_EQ(served(*first_of_ring_2->router), kept);
  auto routed_away = first_of_ring_2->seq;
  for (auto& e : es)
    if (e.seq > mark && e.what == "flush") {
      EXPECT_GT(e.seq, routed_away) << e.who << " flushed before the routing went away";
    }
  // Each drain of the new ring came after the routing went away and after every shard
  // flushed since the drain before; only the one answering 0 released, after it.
  std::uint64_t previous = routed_away;
  int drains = 0;
  for (auto& e : es) {
    if (e.seq <= mark || e.what != "drain")
      continue;
    ++drains;
    EXPECT_GT(e.seq, routed_away);
    for (std::size_t i = 0; i < shard_count; ++i)
      EXPECT_TRUE(std::any_of(es.begin(), es.end(),
                              [&](auto& f) {
                                return f.what == "flush" && f.who == "s" + std::to_string(i)
                                       && f.seq > previous && f.seq < e.seq;
                              }))
        << "s" << i << " was not flushed between drain " << previous << " (or the routing)"
        << " and drain " << e.seq;
    EXPECT_EQ(e.observed, 1) << "released before drain " << e.seq << " answered";
    previous = e.seq;
    if (e.value == 0)
      break;
  }
  EXPECT_GE(drains, 4);
  // Nothing was taken over: n1 only lost slots.
  EXPECT_EQ(remembered(es, 0).size() + remembered(es, 1).size() + remembered(es, 2).size(),
            stored.size());
}

TEST_F(membership_test, gained_slots_are_taken_over_from_a_dead_owner_and_wait_for_a_live_one) {
  // n2 and n3 serve the ring before n1 joins.
  runtime::cluster_store others{db.url(), 1h};
  for (auto* name : {"n2", "n3"}) {
    auto incarnation = others.join(identity(name), 0ms);
    ASSERT_TRUE(others.set_state(name, incarnation, "up"));
  }
  ASSERT_EQ(others.reconcile().version, 1);
  start();
  auto v1 = ring_of(1, {"n2", "n3"});
  auto v2 = ring_of(2, {"n1", "n2", "n3"});
  auto v3 = ring_of(3, {"n1", "n3"});
  // Both owners are up and have not released: n1 owns slots but serves none.
  ASSERT_TRUE(serves(2, {}));
  ASSERT_TRUE(passes(3));
  ASSERT_TRUE(serves(2, {}));
  expect_remembered_exactly({});

  // n2 dies: its lease runs out, and the next ring drops it.
  db.scalar("UPDATE exp.cluster_nodes SET lease_until = now() - interval '1 second'"
            " WHERE name = 'n2'");
  std::set<std::uint32_t> from_n3;
  for (auto& move : core::diff_rings(v1, v2, "n1").gained)
    if (move.from == "n3")
      from_n3.insert(move.slot);
  auto without_n3 = owned_by(v3, "n1");
  for (auto s : from_n3)
    without_n3.erase(s);
  ASSERT_TRUE(serves(3, without_n3));
  EXPECT_EQ(db.scalar("SELECT state FROM exp.cluster_nodes WHERE name = 'n2'"), "down");
  expect_remembered_exactly(without_n3);
  // n3 is up and has not released: its slots stay pending over passes.
  ASSERT_TRUE(passes(3));
  ASSERT_TRUE(serves(3, without_n3));
  expect_remembered_exactly(without_n3);

  // n3 releases them under the current ring: now they come, with their rows.
  db.scalar("UPDATE exp.cluster_nodes SET released_ring = 3 WHERE name = 'n3'");
  ASSERT_TRUE(serves(3, owned_by(v3, "n1")));
  expect_remembered_exactly(owned_by(v3, "n1"));
  // Each takeover loaded the experiments again before its first row.
  auto es = log->entries();
  for (auto it = es.begin(); it != es.end(); ++it)
    if (it->what == "remember" && (it == es.begin() || std::prev(it)->what != "remember")) {
      auto reload = std::find_if(std::make_reverse_iterator(it), es.rend(),
                                 [](auto& e) { return e.what == "reload" || e.what == "routing"; });
      EXPECT_TRUE(reload != es.rend() && reload->what == "reload") << "remember " << it->seq;
    }
}
