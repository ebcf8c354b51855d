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
    [](atom::status) -> status_record { return {"fake_writer", {}}; },
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
