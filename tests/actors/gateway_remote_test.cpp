// The real gateway on a loopback port, routing POST /v1/assign through a cluster router
// to fakes: a local shard, a remote node's entry that answers at once and one that
// answers only after 2 s. A slow node reads as a shard moving (503 with Retry-After
// after remote_timeout), never as a hang; a lapsed lease stops answers for own slots.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <caf/io/middleman.hpp>
#include <nlohmann/json.hpp>

#include "actor_system_fixture.hpp"
#include "actors/gateway/gateway.hpp"
#include "recording_fakes.hpp"
#include "runtime/listen_socket.hpp"
#include "tests/integration/expd_process.hpp"

using namespace expd;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr auto remote_timeout = 200ms;
constexpr auto slow_answer = 2s;

using answer_late_atom = caf::atom_constant<caf::atom("answerlate")>;

// A node entry that answers each assignment only after slow_answer.
using slow_entry_actor =
  shard_access_actor::extend<caf::reacts_to<answer_late_atom, std::size_t>>;

struct slow_entry_state {
  std::vector<caf::typed_response_promise<api_reply>> pending;
};

slow_entry_actor::behavior_type
slow_entry(slow_entry_actor::stateful_pointer<slow_entry_state> self) {
  return {
    [self](atom::assign, const core::assign_request&) {
      auto& pending = self->state.pending;
      pending.push_back(self->make_response_promise<api_reply>());
      self->delayed_send(self, slow_answer, answer_late_atom::value, pending.size() - 1);
      return pending.back();
    },
    [self](answer_late_atom, std::size_t i) {
      self->state.pending[i].deliver(api_reply{200, "late"});
    },
    [](atom::held, const unit_refs& units) { return held_variants_list(units.size()); },
    [](atom::barrier, const assignment_barrier&) { return true; },
  };
}

std::vector<core::ring_member> members(std::initializer_list<const char*> names) {
  std::vector<core::ring_member> out;
  for (auto* n : names)
    out.push_back({n, std::string{n} + ":7100", std::string{n} + ":8080"});
  return out;
}

std::string unit_owned_by(const core::shard_ring& ring, const std::string& who, int from = 0) {
  for (int i = from;; ++i) {
    auto unit = "user-" + std::to_string(i);
    if (ring.members()[ring.owner_of(unit)].name == who)
      return unit;
  }
}

std::string body_for(const std::string& unit) {
  return R"({"unit_type":"user","unit_id":")" + unit + "\"}";
}

std::int64_t from_now(std::chrono::nanoseconds d) {
  return (clock_type::now() + d).time_since_epoch().count();
}

struct gateway_remote_test : test::actor_system_fixture {
  gateway_remote_test() {
    shards = {sys.spawn(test::fake_shard, test::fake_shard_config{"s0", log, {}, {}}),
              sys.spawn(test::fake_shard, test::fake_shard_config{"s1", log, {}, {}})};
    ring = std::make_shared<const core::shard_ring>(1, members({"n1", "n2", "n3"}));
    slow = sys.spawn(slow_entry);
    quick = sys.spawn(test::fake_entry, log, std::string{"n3"});
    int fd = runtime::open_listen_socket("127.0.0.1", 0);
    sockaddr_in addr{};
    socklen_t len = sizeof(addr);
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
    gateway_config cfg;
    cfg.access = std::make_shared<const core::access_policy>();
    cfg.remote_timeout = remote_timeout;
    // A member starts with an empty ring, as node/main.cpp starts it.
    shard_router unrouted{shards, std::make_shared<const core::shard_ring>(), "n1", {}, {}, 0};
    gate = sys.middleman().spawn_broker(
      gateway, fd, cfg,
      gateway_routes{sys.spawn(test::fake_registry, log), sys.spawn<caf::detached>(
                       test::fake_writer, log, std::make_shared<std::atomic<std::uint64_t>>(0),
                       std::function<std::int64_t()>{}),
                     unrouted, sys.spawn(test::fake_ingestion, log), {}, {}, {}, {}});
    // The membership actor's messages; in the gateway's mailbox before any request.
    std::vector<shard_access_actor> links(3);
    links[*ring->index_of("n2")] = slow;
    links[*ring->index_of("n3")] = quick;
    self->send(gate, atom::routing::value,
               shard_router{shards, ring, "n1", std::vector<bool>(core::ring_slots, true), links, 1});
    self->send(gate, atom::lease::value, from_now(10s));
  }

  ~gateway_remote_test() override {
    self->send_exit(gate, caf::exit_reason::user_shutdown);
    for (auto& s : shards)
      self->send_exit(s, caf::exit_reason::user_shutdown);
    self->send_exit(slow, caf::exit_reason::user_shutdown);
    self->send_exit(quick, caf::exit_reason::user_shutdown);
  }

  // One request on `conn`, and how long its answer took.
  std::pair<expd::testing::http_reply, clock_type::duration>
  assign(expd::testing::http_connection& conn, const std::string& unit) {
    auto started = clock_type::now();
    auto replies = conn.post_all("/v1/assign", {body_for(unit)});
    return {replies.at(0), clock_type::now() - started};
  }

  std::uint64_t remote_failures() {
    double n = -1;
    self->request(caf::actor_cast<status_actor>(gate), 2s, atom::status::value)
      .receive(
        [&](status_record& r) {
          for (auto& s : r.samples)
            if (s.name == "expd_http_remote_failures_total")
              n = s.value;
        },
        [](caf::error&) {});
    return static_cast<std::uint64_t>(n);
  }

  test::journal_ptr log = std::make_shared<test::journal>();
  std::vector<assignment_shard_actor> shards;
  core::shard_ring_ptr ring;
  slow_entry_actor slow;
  node_entry_control_actor quick;
  caf::actor gate;
  int port = 0;
};

void expect_not_owner(const expd::testing::http_reply& r, const char* message_part) {
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_NE(r.headers.find("\r\nRetry-After: 1"), std::string::npos) << r.headers;
  auto body = r.json();
  EXPECT_EQ(body["error"]["code"], "unavailable") << r.body; // ec::not_owner's row
  EXPECT_EQ(body["error"]["field"], "unit_id") << r.body;
  EXPECT_NE(r.body.find(message_part), std::string::npos) << r.body;
}

} // namespace

TEST_F(gateway_remote_test, a_remote_node_that_does_not_answer_in_time_is_a_503_on_a_live_connection) {
  expd::testing::http_connection conn{port};
  auto slow_unit = unit_owned_by(*ring, "n2");
  for (int round = 0; round < 2; ++round) {
    auto [reply, took] = assign(conn, slow_unit);
    expect_not_owner(reply, "did not answer in time");
    EXPECT_EQ(reply.headers.find("Connection: close"), std::string::npos) << reply.headers;
    // The deadline, not the slow node's answer (2 s) nor a hang; the upper bound is loose.
    EXPECT_GE(took, remote_timeout - 10ms) << "round " << round;
    EXPECT_LT(took, 1500ms) << "round " << round;
  }
  EXPECT_EQ(remote_failures(), 2u);
  // The same connection still answers, at once, for a local shard and a quick node.
  auto local = unit_owned_by(*ring, "n1");
  auto [mine, took] = assign(conn, local);
  EXPECT_EQ(mine.status, 200) << mine.body;
  EXPECT_EQ(mine.body, "s" + std::to_string(core::slot_of(local) % 2) + ":" + local);
  EXPECT_LT(took, 1s);
  auto theirs = unit_owned_by(*ring, "n3");
  EXPECT_EQ(assign(conn, theirs).first.body, "n3:" + theirs);
}

TEST_F(gateway_remote_test, a_lapsed_lease_refuses_own_slots_and_still_routes_other_nodes_units) {
  expd::testing::http_connection conn{port};
  auto local = unit_owned_by(*ring, "n1");
  ASSERT_EQ(assign(conn, local).first.status, 200);
  // In the gateway's mailbox before the next request's bytes.
  self->send(gate, atom::lease::value, from_now(-1ns));
  expect_not_owner(assign(conn, local).first, "moving between nodes");
  auto theirs = unit_owned_by(*ring, "n3");
  auto reply = assign(conn, theirs).first;
  EXPECT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.body, "n3:" + theirs);
  EXPECT_EQ(remote_failures(), 0u);
}
