#include <gtest/gtest.h>

#include <filesystem>

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actor_system_fixture.hpp"
#include "actors/assignment/assignment_shard.hpp"
#include "actors/gateway/error_table.hpp"

using namespace expd;
using nlohmann::json;

namespace {

core::experiment make_experiment(std::uint64_t n, std::string name) {
  core::experiment e;
  e.id = {0, n * 100};
  e.name = std::move(name);
  e.unit_type = "user";
  e.status = core::experiment_status::running;
  e.salt = e.name;
  e.variants.push_back({{0, n * 100 + 1}, "only", 1.0, json{{"n", n}}, "", "", ""});
  return e;
}

core::snapshot_ptr snap(std::uint64_t version, std::vector<core::experiment> list) {
  return std::make_shared<const core::snapshot>(version, std::move(list));
}

// Takes the shard's rows and forgets them.
assignment_writer_actor::behavior_type fake_writer() {
  return {
    [](atom::record, const assignment_batch&, std::uint64_t) {},
    [](atom::drain) -> std::uint64_t { return 0; },
    [](atom::drain, std::int64_t) -> std::uint64_t { return 0; },
    [](atom::status) -> status_record { return {"fake_writer", {}}; },
  };
}

struct counting_writer_state {
  std::vector<std::string> units; ///< in the order the rows came
  std::vector<std::size_t> rows_at_drain; ///< rows received when each drain came
};

// Keeps the units of the rows it gets and, per drain, how many it had then; answers
// every drain with `unwritten`. Its status reports both.
assignment_writer_actor::behavior_type
counting_writer(assignment_writer_actor::stateful_pointer<counting_writer_state> self,
                std::uint64_t unwritten) {
  return {
    [=](atom::record, const assignment_batch& rows, std::uint64_t) {
      for (auto& r : rows)
        self->state.units.push_back(r.unit_id);
    },
    [=](atom::drain) -> std::uint64_t { return unwritten; },
    [=](atom::drain, std::int64_t) -> std::uint64_t {
      self->state.rows_at_drain.push_back(self->state.units.size());
      return unwritten;
    },
    [=](atom::status) -> status_record {
      status_record r{"counting_writer", {}};
      for (auto& u : self->state.units)
        r.samples.push_back({"row", "gauge", "", u, 0});
      for (auto n : self->state.rows_at_drain)
        r.samples.push_back({"drain", "gauge", "", "", static_cast<double>(n)});
      return r;
    },
  };
}

struct assignment_shard_test : test::actor_system_fixture {
  assignment_shard_test() {
    journal_root = std::filesystem::temp_directory_path()
                   / ("expd_shard_test_" + std::to_string(::getpid()));
    std::filesystem::remove_all(journal_root);
    shard = sys.spawn(assignment_shard, std::size_t{0}, sys.spawn(fake_writer),
                      snap(5, {make_experiment(1, "checkout")}),
                      std::make_unique<runtime::assignment_journal>(journal_root, 0));
  }

  ~assignment_shard_test() override {
    self->send_exit(shard, caf::exit_reason::user_shutdown);
    std::filesystem::remove_all(journal_root);
  }

  core::assign_request request(std::vector<std::string> requested) {
    return core::parse_assign_request(json{
      {"unit_type", "user"}, {"unit_id", "u1"}, {"requested_experiments", requested}});
  }

  double snapshot_version() {
    double version = -1;
    self->request(shard, caf::infinite, atom::status::value)
      .receive(
        [&](status_record& r) {
          for (auto& s : r.samples)
            if (s.name == "expd_shard_snapshot_version")
              version = s.value;
        },
        [&](caf::error& err) { ADD_FAILURE() << sys.render(err); });
    return version;
  }

  std::filesystem::path journal_root;
  assignment_shard_actor shard;
};

} // namespace

TEST_F(assignment_shard_test, answers_a_known_experiment_with_its_variant) {
  self->request(shard, caf::infinite, atom::assign::value, request({"checkout"}))
    .receive(
      [&](api_reply& r) {
        EXPECT_EQ(r.status, 200);
        auto body = json::parse(r.body);
        ASSERT_EQ(body["assignments"].size(), 1u);
        EXPECT_EQ(body["assignments"][0]["variant_name"], "only");
      },
      [&](caf::error& err) { ADD_FAILURE() << sys.render(err); });
}

TEST_F(assignment_shard_test, an_unknown_requested_experiment_is_a_typed_error_naming_the_field) {
  self->request(shard, caf::infinite, atom::assign::value, request({"checkout", "nope"}))
    .receive([&](api_reply& r) { ADD_FAILURE() << "answered " << r.body; },
             [&](caf::error& err) {
               EXPECT_EQ(err.category(), error_category);
               EXPECT_EQ(expd_code(err), static_cast<std::uint8_t>(ec::unknown_experiment));
               EXPECT_EQ(error_field(err), "requested_experiments[1]");
               EXPECT_EQ(error_message(err), "unknown experiment \"nope\"");
               // What a client of the gateway reads for it, also when the shard is
               // on another node.
               std::vector<char> buf;
               caf::binary_serializer sink{sys, buf};
               ASSERT_FALSE(sink(err));
               caf::error remote;
               caf::binary_deserializer source{sys, buf};
               ASSERT_FALSE(source(remote));
               EXPECT_EQ(render_http_error(remote).body, render_http_error(err).body);
               auto reply = render_http_error(remote);
               EXPECT_EQ(reply.status, 400);
               EXPECT_EQ(reply.body, R"({"error":{"code":"unknown_experiment","field":)"
                                     R"("requested_experiments[1]","message":)"
                                     R"("unknown experiment \"nope\""}})");
             });
}

TEST_F(assignment_shard_test, a_snapshot_older_than_the_installed_one_is_ignored) {
  EXPECT_EQ(snapshot_version(), 5);
  self->send(shard, atom::snapshot::value, snap(4, {make_experiment(2, "older")}));
  EXPECT_EQ(snapshot_version(), 5);
  self->send(shard, atom::snapshot::value, snap(5, {make_experiment(3, "same")}));
  EXPECT_EQ(snapshot_version(), 5);
  self->request(shard, caf::infinite, atom::assign::value, request({"older"}))
    .receive([&](api_reply& r) { ADD_FAILURE() << "served the older snapshot: " << r.body; },
             [&](caf::error& err) {
               EXPECT_EQ(expd_code(err), static_cast<std::uint8_t>(ec::unknown_experiment));
             });
  self->send(shard, atom::snapshot::value, snap(6, {make_experiment(4, "newer")}));
  EXPECT_EQ(snapshot_version(), 6);
  self->request(shard, caf::infinite, atom::assign::value, request({"newer"}))
    .receive([&](api_reply& r) { EXPECT_EQ(r.status, 200); },
             [&](caf::error& err) { ADD_FAILURE() << sys.render(err); });
}

namespace {

// A shard with a writer that counts, serving "checkout" and "other" at version 5.
struct shard_barrier_test : test::actor_system_fixture {
  explicit shard_barrier_test(std::uint64_t unwritten = 0) {
    journal_root = std::filesystem::temp_directory_path()
                   / ("expd_barrier_test_" + std::to_string(::getpid()));
    std::filesystem::remove_all(journal_root);
    writer = sys.spawn(counting_writer, unwritten);
    shard = sys.spawn(assignment_shard, std::size_t{0}, writer,
                      snap(5, {make_experiment(1, "checkout"), make_experiment(2, "other")}),
                      std::make_unique<runtime::assignment_journal>(journal_root, 0));
  }

  ~shard_barrier_test() override {
    self->send_exit(shard, caf::exit_reason::user_shutdown);
    self->send_exit(writer, caf::exit_reason::user_shutdown);
    std::filesystem::remove_all(journal_root);
  }

  caf::expected<api_reply> assign(const std::string& unit, const std::string& experiment) {
    caf::expected<api_reply> out{caf::error{}};
    self
      ->request(shard, caf::infinite, atom::assign::value,
                core::parse_assign_request(json{{"unit_type", "user"},
                                                {"unit_id", unit},
                                                {"requested_experiments", {experiment}}}))
      .receive([&](api_reply& r) { out = std::move(r); }, [&](caf::error& e) { out = std::move(e); });
    return out;
  }

  caf::expected<bool> barrier(std::vector<core::uuid> ids, std::uint64_t version = 5) {
    caf::expected<bool> out{caf::error{}};
    self->request(shard, caf::infinite, atom::barrier::value,
                  assignment_barrier{std::move(ids), version, 60000})
      .receive([&](bool b) { out = b; }, [&](caf::error& e) { out = std::move(e); });
    return out;
  }

  // The writer's rows (units, in order) and the row count at each drain.
  std::pair<std::vector<std::string>, std::vector<std::size_t>> seen() {
    std::pair<std::vector<std::string>, std::vector<std::size_t>> out;
    self->request(writer, caf::infinite, atom::status::value)
      .receive(
        [&](status_record& r) {
          for (auto& s : r.samples)
            if (s.name == "row")
              out.first.push_back(s.labels);
            else
              out.second.push_back(static_cast<std::size_t>(s.value));
        },
        [&](caf::error& e) { ADD_FAILURE() << sys.render(e); });
    return out;
  }

  std::filesystem::path journal_root;
  assignment_writer_actor writer;
  assignment_shard_actor shard;
};

struct shard_barrier_refused_test : shard_barrier_test {
  shard_barrier_refused_test() : shard_barrier_test(3) {
  }
};

const core::uuid checkout_id{0, 100};

} // namespace

TEST_F(shard_barrier_test, hands_what_it_assigned_to_the_writer_before_it_confirms) {
  ASSERT_TRUE(assign("u1", "checkout"));
  ASSERT_TRUE(assign("u2", "other"));
  // Both rows still wait for the 20 ms flush: the barrier must not.
  auto confirmed = barrier({checkout_id});
  ASSERT_TRUE(confirmed) << sys.render(confirmed.error());
  auto [units, drains] = seen();
  EXPECT_EQ(units, (std::vector<std::string>{"u1", "u2"}));
  EXPECT_EQ(drains, (std::vector<std::size_t>{2}));
}

TEST_F(shard_barrier_test, answers_a_first_time_assignment_of_its_experiments_once_stored) {
  ASSERT_TRUE(barrier({checkout_id}));
  auto reply = assign("u3", "checkout");
  ASSERT_TRUE(reply) << sys.render(reply.error());
  EXPECT_EQ(json::parse(reply->body)["assignments"][0]["variant_name"], "only");
  auto [units, drains] = seen();
  EXPECT_EQ(units, (std::vector<std::string>{"u3"}));
  // The barrier's drain, then the reply's, which had u3's row.
  EXPECT_EQ(drains, (std::vector<std::size_t>{0, 1}));
  // Sticky from now on: no row, no wait.
  ASSERT_TRUE(assign("u3", "checkout"));
  EXPECT_EQ(seen().second.size(), 2u);
}

TEST_F(shard_barrier_test, other_experiments_still_write_behind) {
  ASSERT_TRUE(barrier({checkout_id}));
  ASSERT_TRUE(assign("u4", "other"));
  EXPECT_EQ(seen().second.size(), 1u);
}

TEST_F(shard_barrier_test, the_newer_snapshot_or_an_empty_barrier_ends_it) {
  ASSERT_TRUE(barrier({checkout_id}));
  self->send(shard, atom::snapshot::value, snap(5, {make_experiment(1, "checkout")}));
  ASSERT_TRUE(assign("u5", "checkout"));
  EXPECT_EQ(seen().second.size(), 2u) << "a snapshot no newer than the barrier's ended it";
  self->send(shard, atom::snapshot::value,
             snap(6, {make_experiment(1, "checkout"), make_experiment(2, "other")}));
  ASSERT_TRUE(assign("u6", "checkout"));
  EXPECT_EQ(seen().second.size(), 2u);
  ASSERT_TRUE(barrier({checkout_id}, 6));
  ASSERT_TRUE(barrier({}, 6));
  ASSERT_TRUE(assign("u7", "checkout"));
  EXPECT_EQ(seen().second.size(), 3u);
}

TEST_F(shard_barrier_test, a_shard_already_past_the_change_does_not_write_through) {
  ASSERT_TRUE(barrier({checkout_id}, 4));
  ASSERT_TRUE(assign("u8", "checkout"));
  EXPECT_EQ(seen().second.size(), 1u);
}

TEST_F(shard_barrier_refused_test, rows_left_unwritten_refuse_the_barrier_and_the_held_reply) {
  auto confirmed = barrier({checkout_id});
  ASSERT_FALSE(confirmed);
  EXPECT_EQ(expd_code(confirmed.error()), static_cast<std::uint8_t>(ec::database_unavailable));
  auto reply = assign("u9", "checkout");
  ASSERT_FALSE(reply) << "answered a row that is not stored: " << reply->body;
  EXPECT_EQ(expd_code(reply.error()), static_cast<std::uint8_t>(ec::database_unavailable));
  EXPECT_EQ(render_http_error(reply.error()).status, 503);
}
