#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <gtest/gtest.h>

#include "gpu/generation.hpp"
#include "gpu/inference_worker.hpp"
#include "gpu/lora.hpp"
#include "messages/type_registry.hpp"
#include "tests/gpu/tiny_checkpoints.hpp"

using namespace expd;
using namespace expd::gpu;
using ids = std::vector<std::int32_t>;

namespace {

// A real actor system per test, configured as expd-trainer configures its own.
struct inference_worker_test : ::testing::Test {
  inference_worker_test() : sys(configured(cfg)), self(sys) {
  }

  // A worker's timer holds it alive until it fires, and the system waits for every actor.
  ~inference_worker_test() override {
    for (auto& w : workers)
      self->send_exit(w, caf::exit_reason::user_shutdown);
  }

  inference_actor start(inference_worker_config c) {
    return workers.emplace_back(spawn_inference_worker(sys, std::move(c)));
  }

  static caf::actor_system_config& configured(caf::actor_system_config& c) {
    c.load<caf::io::middleman>();
    add_message_types(c);
    return c;
  }

  static inference_worker_config config(std::uint32_t batch, std::uint32_t queue,
                                        std::chrono::milliseconds wait) {
    inference_worker_config c;
    c.model = test::tiny_checkpoints() / "gqa";
    c.batching.max_batch = batch;
    c.batching.max_queue = queue;
    c.batching.max_wait = wait;
    c.limits.max_stop_sequences = 2;
    return c;
  }

  // The worker's sample `name` (with `labels`), or -1 when it reports none.
  double figure(const inference_actor& worker, const std::string& name, const std::string& labels = "") {
    double value = -1;
    self->request(worker, caf::infinite, atom::status::value)
      .receive(
        [&](const status_record& r) {
          for (auto& s : r.samples)
            if (s.name == name && s.labels == labels)
              value = s.value;
        },
        [&](const caf::error& err) { ADD_FAILURE() << sys.render(err); });
    return value;
  }

  caf::actor_system_config cfg;
  caf::actor_system sys;
  caf::scoped_actor self;
  std::vector<inference_actor> workers;
};

core::generation_request request_of(std::string id, ids prompt, std::uint32_t max_new,
                                    double temperature = 0, std::uint64_t seed = 0) {
  core::generation_request r;
  r.id = std::move(id);
  r.prompt = std::move(prompt);
  r.max_new_tokens = max_new;
  r.temperature = temperature;
  r.seed = seed;
  return r;
}

// The refusal of `r` by `worker`: its code and field, or a test failure if it is run.
std::pair<std::uint8_t, std::string> refusal(caf::scoped_actor& self, const inference_actor& worker,
                                             const core::generation_request& r) {
  std::pair<std::uint8_t, std::string> out{0, "(answered)"};
  self->request(worker, caf::infinite, atom::generate::value, r)
    .receive([&](const generation_result&) { ADD_FAILURE() << "ran " << r.id; },
             [&](const caf::error& err) { out = {expd_code(err), error_field(err)}; });
  return out;
}

} // namespace

TEST_F(inference_worker_test, concurrent_requests_are_batched_and_each_gets_its_own_answer) {
  // A wait bound far away: the batch starts because it is full, not because time passed.
  auto worker = start(config(4, 16, std::chrono::seconds{60}));
  std::vector<core::generation_request> requests{
    request_of("a", {5, 6, 7}, 6), request_of("b", {1}, 3, 0.8, 11),
    request_of("c", {40, 41, 42, 43, 44, 45, 46, 47}, 9), request_of("d", {90, 2}, 5, 1.3, 12)};
  requests[3].top_p = 0.9;
  std::vector<decltype(self->request(worker, caf::infinite, atom::generate::value, requests[0]))> pending;
  for (auto& r : requests)
    pending.push_back(self->request(worker, caf::infinite, atom::generate::value, r));

  auto model = load_llama_model(test::tiny_checkpoints() / "gqa");
  for (std::size_t i = 0; i < requests.size(); ++i) {
    pending[i].receive(
      [&](const generation_result& got) {
        SCOPED_TRACE(requests[i].id);
        auto alone = generate(model, {requests[i]}).at(0);
        EXPECT_EQ(got.id, requests[i].id);
        EXPECT_EQ(got.tokens, alone.tokens);
        EXPECT_EQ(got.finish_reason, core::finish_reason::length);
        EXPECT_EQ(got.prompt_tokens, requests[i].prompt.size());
        EXPECT_EQ(got.generated_tokens, requests[i].max_new_tokens);
        EXPECT_EQ(got.batch_size, 4u);
        EXPECT_GE(got.queue_us, 0);
        EXPECT_GT(got.compute_us, 0);
      },
      [&](const caf::error& err) { ADD_FAILURE() << sys.render(err); });
  }
  EXPECT_EQ(figure(worker, "expd_inference_batches_total"), 1);
  EXPECT_EQ(figure(worker, "expd_inference_batch_size_mean"), 4);
  EXPECT_EQ(figure(worker, "expd_inference_generated_tokens_total"), 6 + 3 + 9 + 5);
  EXPECT_EQ(figure(worker, "expd_inference_queue_depth"), 0);
  EXPECT_GT(figure(worker, "expd_inference_tokens_per_second"), 0);
}

TEST_F(inference_worker_test, a_request_over_a_cap_or_with_a_bad_value_is_refused_naming_the_field) {
  auto worker = start(config(4, 16, std::chrono::milliseconds{1}));
  auto code = [](ec c) { return static_cast<std::uint8_t>(c); };
  // The gqa checkpoint has 128 positions and 96 tokens.
  auto r = request_of("long", ids(100, 3), 29);
  EXPECT_EQ(refusal(self, worker, r), std::pair(code(ec::over_limit), std::string{"max_new_tokens"}));
  r = request_of("longer", ids(128, 3), 1);
  EXPECT_EQ(refusal(self, worker, r), std::pair(code(ec::over_limit), std::string{"prompt"}));
  r = request_of("stops", {1}, 4);
  r.stop = {{1}, {2}, {3}};
  EXPECT_EQ(refusal(self, worker, r), std::pair(code(ec::over_limit), std::string{"stop"}));
  r = request_of("vocab", {1, 96}, 4);
  EXPECT_EQ(refusal(self, worker, r), std::pair(code(ec::invalid_field), std::string{"prompt[1]"}));
  r = request_of("top_p", {1}, 4, 1.0);
  r.top_p = 0;
  EXPECT_EQ(refusal(self, worker, r), std::pair(code(ec::invalid_field), std::string{"top_p"}));
  EXPECT_EQ(figure(worker, "expd_inference_refused_total", "reason=\"over_limit\""), 3);
  EXPECT_EQ(figure(worker, "expd_inference_refused_total", "reason=\"invalid\""), 2);
  EXPECT_EQ(figure(worker, "expd_inference_requests_total"), 0);

  // At the cap exactly it runs.
  self->request(worker, caf::infinite, atom::generate::value, request_of("fits", ids(100, 3), 28))
    .receive([](const generation_result& got) { EXPECT_EQ(got.tokens.size(), 28u); },
             [&](const caf::error& err) { ADD_FAILURE() << sys.render(err); });
}

TEST_F(inference_worker_test, a_full_queue_refuses_and_the_queued_run_after_the_wait_bound) {
  // Two may wait; a batch would take eight, so the two wait for the bound.
  auto worker = start(config(8, 2, std::chrono::milliseconds{1500}));
  auto first = self->request(worker, caf::infinite, atom::generate::value, request_of("1", {4}, 2));
  auto second = self->request(worker, caf::infinite, atom::generate::value, request_of("2", {5, 6}, 3));
  EXPECT_EQ(refusal(self, worker, request_of("3", {7}, 2)),
            std::pair(static_cast<std::uint8_t>(ec::overloaded), std::string{"request"}));
  EXPECT_EQ(figure(worker, "expd_inference_queue_depth"), 2);
  for (auto* h : {&first, &second})
    h->receive([](const generation_result& got) { EXPECT_EQ(got.batch_size, 2u); },
               [&](const caf::error& err) { ADD_FAILURE() << sys.render(err); });
  EXPECT_EQ(figure(worker, "expd_inference_refused_total", "reason=\"overloaded\""), 1);
  // Room again.
  self->request(worker, caf::infinite, atom::generate::value, request_of("4", {7}, 2))
    .receive([](const generation_result& got) { EXPECT_EQ(got.id, "4"); },
             [&](const caf::error& err) { ADD_FAILURE() << sys.render(err); });
}

TEST_F(inference_worker_test, an_adapter_is_merged_into_the_model_it_serves) {
  auto dir = test::scratch_dir("inference-adapter");
  auto base = load_llama_model(test::tiny_checkpoints() / "gqa");
  core::lora_spec spec;
  spec.rank = 4;
  spec.target_modules = {"q_proj", "v_proj", "down_proj"};
  lora_adapter adapter(base, spec, 3, "gqa");
  {
    // B drawn at random, as after training: a fresh adapter changes nothing.
    at::NoGradGuard no_grad;
    auto gen = at::make_generator<at::CPUGeneratorImpl>(5);
    for (auto& [name, tensor] : adapter.peft_tensors())
      if (name.find("lora_B") != std::string::npos)
        tensor.copy_(at::empty(tensor.sizes(), at::kFloat).normal_(0, 0.3, gen));
  }
  adapter.save(dir / "adapter");

  auto c = config(1, 4, std::chrono::milliseconds{1});
  c.adapter = dir / "adapter";
  auto worker = start(c);
  auto r = request_of("adapted", {3, 94, 50, 8}, 12);
  auto with_adapter = generate(base, {r}).at(0).tokens;
  auto unadapted = load_llama_model(test::tiny_checkpoints() / "gqa");
  auto plain = generate(unadapted, {r}).at(0).tokens;
  ASSERT_NE(with_adapter, plain) << "the adapter must change the completion to be seen";
  self->request(worker, caf::infinite, atom::generate::value, r)
    .receive([&](const generation_result& got) { EXPECT_EQ(got.tokens, with_adapter); },
             [&](const caf::error& err) { ADD_FAILURE() << sys.render(err); });
}

TEST_F(inference_worker_test, results_and_refusals_cross_a_link_intact) {
  // As expd-trainer publishes it on --inference-listen, reached from another system.
  auto worker = start(config(2, 4, std::chrono::milliseconds{1}));
  auto port = sys.middleman().publish(worker, 0, "127.0.0.1", true);
  ASSERT_TRUE(port) << sys.render(port.error());
  caf::actor_system_config client_cfg;
  caf::actor_system client{configured(client_cfg)};
  auto remote = client.middleman().remote_actor<inference_actor>("127.0.0.1", *port);
  ASSERT_TRUE(remote) << client.render(remote.error());
  caf::scoped_actor asker{client};
  auto r = request_of("over the wire", {3, 94, 50, 8}, 7, 0.9, 4);
  r.stop = {{95, 95}};
  auto model = load_llama_model(test::tiny_checkpoints() / "gqa");
  auto expected = generate(model, {r}).at(0);
  asker->request(*remote, caf::infinite, atom::generate::value, r)
    .receive(
      [&](const generation_result& got) {
        EXPECT_EQ(got.id, r.id);
        EXPECT_EQ(got.tokens, expected.tokens);
        EXPECT_EQ(got.finish_reason, expected.reason);
      },
      [&](const caf::error& err) { ADD_FAILURE() << client.render(err); });
  r.max_new_tokens = 0;
  asker->request(*remote, caf::infinite, atom::generate::value, r)
    .receive([](const generation_result&) { ADD_FAILURE() << "ran"; },
             [&](const caf::error& err) {
               EXPECT_EQ(expd_code(err), static_cast<std::uint8_t>(ec::invalid_field));
               EXPECT_EQ(error_field(err), "max_new_tokens");
               EXPECT_EQ(error_message(err), "max_new_tokens must be at least 1");
             });
  asker->send_exit(*remote, caf::exit_reason::user_shutdown);
}

TEST_F(inference_worker_test, a_model_that_does_not_load_is_refused_at_spawn) {
  auto c = config(1, 4, std::chrono::milliseconds{1});
  c.model = test::scratch_dir("inference-no-model");
  EXPECT_THROW(start(c), std::exception);
}
