#include "gpu/model_host.hpp"

#include <algorithm>
#include <list>
#include <string>

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "gpu/checkpoint_error.hpp"
#include "messages/error.hpp"
#include "runtime/log.hpp"

namespace expd::gpu {

namespace {

using runtime::log;
using runtime::log_level;

struct loaded_model {
  std::string key;
  model_load_request request;
  inference_actor worker;
};

struct model_host_state {
  model_host_config cfg;
  std::list<loaded_model> models; ///< most recently asked for first
  std::uint64_t loads = 0;
  std::uint64_t load_failures = 0;
  std::uint64_t evictions = 0;
};

using self_ptr = model_host_actor::stateful_pointer<model_host_state>;

caf::result<inference_actor> load(self_ptr self, const model_load_request& request) {
  auto& st = self->state;
  auto it = std::find_if(st.models.begin(), st.models.end(), [&](auto& m) { return m.key == request.key; });
  // The same key with other files (the node fetched the version again elsewhere) loads
  // afresh, so a worker never serves files it was not asked for.
  if (it != st.models.end() && it->request.model == request.model && it->request.adapter == request.adapter) {
    st.models.splice(st.models.begin(), st.models, it);
    return st.models.front().worker;
  }
  if (it != st.models.end()) {
    self->send_exit(it->worker, caf::exit_reason::user_shutdown);
    st.models.erase(it);
  }
  auto cfg = st.cfg.worker;
  cfg.model = request.model;
  cfg.adapter = request.adapter;
  inference_actor worker;
  try {
    worker = spawn_inference_worker(self->system(), cfg);
  } catch (const checkpoint_error& e) {
    ++st.load_failures;
    log(log_level::warn, "model_load_failed", {{"key", request.key}, {"error", e.what()}});
    return make_error(ec::invalid_field, e.file(), e.what());
  } catch (const std::exception& e) {
    ++st.load_failures;
    log(log_level::warn, "model_load_failed", {{"key", request.key}, {"error", e.what()}});
    return make_error(ec::invalid_field, "model", request.key + ": " + e.what());
  }
  ++st.loads;
  self->monitor(worker);
  st.models.push_front({request.key, request, worker});
  while (st.models.size() > st.cfg.max_models) {
    log(log_level::info, "model_unloaded", {{"key", st.models.back().key}});
    self->send_exit(st.models.back().worker, caf::exit_reason::user_shutdown);
    st.models.pop_back();
    ++st.evictions;
  }
  log(log_level::info, "model_loaded", {{"key", request.key}, {"models", st.models.size()}});
  return worker;
}

status_record host_status(self_ptr self) {
  auto& st = self->state;
  auto n = [](auto x) { return static_cast<double>(x); };
  return {"model_host",
          {{"expd_model_host_models", "gauge", "Models the host serves now.", "", n(st.models.size())},
           {"expd_model_host_loads_total", "counter", "Models the host loaded.", "", n(st.loads)},
           {"expd_model_host_load_failures_total", "counter", "Models that could not load.", "", n(st.load_failures)},
           {"expd_model_host_evictions_total", "counter", "Models stopped to make room for another.", "",
            n(st.evictions)}}};
}

} // namespace

model_host_actor spawn_model_host(caf::actor_system& sys, model_host_config cfg) {
  return sys.spawn<caf::detached>([cfg = std::move(cfg)](self_ptr self) -> model_host_actor::behavior_type {
    self->state.cfg = cfg;
    self->state.cfg.max_models = std::max<std::size_t>(1, cfg.max_models);
    // A worker that died is loaded again when next asked for.
    self->set_down_handler([self](const caf::down_msg& msg) {
      self->state.models.remove_if([&](auto& m) { return m.worker.address() == msg.source; });
    });
    return {
      [=](atom::load, const model_load_request& request) -> caf::result<inference_actor> {
        return load(self, request);
      },
      [=](atom::status) -> status_record { return host_status(self); },
    };
  });
}

} // namespace expd::gpu
