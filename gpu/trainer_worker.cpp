#include "gpu/trainer_worker.hpp"

#include <atomic>
#include <memory>

#include <caf/blocking_actor.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "runtime/log.hpp"

namespace expd::gpu {

namespace {

using runtime::log;
using runtime::log_level;

struct worker_state {
  training_registry_actor registry;
  training_run_config cfg;
  std::string job; ///< the job running, or empty
  std::shared_ptr<std::atomic<bool>> cancel;
  std::uint64_t runs = 0, succeeded = 0, failed = 0, cancelled = 0;
};

using worker_actor = trainer_worker_actor::stateful_pointer<worker_state>;

const char* result_name(core::rank_result r) {
  switch (r) {
    case core::rank_result::succeeded: return "succeeded";
    case core::rank_result::failed: return "failed";
    case core::rank_result::cancelled: return "cancelled";
  }
  return "unknown";
}

// The run's own thread (a blocking actor is detached): training blocks it for as long
// as it takes, while the worker stays free to hear a cancel.
void run_on_thread(caf::blocking_actor* run, trainer_worker_actor worker, training_assignment work,
                   training_run_config cfg, std::shared_ptr<std::atomic<bool>> cancel) {
  auto outcome = run_training(work, cfg, *cancel, [&](const training_progress& p) {
    run->send(worker, atom::progress::value, p);
  });
  run->send(worker, atom::finished::value, std::move(outcome));
}

} // namespace

trainer_worker_actor spawn_trainer_worker(caf::actor_system& sys, training_registry_actor registry,
                                          training_run_config cfg) {
  return sys.spawn([registry, cfg](worker_actor self) -> trainer_worker_actor::behavior_type {
    self->state.registry = registry;
    self->state.cfg = cfg;
    self->monitor(registry);
    self->set_down_handler([self](const caf::down_msg&) {
      log(log_level::warn, "trainer_registry_gone", {{"job", self->state.job}});
      if (self->state.cancel)
        *self->state.cancel = true;
      self->quit();
    });
    self->send(registry, atom::subscribe::value, trainer_worker_actor{self});
    return {
      [=](atom::train, const std::string& job, const std::string& spec, const std::string& resume,
          std::uint32_t rank, std::uint32_t world, std::uint32_t run) {
        auto& st = self->state;
        if (!st.job.empty()) {
          self->send(st.registry, atom::finished::value,
                     training_outcome{job, core::rank_result::failed,
                                      "this trainer worker is busy with job " + st.job, true});
          return;
        }
        st.job = job;
        st.cancel = std::make_shared<std::atomic<bool>>(false);
        ++st.runs;
        log(log_level::info, "training_run_started",
            {{"job", job}, {"rank", rank}, {"world_size", world}, {"run", run}, {"resume_from", resume}});
        self->spawn(run_on_thread, trainer_worker_actor{self},
                    training_assignment{job, spec, resume, rank, world, run}, st.cfg, st.cancel);
      },
      [=](atom::cancel, const std::string& job) {
        if (self->state.job == job && self->state.cancel)
          *self->state.cancel = true;
      },
      [=](atom::progress, const training_progress& p) {
        self->send(self->state.registry, atom::progress::value, p);
      },
      [=](atom::finished, const training_outcome& o) {
        auto& st = self->state;
        st.job.clear();
        st.cancel.reset();
        ++(o.result == core::rank_result::succeeded ? st.succeeded
           : o.result == core::rank_result::failed  ? st.failed
                                                    : st.cancelled);
        log(o.result == core::rank_result::failed ? log_level::error : log_level::info,
            "training_run_ended",
            {{"job", o.job_id}, {"result", result_name(o.result)}, {"error", o.error},
             {"retriable", o.retriable}});
        self->send(st.registry, atom::finished::value, o);
      },
      [=](atom::status) -> status_record {
        auto& st = self->state;
        auto n = [](auto x) { return static_cast<double>(x); };
        return {"trainer_worker",
                {{"expd_trainer_busy", "gauge", "Whether this worker runs a job.", "", n(!st.job.empty())},
                 {"expd_trainer_runs_total", "counter", "Runs this worker started.", "", n(st.runs)},
                 {"expd_trainer_runs_succeeded_total", "counter", "Runs that succeeded.", "", n(st.succeeded)},
                 {"expd_trainer_runs_failed_total", "counter", "Runs that failed.", "", n(st.failed)},
                 {"expd_trainer_runs_cancelled_total", "counter", "Runs cancelled.", "", n(st.cancelled)}}};
      },
    };
  });
}

} // namespace expd::gpu
