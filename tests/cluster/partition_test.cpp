// Issue 11: a node cut off from PostgreSQL and from the other nodes never answers for
// slots another node owns. n3 runs in a network namespace of its own, joined to this
// one by three veth pairs: "links" (node links), "pg" (PostgreSQL, through a forwarder
// here) and "http" (this test's requests). The partition takes the first two down and
// leaves the third, so the test keeps asking n3 what it answers while it is cut off.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <iostream>
#include <map>
#include <thread>

#include "cluster_helpers.hpp"
#include "core/shard_ring.hpp"
#include "network_namespace.hpp"
#include "tests/support/tcp_forwarder.hpp"

using namespace expd::testing;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr auto lease = 1000ms;

// A unit of each slot: units[s] lies in slot s.
std::vector<std::string> one_unit_per_slot() {
  std::vector<std::string> out(expd::core::ring_slots);
  std::size_t found = 0;
  for (int k = 0; found < out.size(); ++k) {
    auto unit = "part-" + std::to_string(k);
    auto& at = out[expd::core::slot_of(unit)];
    if (at.empty()) {
      at = std::move(unit);
      ++found;
    }
  }
  return out;
}

// The slots of `name` in the ring of n1..n3 (the ring that node names alone decide).
std::vector<std::uint32_t> slots_of(const std::string& name) {
  expd::core::shard_ring ring{1, {{"n1", "", ""}, {"n2", "", ""}, {"n3", "", ""}}};
  return ring.slots_of(name);
}

// Every unit's reply through node i, on one pipelined connection.
std::vector<http_reply> replies_through(expd_cluster& c, std::size_t i,
                                        const std::vector<std::string>& units) {
  std::vector<std::string> bodies;
  for (auto& u : units)
    bodies.push_back(assign_body(u));
  return http_connection{c.node(i).port(), c.node(i).host()}.post_all("/v1/assign", bodies);
}

// How many replies are not 200 with the body before gave.
std::size_t differences(const std::vector<http_reply>& before, const std::vector<http_reply>& now) {
  std::size_t n = 0;
  for (std::size_t k = 0; k < before.size(); ++k)
    n += k >= now.size() || now[k].status != 200 || now[k].body != before[k].body;
  return n;
}

// One request of the load: when it went, when its reply came, what it said.
struct sample {
  std::uint32_t slot;
  clock_type::time_point sent, received;
  int status;
  bool retry_after;
  bool same; // the body is the one before the partition
};

// Asks node i for the units of `slots` in turn, one request at a time on a keep-alive
// connection, until `stop`.
std::vector<sample> ask_until(expd_cluster& c, std::size_t i, const std::vector<std::string>& units,
                              const std::vector<std::uint32_t>& slots,
                              const std::vector<http_reply>& before, const std::atomic<bool>& stop) {
  http_connection conn{c.node(i).port(), c.node(i).host()};
  std::vector<sample> out;
  for (std::size_t k = 0; !stop; k = (k + 1) % slots.size()) {
    auto slot = slots[k];
    auto sent = clock_type::now();
    auto reply = conn.post_all("/v1/assign", {assign_body(units[slot])}).front();
    out.push_back({slot, sent, clock_type::now(), reply.status,
                   reply.headers.find("Retry-After") != std::string::npos,
                   reply.body == before[slot].body});
  }
  return out;
}

double ms(clock_type::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

// The URL of `db` for a node inside the namespace: through the forwarder at
// `host:port`. The host stays 127.0.0.1 for the password file's lookup; libpq connects
// to hostaddr.
std::string url_through(const scratch_database& db, const std::string& host, int port) {
  auto url = db.url();
  auto at = url.find("@127.0.0.1:");
  auto slash = url.find('/', at == std::string::npos ? 0 : at);
  if (at == std::string::npos || slash == std::string::npos)
    throw std::runtime_error("EXPD_TEST_PG_URL must name 127.0.0.1:PORT: " + url);
  return url.substr(0, at) + "@127.0.0.1:" + std::to_string(port) + url.substr(slash)
         + (url.find('?') == std::string::npos ? "?" : "&") + "hostaddr=" + host;
}

int port_of(const std::string& url) {
  return std::atoi(url.c_str() + url.find("@127.0.0.1:") + 11);
}

class cluster_partition : public ::testing::Test {
protected:
  void SetUp() override {
    try {
      net = std::make_unique<network_namespace>(std::vector<std::string>{"links", "pg", "http"});
    } catch (const std::exception& e) {
      GTEST_SKIP() << "network namespaces with veth pairs cannot be made here: " << e.what();
    }
    pg = std::make_unique<tcp_forwarder>(net->host_address("pg"), port_of(db.url()));
    cluster_site outside;
    outside.link_host = net->host_address("links");
    cluster_site inside;
    inside.process = {net->inside_address("http"), net->exec_prefix(),
                      url_through(db, net->host_address("pg"), pg->port())};
    inside.link_host = net->inside_address("links");
    c = std::make_unique<expd_cluster>(db, 3, std::vector<std::string>{"--lease-ms=1000"},
                                       std::vector<cluster_site>{outside, outside, inside});
    c->wait_ready();
    start_experiment(*c);
  }

  // Whether n1 and n2 both route by the ring of the two of them (the slots_ready they
  // report lag by up to a second: their figures go with a renewal once a second).
  bool survivors_route_without_n3() const {
    for (std::size_t i : {0, 1})
      if (c->describe(i)["ring"]["members"] != nlohmann::json{"n1", "n2"})
        return false;
    return true;
  }

  // What n1 says of n3 in GET /v1/cluster (null when it does not say).
  nlohmann::json n3_as_n1_sees_it() const {
    auto view = c->describe(0);
    for (auto& n : view["nodes"])
      if (n["name"] == "n3")
        return n;
    return nullptr;
  }

  // What a run of the load across a cut saw.
  struct cut_run {
    std::vector<bool> n3_slot; ///< by slot: n3's before the cut
    std::vector<sample> n1, n2, n3_own, n3_others;
    clock_type::time_point cut_at, served_at, healed_at, rejoined_at;
    clock_type::time_point lease_end; ///< n3's lease as PostgreSQL had it, on this clock
  };

  // (1) every node answers every unit alike; load on every node (n1 and n2 over all
  // slots, n3 over its own and, apart, since a remote slot costs it the remote timeout
  // while cut off, over the others); the `roles` pairs go down; (3) the survivors
  // serve every unit; (4) after 4 s the pairs come up again, n3 joins again as a new
  // incarnation and every node answers every unit as before.
  cut_run across_a_cut(const std::vector<std::string>& roles) {
    auto units = one_unit_per_slot();
    auto own = slots_of("n3"), others = slots_of("n1"), n2_slots = slots_of("n2");
    others.insert(others.end(), n2_slots.begin(), n2_slots.end());
    std::vector<std::uint32_t> all(expd::core::ring_slots);
    for (std::uint32_t s = 0; s < all.size(); ++s)
      all[s] = s;
    cut_run run;
    run.n3_slot.assign(expd::core::ring_slots, false);
    for (auto s : own)
      run.n3_slot[s] = true;
    EXPECT_EQ(n3_as_n1_sees_it()["slots_owned"], own.size()) << "the test's ring is not the cluster's";

    auto before = replies_through(*c, 0, units);
    for (std::size_t k = 0; k < units.size(); ++k)
      EXPECT_EQ(before[k].status, 200) << units[k] << ": " << before[k].body;
    for (std::size_t i : {1, 2})
      EXPECT_EQ(differences(before, replies_through(*c, i, units)), 0u) << expd_cluster::name(i);
    auto first_incarnation = n3_as_n1_sees_it()["incarnation"].get<std::int64_t>();

    std::atomic<bool> stop{false};
    std::vector<std::thread> load;
    // Joined also when a wait below throws: a joinable thread's end would abort the
    // run, and nothing would remove the nodes and the namespace.
    struct joiner {
      std::atomic<bool>& stop;
      std::vector<std::thread>& threads;
      void finish() {
        stop = true;
        for (auto& t : threads)
          if (t.joinable())
            t.join();
      }
      ~joiner() {
        finish();
      }
    } join_load{stop, load};
    load.emplace_back([&] { run.n1 = ask_until(*c, 0, units, all, before, stop); });
    load.emplace_back([&] { run.n2 = ask_until(*c, 1, units, all, before, stop); });
    load.emplace_back([&] { run.n3_own = ask_until(*c, 2, units, own, before, stop); });
    load.emplace_back([&] { run.n3_others = ask_until(*c, 2, units, others, before, stop); });
    std::this_thread::sleep_for(500ms);

    for (auto& role : roles)
      net->set_link(role, false);
    run.cut_at = clock_type::now();
    bool served = false;
    while (!served && clock_type::now() - run.cut_at < 15s) {
      if (!survivors_route_without_n3()) {
        std::this_thread::sleep_for(50ms);
        continue;
      }
      served = differences(before, replies_through(*c, 0, units)) == 0
               && differences(before, replies_through(*c, 1, units)) == 0;
    }
    run.served_at = clock_type::now();
    EXPECT_TRUE(served) << "the survivors did not serve every unit alike within 15 s";
    // Marking n3 down leaves its lease as it was. PostgreSQL runs on this machine's clock.
    auto lease_until = std::stod(
      db.scalar("SELECT extract(epoch FROM lease_until) FROM exp.cluster_nodes WHERE name = 'n3'"));
    auto wall_now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch());
    run.lease_end = clock_type::now() + std::chrono::duration_cast<clock_type::duration>(
                                          std::chrono::duration<double>(lease_until) - wall_now);
    std::this_thread::sleep_for(run.cut_at + 4s - clock_type::now());

    for (auto& role : roles)
      net->set_link(role, true);
    run.healed_at = clock_type::now();
    c->wait_ready(std::chrono::seconds{20});
    run.rejoined_at = clock_type::now();
    EXPECT_GT(n3_as_n1_sees_it()["incarnation"].get<std::int64_t>(), first_incarnation);
    std::this_thread::sleep_for(500ms);
    join_load.finish();
    for (std::size_t i = 0; i < 3; ++i)
      EXPECT_EQ(differences(before, replies_through(*c, i, units)), 0u) << expd_cluster::name(i);

    // Every 200 is the answer of before; anything else a 503 with Retry-After (or, from
    // n3, no reply).
    std::map<std::string, std::size_t> wrong;
    auto judge = [&](const std::vector<sample>& samples, const char* who, bool may_time_out) {
      for (auto& s : samples)
        if (s.status == 200 ? !s.same
                            : !(s.status == 503 && s.retry_after) && !(may_time_out && s.status == 0))
          ++wrong[std::string{who} + " status " + std::to_string(s.status)];
    };
    judge(run.n1, "n1", false);
    judge(run.n2, "n2", false);
    judge(run.n3_own, "n3", true);
    judge(run.n3_others, "n3", true);
    EXPECT_TRUE(wrong.empty()) << ::testing::PrintToString(wrong);
    EXPECT_LT(ms(run.served_at - run.cut_at), ms(lease + 2s));
    std::cout << "cut -> n3's lease ends in PostgreSQL: " << ms(run.lease_end - run.cut_at)
              << " ms, cut -> every unit served by n1 and n2: " << ms(run.served_at - run.cut_at)
              << " ms, heal -> n3 back: " << ms(run.rejoined_at - run.healed_at) << " ms; requests "
              << run.n1.size() << " " << run.n2.size() << " " << run.n3_own.size() << " "
              << run.n3_others.size() << "\n";
    return run;
  }

  scratch_database db;
  std::unique_ptr<network_namespace> net;
  std::unique_ptr<tcp_forwarder> pg;
  std::unique_ptr<expd_cluster> c;
};

// A node stops answering for its slots by its own clock at 3/4 of the lease, which ends
// in PostgreSQL a full lease after its last renewal began: from a quarter lease before
// that end, none of n3's slots may be answered from n3's shards, through any gateway.
constexpr auto stop_margin = lease / 4 - 20ms; // 20 ms for reading the two clocks

// When n3's shards were last seen answering (a 200 for one of n3's slots from `samples`
// sent before the heal): the latest reply as received and the latest as sent.
std::pair<clock_type::time_point, clock_type::time_point>
last_200(const std::vector<sample>& samples, const std::vector<bool>& n3_slot,
         clock_type::time_point from, clock_type::time_point until) {
  auto received = clock_type::time_point::min(), sent = received;
  for (auto& s : samples)
    if (s.status == 200 && n3_slot[s.slot] && s.sent > from && s.received < until) {
      received = std::max(received, s.received);
      sent = std::max(sent, s.sent);
    }
  return {received, sent};
}

// How many 200s for n3's slots `samples` holds that were sent after `from` and came
// before `until`.
std::size_t count_200(const std::vector<sample>& samples, const std::vector<bool>& n3_slot,
                      clock_type::time_point from, clock_type::time_point until) {
  return static_cast<std::size_t>(std::count_if(samples.begin(), samples.end(), [&](auto& s) {
    return s.status == 200 && n3_slot[s.slot] && s.sent > from && s.received < until;
  }));
}

} // namespace

// n3 is cut off from PostgreSQL and from the other nodes; the test still reaches it.
TEST_F(cluster_partition, a_cut_off_node_never_answers_for_slots_another_node_owns) {
  auto run = across_a_cut({"links", "pg"});
  // (2) The takeover: a survivor's first 200 (as sent) for one of n3's slots after the
  // cut; until the heal every such 200 is a survivor's own, as n3 cannot be reached.
  auto taken_at = clock_type::time_point::max();
  for (auto* samples : {&run.n1, &run.n2})
    for (auto& s : *samples)
      if (s.status == 200 && run.n3_slot[s.slot] && s.sent > run.cut_at && s.received < run.healed_at)
        taken_at = std::min(taken_at, s.sent);
  ASSERT_NE(taken_at, clock_type::time_point::max()) << "no survivor served one of n3's slots";
  auto [last_at, last_sent] = last_200(run.n3_own, run.n3_slot, run.cut_at, run.healed_at);
  std::size_t refused = 0, others_served = 0;
  std::string others_times;
  for (auto& s : run.n3_own)
    refused += s.status != 200 && s.sent > taken_at && s.received < run.healed_at;
  for (auto& s : run.n3_others)
    if (s.status == 200 && s.sent > run.cut_at && s.received < run.healed_at && ++others_served <= 5)
      others_times += " " + std::to_string(ms(s.sent - run.cut_at)) + "-"
                      + std::to_string(ms(s.received - run.cut_at)) + " ms";
  std::cout << "cut -> n3's last 200: " << ms(last_at - run.cut_at)
            << " ms, cut -> a survivor's first 200 for one of n3's slots: "
            << ms(taken_at - run.cut_at) << " ms\n";
  // The window this test is about: n3 still answered for its slots after the cut...
  ASSERT_GT(last_sent, run.cut_at) << "n3 answered none of its slots after the cut";
  // ...stopped by its own clock at 3/4 of the lease after its last renewal...
  EXPECT_LT(ms(last_sent - run.cut_at), ms(lease * 3 / 4));
  EXPECT_EQ(count_200(run.n3_own, run.n3_slot, run.lease_end - stop_margin, run.healed_at), 0u);
  // ...and before any other node served one of them; then refused them.
  EXPECT_LT(ms(last_at - taken_at), 0.0) << "n3 answered after a survivor served one of its slots";
  EXPECT_GT(refused, 0u);
  // The partition is real: n3 could not reach the owners of the other slots.
  EXPECT_EQ(others_served, 0u) << "sent-answered after the cut:" << others_times;
}

// n3 is cut off from PostgreSQL only: the others still reach its shards through its
// node entry, which must refuse from the same moment its gateway does.
TEST_F(cluster_partition, a_node_cut_off_from_postgresql_only_stops_answering_through_its_links) {
  auto run = across_a_cut({"pg"});
  auto window_from = run.lease_end - stop_margin;
  // Before PostgreSQL's lease ends no survivor may serve n3's slots itself, and from a
  // quarter lease before it, n3 serves them neither through its gateway nor its entry.
  std::size_t asked = 0;
  for (auto* samples : {&run.n1, &run.n2})
    for (auto& s : *samples)
      asked += run.n3_slot[s.slot] && s.sent > window_from && s.received < run.lease_end;
  auto [before_at, before_sent] = last_200(run.n1, run.n3_slot, run.cut_at, run.lease_end);
  std::cout << "cut -> a survivor's last 200 for one of n3's slots from n3: "
            << ms(before_at - run.cut_at) << " ms; asked " << asked << " times in the last "
            << ms(stop_margin) << " ms of the lease\n";
  EXPECT_GT(asked, 0u) << "the load did not span the end of n3's lease";
  EXPECT_EQ(count_200(run.n1, run.n3_slot, window_from, run.lease_end), 0u) << "through n1's links";
  EXPECT_EQ(count_200(run.n2, run.n3_slot, window_from, run.lease_end), 0u) << "through n2's links";
  EXPECT_EQ(count_200(run.n3_own, run.n3_slot, window_from, run.healed_at), 0u) << "through n3's gateway";
  // Through its links n3 did answer for its slots after the cut, until it stopped.
  EXPECT_GT(before_sent, run.cut_at);
}
