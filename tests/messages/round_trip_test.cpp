#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/make_message.hpp>

#include "messages/actors.hpp"
#include "messages/type_registry.hpp"

using namespace expd;
using nlohmann::json;

namespace {

// One system for the suite, made and stopped inside main: CAF's threads must be gone
// before static destruction starts.
struct wire_environment : ::testing::Environment {
  void SetUp() override {
    add_message_types(cfg);
    sys = std::make_unique<caf::actor_system>(cfg);
  }
  void TearDown() override {
    sys.reset();
  }
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
};

auto* const environment = static_cast<wire_environment*>(
  ::testing::AddGlobalTestEnvironment(new wire_environment));

caf::actor_system& wire_system() {
  return *environment->sys;
}

std::vector<char> save(caf::message msg) {
  std::vector<char> buf;
  caf::binary_serializer sink{wire_system(), buf};
  auto err = sink(msg);
  EXPECT_FALSE(err) << wire_system().render(err);
  return buf;
}

// Through a caf::message, as the middleman sends it: saving fails for a type the
// system does not know by name, so this also checks that `T` is registered.
template <class T>
T round_trip(const T& x) {
  auto buf = save(caf::make_message(x));
  caf::message loaded;
  caf::binary_deserializer source{wire_system(), buf};
  auto err = source(loaded);
  EXPECT_FALSE(err) << wire_system().render(err);
  EXPECT_TRUE(loaded.match_elements<T>()) << "loaded as " << caf::to_string(loaded);
  if (!loaded.match_elements<T>())
    return T{};
  return loaded.get_as<T>(0);
}

const std::string unicode = "Zürich \xe2\x86\x92 東京 \xf0\x9f\x98\x80";
const std::string large(1 << 20, 'x');

core::uuid id(std::uint64_t hi, std::uint64_t lo) {
  return {hi, lo};
}

} // namespace

TEST(wire, api_reply) {
  for (auto& body : {std::string{}, unicode, large}) {
    api_reply x{202, body, {{"Retry-After", "1"}, {"X-Note", unicode}}};
    auto y = round_trip(x);
    EXPECT_EQ(y.status, 202);
    EXPECT_EQ(y.body, body);
    EXPECT_EQ(y.headers, x.headers);
  }
  EXPECT_TRUE(round_trip(api_reply{}).headers.empty());
}

TEST(wire, status_record_and_metric_sample) {
  status_record x{unicode, {{"expd_a_total", "counter", unicode, "shard=\"0\"", 1e300},
                            {"", "", "", "", -0.5},
                            {"expd_b", "gauge", large, "", 42}}};
  auto y = round_trip(x);
  EXPECT_EQ(y.component, x.component);
  ASSERT_EQ(y.samples.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(y.samples[i].name, x.samples[i].name);
    EXPECT_EQ(y.samples[i].type, x.samples[i].type);
    EXPECT_EQ(y.samples[i].help, x.samples[i].help);
    EXPECT_EQ(y.samples[i].labels, x.samples[i].labels);
    EXPECT_EQ(y.samples[i].value, x.samples[i].value);
  }
  auto z = round_trip(x.samples[0]);
  EXPECT_EQ(z.help, unicode);
}

TEST(wire, uuid) {
  for (auto x : {core::uuid{}, id(~0ULL, ~0ULL), id(0x0123456789abcdefULL, 42)}) {
    auto y = round_trip(x);
    EXPECT_EQ(y, x);
  }
}

TEST(wire, assign_request_carries_its_context_as_json_text) {
  core::assign_request x;
  x.unit_type = "user";
  x.unit_id = unicode;
  x.context = json{{"country", "CH"}, {"plan", unicode}, {"age", 41}, {"score", 0.25},
                   {"big", 18446744073709551615ULL}, {"tags", {"a", "", large}},
                   {"nested", {{"deeper", {{"null", nullptr}, {"yes", true}}}}}};
  x.requested = {"exp-a", "", unicode};
  x.all = false;
  auto y = round_trip(x);
  EXPECT_EQ(y.unit_type, x.unit_type);
  EXPECT_EQ(y.unit_id, x.unit_id);
  EXPECT_EQ(y.context, x.context);
  EXPECT_EQ(y.context.dump(), x.context.dump());
  EXPECT_EQ(y.requested, x.requested);
  EXPECT_FALSE(y.all);

  core::assign_request empty;
  auto z = round_trip(empty);
  EXPECT_TRUE(z.context.is_object());
  EXPECT_TRUE(z.context.empty());
  EXPECT_TRUE(z.all);
}

TEST(wire, assignment_batch_rebuilds_the_salt) {
  auto salt = std::make_shared<const std::string>(unicode);
  assignment_batch x{{id(1, 2), id(3, 4), "user", unicode, salt},
                     {id(5, 6), id(7, 8), "", "", std::make_shared<const std::string>()},
                     {id(9, 10), id(11, 12), "household", large, salt}};
  auto y = round_trip(x);
  ASSERT_EQ(y.size(), x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    EXPECT_EQ(y[i].experiment_id, x[i].experiment_id);
    EXPECT_EQ(y[i].variant_id, x[i].variant_id);
    EXPECT_EQ(y[i].unit_type, x[i].unit_type);
    EXPECT_EQ(y[i].unit_id, x[i].unit_id);
    ASSERT_NE(y[i].salt, nullptr);
    EXPECT_EQ(*y[i].salt, *x[i].salt);
    EXPECT_NE(y[i].salt, x[i].salt) << "a loaded row owns its salt";
  }
  EXPECT_EQ(round_trip(x[0]).unit_id, unicode);
}

TEST(wire, event_query) {
  core::event_query x;
  x.unit_id = unicode;
  x.event_type = "purchase";
  x.before = -1;
  x.window = core::max_event_query_window;
  x.limit = core::max_event_query_limit;
  auto y = round_trip(x);
  EXPECT_EQ(y.unit_id, x.unit_id);
  EXPECT_FALSE(y.experiment_id.has_value());
  EXPECT_EQ(y.event_type, x.event_type);
  EXPECT_EQ(y.before, x.before);
  EXPECT_EQ(y.before_id, x.before_id);
  EXPECT_EQ(y.window, x.window);
  EXPECT_EQ(y.limit, x.limit);

  x.unit_id.clear();
  x.experiment_id = id(0, 0);
  auto z = round_trip(x);
  ASSERT_TRUE(z.experiment_id.has_value());
  EXPECT_EQ(*z.experiment_id, id(0, 0));
}

TEST(wire, dataset_build_request) {
  core::dataset_build_request x{unicode, -1736121600000000LL, 1736726400000000LL, 0.25};
  auto y = round_trip(x);
  EXPECT_EQ(y.name, x.name);
  EXPECT_EQ(y.from, x.from);
  EXPECT_EQ(y.to, x.to);
  EXPECT_DOUBLE_EQ(y.validation, x.validation);
}

TEST(wire, unit_refs_held_variants_and_spool_consumer) {
  unit_refs x{{"user", unicode}, {"", ""}, {"household", large}};
  auto y = round_trip(x);
  ASSERT_EQ(y.size(), x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    EXPECT_EQ(y[i].unit_type, x[i].unit_type);
    EXPECT_EQ(y[i].unit_id, x[i].unit_id);
  }
  EXPECT_EQ(round_trip(x[0]).unit_id, unicode);

  held_variants_list held{{{id(1, 2), id(3, 4)}, {id(5, 6), id(7, 8)}}, {}, {{id(0, 0), id(~0ULL, 1)}}};
  EXPECT_EQ(round_trip(held), held);

  EXPECT_EQ(round_trip(spool_consumer::archiver), spool_consumer::archiver);
  EXPECT_EQ(round_trip(spool_consumer::loader), spool_consumer::loader);
}

TEST(wire, every_expd_error_keeps_its_code_category_field_and_message) {
  for (std::uint8_t n = 1; n < ec_end; ++n) {
    auto code = static_cast<ec>(n);
    auto err = make_error(code, "events[2]." + unicode, "refused: " + unicode);
    for (auto& y : {round_trip(err), [&] {
                      // And as a bare error, as a response carries it.
                      std::vector<char> buf;
                      caf::binary_serializer sink{wire_system(), buf};
                      auto copy = err;
                      EXPECT_FALSE(sink(copy));
                      caf::error loaded;
                      caf::binary_deserializer source{wire_system(), buf};
                      EXPECT_FALSE(source(loaded));
                      return loaded;
                    }()}) {
      EXPECT_EQ(y.code(), n) << to_string(code);
      EXPECT_EQ(y.category(), error_category);
      EXPECT_EQ(expd_code(y), n);
      EXPECT_EQ(error_field(y), "events[2]." + unicode);
      EXPECT_EQ(error_message(y), "refused: " + unicode);
      EXPECT_EQ(error_detail(y), "");
      EXPECT_EQ(error_retry_after(y), 0u);
      EXPECT_EQ(y, err);
    }
  }
}

TEST(wire, error_extras_and_empty_parts_survive) {
  auto err = make_error(ec::invalid_event, "", "",
                        {json{{"accepted", 0}, {"rejected", {large}}}.dump(), 7});
  auto y = round_trip(err);
  EXPECT_EQ(error_field(y), "");
  EXPECT_EQ(error_message(y), "");
  EXPECT_EQ(json::parse(error_detail(y))["rejected"][0], large);
  EXPECT_EQ(error_retry_after(y), 7u);
}

TEST(wire, errors_of_other_categories_have_no_expd_parts) {
  caf::error timeout = caf::sec::request_timeout;
  auto y = round_trip(timeout);
  EXPECT_EQ(y, timeout);
  EXPECT_EQ(expd_code(y), 0);
  EXPECT_EQ(error_field(y), "");
  EXPECT_EQ(error_message(y), "");
}

TEST(wire, errors_render_with_their_field_and_message) {
  auto text = wire_system().render(make_error(ec::unknown_experiment, "requested_experiments[1]",
                                              "unknown experiment \"nope\""));
  EXPECT_EQ(text, "expd:unknown_experiment at requested_experiments[1]: unknown experiment \"nope\"");
  for (std::uint8_t n = 1; n < ec_end; ++n)
    EXPECT_NE(to_string(static_cast<ec>(n)), "unknown") << int{n};
}

namespace {

caf::behavior idle(caf::event_based_actor*) {
  return {[](int) {}};
}

template <class... Handles>
void expect_handles_round_trip(const caf::actor& real) {
  auto one = [&](auto handle) {
    using handle_type = decltype(handle);
    EXPECT_EQ(round_trip(handle), handle) << typeid(handle_type).name();
    EXPECT_EQ(round_trip(handle_type{}), handle_type{});
  };
  (one(caf::actor_cast<Handles>(real)), ...);
}

} // namespace

TEST(wire, every_typed_actor_handle) {
  auto real = wire_system().spawn(idle);
  expect_handles_round_trip<status_actor, assignment_writer_actor, assignment_shard_actor,
                            spool_writer_actor, event_loader_actor, archiver_actor,
                            partition_keeper_actor, event_reader_actor, aggregator_actor,
                            results_reader_actor, ingestion_actor, experiment_registry_actor,
                            shard_access_actor, node_entry_actor, node_entry_control_actor,
                            membership_actor, trainer_worker_actor,
                            training_registry_actor, inference_actor>(real);
  caf::anon_send_exit(real, caf::exit_reason::user_shutdown);
}

TEST(wire, node_hello) {
  node_hello x{"0190a1b2-c3d4-4e5f-8a9b-0c1d2e3f4a5b", unicode, 7, large};
  auto y = round_trip(x);
  EXPECT_EQ(y.cluster_id, x.cluster_id);
  EXPECT_EQ(y.name, unicode);
  EXPECT_EQ(y.protocol, 7);
  EXPECT_EQ(y.build_version, large);
  EXPECT_EQ(round_trip(node_hello{}).name, "");
}

TEST(wire, assignment_barrier) {
  assignment_barrier x{{id(0x0190a1b2c3d44e5fULL, 1), id(0x0190a1b2c3d44e5fULL, 2)},
                       (std::uint64_t{1} << 63) + 5, -7};
  auto y = round_trip(x);
  EXPECT_EQ(y.experiments, x.experiments);
  EXPECT_EQ(y.snapshot_version, x.snapshot_version);
  EXPECT_EQ(y.hold_ms, -7);
  EXPECT_TRUE(round_trip(assignment_barrier{}).experiments.empty());
}

TEST(wire, training_progress) {
  training_progress x{unicode, (std::uint64_t{1} << 63) + 3, 1000, 2.5, 1e-4, 0.75,
                      123456789, 4096.5, large};
  auto y = round_trip(x);
  EXPECT_EQ(y.job_id, unicode);
  EXPECT_EQ(y.step, x.step);
  EXPECT_EQ(y.total_steps, 1000u);
  EXPECT_DOUBLE_EQ(y.loss, 2.5);
  EXPECT_DOUBLE_EQ(y.learning_rate, 1e-4);
  EXPECT_DOUBLE_EQ(y.grad_norm, 0.75);
  EXPECT_EQ(y.tokens, 123456789u);
  EXPECT_DOUBLE_EQ(y.tokens_per_second, 4096.5);
  EXPECT_EQ(y.checkpoint, large);
  EXPECT_EQ(round_trip(training_progress{}).checkpoint, "");
}

TEST(wire, training_outcome) {
  for (auto result : {core::rank_result::succeeded, core::rank_result::failed,
                      core::rank_result::cancelled}) {
    training_outcome x{"job", result, unicode, result == core::rank_result::failed};
    auto y = round_trip(x);
    EXPECT_EQ(y.job_id, "job");
    EXPECT_EQ(y.result, result);
    EXPECT_EQ(y.error, unicode);
    EXPECT_EQ(y.retriable, x.retriable);
  }
}

TEST(wire, generation_request) {
  core::generation_request x;
  x.id = unicode;
  x.prompt = {1, 0, 31999, std::numeric_limits<std::int32_t>::max(), -1};
  x.max_new_tokens = 4096;
  x.temperature = 0.7;
  x.top_p = 0.95;
  x.top_k = 40;
  x.seed = ~0ULL;
  x.stop = {{2}, {}, {13, 13, 29901}};
  auto y = round_trip(x);
  EXPECT_EQ(y.id, unicode);
  EXPECT_EQ(y.prompt, x.prompt);
  EXPECT_EQ(y.max_new_tokens, 4096u);
  EXPECT_EQ(y.temperature, 0.7);
  EXPECT_EQ(y.top_p, 0.95);
  EXPECT_EQ(y.top_k, 40u);
  EXPECT_EQ(y.seed, ~0ULL);
  EXPECT_EQ(y.stop, x.stop);
  auto empty = round_trip(core::generation_request{});
  EXPECT_TRUE(empty.prompt.empty());
  EXPECT_TRUE(empty.stop.empty());
  EXPECT_EQ(empty.top_p, 1.0);
  std::vector<core::generation_request> batch{x, core::generation_request{}};
  EXPECT_EQ(round_trip(batch).at(0).stop, x.stop);
}

TEST(wire, generation_result) {
  for (auto reason : {core::finish_reason::stop, core::finish_reason::length}) {
    generation_result x{unicode, {5, 6, 7}, reason, reason == core::finish_reason::stop ? 2 : -1,
                        100000, 4, 32, (std::int64_t{1} << 40) + 1, -3};
    auto y = round_trip(x);
    EXPECT_EQ(y.id, unicode);
    EXPECT_EQ(y.tokens, x.tokens);
    EXPECT_EQ(y.finish_reason, reason);
    EXPECT_EQ(y.stop_index, x.stop_index);
    EXPECT_EQ(y.prompt_tokens, 100000u);
    EXPECT_EQ(y.generated_tokens, 4u);
    EXPECT_EQ(y.batch_size, 32u);
    EXPECT_EQ(y.queue_us, x.queue_us);
    EXPECT_EQ(y.compute_us, -3);
  }
  EXPECT_TRUE(round_trip(generation_result{}).tokens.empty());
  std::vector<generation_result> batch(3);
  batch[1].tokens.assign(1 << 16, 7);
  EXPECT_EQ(round_trip(batch).at(1).tokens.size(), std::size_t{1} << 16);
}

TEST(wire, model_load_request) {
  model_load_request x{"planner_model/5", unicode, "/var/models/planner_model/5/adapter"};
  auto y = round_trip(x);
  EXPECT_EQ(y.key, "planner_model/5");
  EXPECT_EQ(y.model, unicode);
  EXPECT_EQ(y.adapter, x.adapter);
  EXPECT_TRUE(round_trip(model_load_request{}).adapter.empty());
}

TEST(wire, plan_request_and_assignment) {
  core::plan_request x;
  x.request_id = unicode;
  x.assign.unit_type = "household";
  x.assign.unit_id = "household-0042";
  x.assign.context = {{"country", "DE"}, {"tier", 3}};
  x.assign.all = false;
  x.assign.requested = {"planner_policy_exp"};
  x.input = {"household-0042", "pantry-7", "constraint-9", "weekly", "auto", {"r1", unicode}};
  x.max_new_tokens = 96;
  auto y = round_trip(x);
  EXPECT_EQ(y.request_id, unicode);
  EXPECT_EQ(y.assign.unit_id, "household-0042");
  EXPECT_EQ(y.assign.context, x.assign.context);
  EXPECT_EQ(y.assign.requested, x.assign.requested);
  EXPECT_FALSE(y.assign.all);
  EXPECT_EQ(y.input.pantry_id, "pantry-7");
  EXPECT_EQ(y.input.constraint_id, "constraint-9");
  EXPECT_EQ(y.input.workflow, "weekly");
  EXPECT_EQ(y.input.mode, "auto");
  EXPECT_EQ(y.input.previous_plan, x.input.previous_plan);
  EXPECT_EQ(y.max_new_tokens, 96u);
  core::plan_assignment a{"e-id", "planner_policy_exp", "v-id", unicode, "planner_policy/2"};
  auto b = round_trip(a);
  EXPECT_EQ(b.experiment_name, "planner_policy_exp");
  EXPECT_EQ(b.variant_name, unicode);
  EXPECT_EQ(b.policy_version_id, "planner_policy/2");
}

TEST(wire, plan_generation_completion_and_preparation) {
  auto g = round_trip(plan_generation{"req-1", unicode, 64});
  EXPECT_EQ(g.request_id, "req-1");
  EXPECT_EQ(g.input, unicode);
  EXPECT_EQ(g.max_new_tokens, 64u);
  plan_completion c{"plan: tonight dal tadka", generation_result{}};
  c.result.tokens = {1, 2, 3};
  c.result.batch_size = 8;
  auto d = round_trip(c);
  EXPECT_EQ(d.plan, c.plan);
  EXPECT_EQ(d.result.tokens, c.result.tokens);
  EXPECT_EQ(d.result.batch_size, 8u);
  auto p = round_trip(plan_preparation{unicode, "6f1c0000-0000-4000-8000-000000000001", "planner_model", 5});
  EXPECT_EQ(p.input, unicode);
  EXPECT_EQ(p.model_name, "planner_model");
  EXPECT_EQ(p.model_version, 5);
}

TEST(wire, types_registered_under_expd_names) {
  auto& types = wire_system().types();
  for (auto* name : {"expd.api_reply", "expd.metric_sample", "expd.status_record", "expd.uuid",
                     "expd.assign_request", "expd.assignment_record",
                     "std::vector<expd.assignment_record>", "expd.event_query", "expd.unit_ref",
                     "std::vector<expd.unit_ref>", "expd.held_variants_list",
                     "expd.spool_consumer", "expd.node_hello", "expd.assignment_barrier",
                     "expd.assignment_shard_actor",
                     "expd.node_entry_actor", "expd.membership_actor",
                     "expd.experiment_registry_actor", "expd.training_progress",
                     "expd.training_outcome", "expd.rank_result", "expd.trainer_worker_actor",
                     "expd.training_registry_actor", "expd.finish_reason",
                     "expd.generation_request", "expd.generation_result",
                     "std::vector<expd.generation_request>", "std::vector<expd.generation_result>",
                     "expd.inference_actor", "expd.model_load_request", "expd.model_host_actor",
                     "expd.replay_runner_actor", "expd.plan_input", "expd.plan_request",
                     "expd.plan_assignment", "expd.plan_generation", "expd.plan_completion",
                     "expd.plan_preparation", "expd.plan_model_actor", "expd.plan_reader_actor",
                     "expd.plan_server_actor"})
    EXPECT_NE(types.make_value(std::string{name}), nullptr) << name;
}
