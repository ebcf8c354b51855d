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
#include "tcp_forwarder.hpp"

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

  void cut(bool off) const {
    net->set_link("links", !off);
    net->set_link("pg", !off);
  }

  scratch_database db;
  std::unique_ptr<network_namespace> net;
  std::unique_ptr<tcp_forwarder> pg;
  std::unique_ptr<expd_cluster> c;
};

} // namespace

TEST_F(cluster_partition, a_cut_off_node_never_answers_for_slots_another_node_owns) {
  auto units = one_unit_per_slot();
  auto own = slots_of("n3"), others = slots_of("n1");
  auto n2_slots = slots_of("n2");
  others.insert(others.end(), n2_slots.begin(), n2_slots.end());
  std::vector<std::uint32_t> all(expd::core::ring_slots);
  for (std::uint32_t s = 0; s < all.size(); ++s)
    all[s] = s;
  ASSERT_EQ(n3_as_n1_sees_it()["slots_owned"], own.size()) << "the test's ring is not the cluster's";

  // (1) Every node gives every unit the same answer.
  auto before = replies_through(*c, 0, units);
  for (std::size_t k = 0; k < units.size(); ++k)
    ASSERT_EQ(before[k].status, 200) << units[k] << ": " << before[k].body;
  for (std::size_t i : {1, 2})
    ASSERT_EQ(differences(before, replies_through(*c, i, units)), 0u) << expd_cluster::name(i);
  auto first_incarnation = n3_as_n1_sees_it()["incarnation"].get<std::int64_t>();

  // Load on every node: n1 and n2 over all slots, n3 over its own and, apart (a remote
  // slot costs it the remote timeout while it is cut off), over the others.
  std::atomic<bool> stop{false};
  std::vector<sample> n1_load, n2_load, n3_own, n3_others;
  std::vector<std::thread> load;
  load.emplace_back([&] { n1_load = ask_until(*c, 0, units, all, before, stop); });
  load.emplace_back([&] { n2_load = ask_until(*c, 1, units, all, before, stop); });
  load.emplace_back([&] { n3_own = ask_until(*c, 2, units, own, before, stop); });
  load.emplace_back([&] { n3_others = ask_until(*c, 2, units, others, before, stop); });
  std::this_thread::sleep_for(500ms);

  // (2), (3) Cut n3 off; the survivors take its slots once its lease runs out.
  cut(true);
  auto cut_at = clock_type::now();
  bool served = false;
  while (!served && clock_type::now() - cut_at < 15s) {
    if (!survivors_route_without_n3()) {
      std::this_thread::sleep_for(50ms);
      continue;
    }
    served = differences(before, replies_through(*c, 0, units)) == 0
             && differences(before, replies_through(*c, 1, units)) == 0;
  }
  auto served_at = clock_type::now();
  ASSERT_TRUE(served) << "the survivors did not serve every unit alike within 15 s";
  std::this_thread::sleep_for(cut_at + 4s - clock_type::now()); // n3 stays cut off a while

  // (4) Heal: n3 finds it was marked down and joins again by itself.
  cut(false);
  auto healed_at = clock_type::now();
  c->wait_ready(std::chrono::seconds{20});
  auto rejoined_at = clock_type::now();
  EXPECT_GT(n3_as_n1_sees_it()["incarnation"].get<std::int64_t>(), first_incarnation);
  std::this_thread::sleep_for(500ms);
  stop = true;
  for (auto& t : load)
    t.join();
  for (std::size_t i = 0; i < 3; ++i)
    EXPECT_EQ(differences(before, replies_through(*c, i, units)), 0u) << expd_cluster::name(i);

  // Every 200 is the answer of before; everything else a 503 with Retry-After (or, from
  // the cut-off node, no reply).
  std::map<std::string, std::size_t> wrong;
  auto judge = [&](const std::vector<sample>& samples, const char* who, bool may_time_out) {
    for (auto& s : samples)
      if (s.status == 200 ? !s.same
                          : !(s.status == 503 && s.retry_after) && !(may_time_out && s.status == 0))
        ++wrong[std::string{who} + " status " + std::to_string(s.status)];
  };
  judge(n1_load, "n1", false);
  judge(n2_load, "n2", false);
  judge(n3_own, "n3", true);
  judge(n3_others, "n3", true);
  EXPECT_TRUE(wrong.empty()) << ::testing::PrintToString(wrong);

  // The takeover: the survivors' first 200 (as sent) for one of n3's slots after the cut.
  auto n3_slot = std::vector<bool>(expd::core::ring_slots, false);
  for (auto s : own)
    n3_slot[s] = true;
  auto taken_at = clock_type::time_point::max();
  for (auto* samples : {&n1_load, &n2_load})
    for (auto& s : *samples)
      if (s.status == 200 && n3_slot[s.slot] && s.sent > cut_at && s.received < healed_at)
        taken_at = std::min(taken_at, s.sent);
  ASSERT_NE(taken_at, clock_type::time_point::max()) << "no survivor served one of n3's slots";
  // n3's last 200 (as received) for its slots while cut off, and what it did after.
  auto last_at = clock_type::time_point::min();
  auto last_sent = last_at;
  std::size_t refused_after = 0;
  for (auto& s : n3_own) {
    if (s.received >= healed_at)
      continue;
    if (s.status == 200) {
      last_at = std::max(last_at, s.received);
      last_sent = std::max(last_sent, s.sent);
    } else if (s.sent > taken_at) {
      ++refused_after;
    }
  }
  std::size_t others_served = 0;
  for (auto& s : n3_others)
    others_served += s.status == 200 && s.sent > cut_at && s.received < healed_at;

  std::cout << "cut -> n3's last 200: " << ms(last_at - cut_at) << " ms, cut -> takeover: "
            << ms(taken_at - cut_at) << " ms, cut -> every unit served by n1 and n2: "
            << ms(served_at - cut_at) << " ms, heal -> n3 back: " << ms(rejoined_at - healed_at)
            << " ms; requests " << n1_load.size() << " " << n2_load.size() << " " << n3_own.size()
            << " " << n3_others.size() << "\n";
  // The window this test is about: n3 still answered for its slots after the cut...
  EXPECT_GT(last_sent, cut_at);
  // ...stopped by its own clock at 3/4 of the lease after its last renewal (before the
  // cut)...
  EXPECT_LE(last_sent - cut_at, lease * 3 / 4) << ms(last_sent - cut_at) << " ms";
  // ...and before any other node served one of them.
  EXPECT_LT(last_at, taken_at) << "n3 answered " << ms(last_at - taken_at)
                               << " ms after a survivor served one of its slots";
  EXPECT_GT(refused_after, 0u);
  // The partition is real: n3 could not reach the owners of the other slots.
  EXPECT_EQ(others_served, 0u);
  EXPECT_LT(served_at - cut_at, lease + 2s) << ms(served_at - cut_at) << " ms";
}
