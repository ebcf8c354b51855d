#include "gpu/inference_worker.hpp"

#include <chrono>
#include <optional>
#include <unordered_map>
#include <vector>

#include <ATen/Parallel.h>
#include <caf/blocking_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "gpu/generation.hpp"
#include "gpu/lora.hpp"
#include "runtime/log.hpp"

namespace expd::gpu {

namespace {

using clock = core::batch_queue::clock;
using runtime::log;
using runtime::log_level;

struct waiting_request {
  core::generation_request request;
  caf::typed_response_promise<generation_result> promise;
  clock::time_point arrived;
};

struct worker_state {
  llama_model model{nullptr};
  core::generation_limits limits;
  core::batch_queue queue{core::batch_policy{}};
  int threads = 0;
  std::uint64_t next_ticket = 1;
  std::unordered_map<std::uint64_t, waiting_request> waiting;
  std::vector<waiting_request> running; ///< the batch on its thread, in its row order
  bool timer_armed = false;
  std::uint64_t accepted = 0, refused_invalid = 0, refused_over_limit = 0, refused_full = 0;
  std::uint64_t batches = 0, batch_rows = 0, failed_batches = 0, generated = 0;
  double compute_seconds = 0;
};

using worker_actor = inference_actor::stateful_pointer<worker_state>;

llama_model load(const inference_worker_config& cfg) {
  auto model = load_llama_model(cfg.model, cfg.placement);
  if (!cfg.adapter.empty()) {
    // Merged, then taken off: its change stays in the weights and costs nothing per token.
    lora_adapter adapter(model, read_adapter_config(cfg.adapter), 0, cfg.model.string());
    adapter.load(cfg.adapter);
    adapter.merge();
  }
  model->eval();
  return model;
}

// One batch on a thread of its own (a blocking actor is detached): generation blocks it
// for as long as it takes. It answers the one request it gets and ends.
void run_batch(caf::blocking_actor* self, llama_model model, int threads) {
  self->receive([&](atom::generate, const std::vector<core::generation_request>& requests)
                  -> caf::result<std::vector<generation_result>> {
    if (threads > 0)
      at::set_num_threads(threads);
    auto start = clock::now();
    std::vector<generated_sequence> generated;
    try {
      generated = generate(model, requests);
    } catch (const std::exception& e) {
      return make_error(ec::unavailable, "", std::string{"the batch failed: "} + e.what());
    }
    auto compute_us
      = std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - start).count();
    std::vector<generation_result> results(requests.size());
    for (std::size_t i = 0; i < requests.size(); ++i) {
      auto& r = results[i];
      r.tokens = std::move(generated[i].tokens);
      r.finish_reason = generated[i].reason;
      r.stop_index = generated[i].stop_index;
      r.prompt_tokens = static_cast<std::uint32_t>(requests[i].prompt.size());
      r.generated_tokens = generated[i].generated;
      r.compute_us = compute_us;
    }
    return results;
  });
}

void schedule(worker_actor self);

void start_batch(worker_actor self) {
  auto& st = self->state;
  auto start = clock::now();
  std::vector<core::generation_request> requests;
  for (auto ticket : st.queue.take()) {
    auto it = st.waiting.find(ticket);
    requests.push_back(it->second.request);
    st.running.push_back(std::move(it->second));
    st.waiting.erase(it);
  }
  auto batch = self->spawn(run_batch, st.model, st.threads);
  auto done = [self] {
    self->state.running.clear();
    schedule(self);
  };
  self->request(batch, caf::infinite, atom::generate::value, std::move(requests))
    .then(
      [self, start, done](std::vector<generation_result>& results) {
        auto& st = self->state;
        ++st.batches;
        st.batch_rows += results.size();
        if (!results.empty())
          st.compute_seconds += static_cast<double>(results.front().compute_us) / 1e6;
        for (std::size_t i = 0; i < results.size(); ++i) {
          auto& r = results[i];
          auto& w = st.running[i];
          r.id = w.request.id;
          r.batch_size = static_cast<std::uint32_t>(results.size());
          r.queue_us = std::chrono::duration_cast<std::chrono::microseconds>(start - w.arrived).count();
          st.generated += r.generated_tokens;
          w.promise.deliver(std::move(r));
        }
        done();
      },
      [self, done](caf::error& err) {
        auto& st = self->state;
        ++st.failed_batches;
        log(log_level::error, "inference_batch_failed",
            {{"rows", st.running.size()}, {"error", self->system().render(err)}});
        for (auto& w : st.running)
          w.promise.deliver(err);
        done();
      });
}

// Starts the next batch when one is due and none runs; else wakes up when it will be.
// A timer armed earlier always fires at or before the next due time (the oldest request
// only gets younger), so one armed timer at a time is enough.
void schedule(worker_actor self) {
  auto& st = self->state;
  if (!st.running.empty())
    return;
  auto due = st.queue.due();
  if (!due)
    return;
  auto now = clock::now();
  if (*due <= now) {
    start_batch(self);
  } else if (!st.timer_armed) {
    st.timer_armed = true;
    self->delayed_send(self, *due - now, atom::tick::value);
  }
}

caf::error refusal_error(const core::generation_refusal& r) {
  return make_error(r.why == core::generation_refusal::kind::invalid ? ec::invalid_field
                                                                     : ec::over_limit,
                    r.field, r.message);
}

} // namespace

inference_actor spawn_inference_worker(caf::actor_system& sys, inference_worker_config cfg) {
  auto model = load(cfg);
  auto& c = model->config();
  auto limits = core::fit_to_model(cfg.limits, c.max_position_embeddings, c.sliding_window, c.vocab_size);
  log(log_level::info, "inference_worker_started",
      {{"model", cfg.model.string()}, {"adapter", cfg.adapter.string()},
       {"max_sequence", limits.max_sequence}, {"max_batch", cfg.batching.max_batch},
       {"max_queue", cfg.batching.max_queue}, {"max_wait_us", cfg.batching.max_wait.count()}});
  return sys.spawn([model, limits, cfg](worker_actor self) -> inference_actor::behavior_type {
    auto& st = self->state;
    st.model = model;
    st.limits = limits;
    st.queue = core::batch_queue{cfg.batching};
    st.threads = cfg.threads;
    return {
      [=](atom::generate, core::generation_request& request)
        -> caf::result<generation_result> {
        auto& st = self->state;
        if (auto refusal = core::check_generation_request(request, st.limits)) {
          ++(refusal->why == core::generation_refusal::kind::invalid ? st.refused_invalid
                                                                     : st.refused_over_limit);
          return refusal_error(*refusal);
        }
        auto ticket = st.next_ticket++;
        auto tokens = static_cast<std::uint32_t>(request.prompt.size() + request.max_new_tokens);
        auto now = clock::now();
        if (!st.queue.push(ticket, tokens, now)) {
          ++st.refused_full;
          return make_error(ec::overloaded, "request",
                            std::to_string(st.queue.size())
                              + " requests wait already, as many as this inference worker queues; retry");
        }
        ++st.accepted;
        auto promise = self->make_response_promise<generation_result>();
        st.waiting.emplace(ticket, waiting_request{std::move(request), promise, now});
        schedule(self);
        return promise;
      },
      [=](atom::tick) {
        self->state.timer_armed = false;
        schedule(self);
      },
      [=](atom::status) -> status_record {
        auto& st = self->state;
        auto n = [](auto x) { return static_cast<double>(x); };
        auto mean = st.batches ? n(st.batch_rows) / n(st.batches) : 0.0;
        auto rate = st.compute_seconds > 0 ? n(st.generated) / st.compute_seconds : 0.0;
        const char* refused = "Requests refused: a bad value, over a cap, or the queue full.";
        return {"inference_worker",
                {{"expd_inference_queue_depth", "gauge", "Requests waiting for a batch.", "", n(st.queue.size())},
                 {"expd_inference_running", "gauge", "Rows of the batch running.", "", n(st.running.size())},
                 {"expd_inference_requests_total", "counter", "Requests queued.", "", n(st.accepted)},
                 {"expd_inference_refused_total", "counter", refused, "reason=\"invalid\"", n(st.refused_invalid)},
                 {"expd_inference_refused_total", "counter", refused, "reason=\"over_limit\"", n(st.refused_over_limit)},
                 {"expd_inference_refused_total", "counter", refused, "reason=\"overloaded\"", n(st.refused_full)},
                 {"expd_inference_batches_total", "counter", "Batches run to the end.", "", n(st.batches)},
                 {"expd_inference_batch_rows_total", "counter", "Rows of the batches run to the end.", "", n(st.batch_rows)},
                 {"expd_inference_batch_size_mean", "gauge", "Rows per batch run so far.", "", mean},
                 {"expd_inference_failed_batches_total", "counter", "Batches that failed.", "", n(st.failed_batches)},
                 {"expd_inference_generated_tokens_total", "counter", "Tokens generated.", "", n(st.generated)},
                 {"expd_inference_tokens_per_second", "gauge",
                  "Tokens generated per second of batch computation so far.", "", rate}}};
      },
    };
  });
}

} // namespace expd::gpu
