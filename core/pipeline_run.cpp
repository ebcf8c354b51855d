#include "core/pipeline_run.hpp"

#include <array>
#include <stdexcept>

namespace expd::core {

namespace {

using nlohmann::json;

template <class Enum, std::size_t N>
Enum parse_name(const std::array<const char*, N>& names, std::string_view s, const char* what) {
  for (std::size_t i = 0; i < N; ++i)
    if (s == names[i])
      return static_cast<Enum>(i);
  throw std::invalid_argument("\"" + std::string{s} + "\" is not a " + what);
}

constexpr std::array<const char*, 4> run_status_names{"queued", "running", "succeeded", "failed"};
constexpr std::array<const char*, 4> step_status_names{"pending", "running", "succeeded", "failed"};
constexpr std::array<const char*, 3> trigger_names{"schedule", "manual", "catch_up"};

json time_json(unix_micros t) {
  return t == 0 ? json(nullptr) : json(format_rfc3339(t));
}

unix_micros time_of(const json& v) {
  if (v.is_null())
    return 0;
  auto t = parse_rfc3339(v.get<std::string>());
  if (!t)
    throw std::invalid_argument("a step's time is not RFC 3339: " + v.dump());
  return *t;
}

} // namespace

std::string_view to_string(run_status s) noexcept {
  return run_status_names[static_cast<std::size_t>(s)];
}

std::string_view to_string(step_status s) noexcept {
  return step_status_names[static_cast<std::size_t>(s)];
}

std::string_view to_string(run_trigger t) noexcept {
  return trigger_names[static_cast<std::size_t>(t)];
}

run_status parse_run_status(std::string_view s) {
  return parse_name<run_status>(run_status_names, s, "run status");
}

step_status parse_step_status(std::string_view s) {
  return parse_name<step_status>(step_status_names, s, "step status");
}

run_trigger parse_run_trigger(std::string_view s) {
  return parse_name<run_trigger>(trigger_names, s, "run trigger");
}

pipeline_run new_run(const pipeline_spec& spec, std::string id, unix_micros scheduled_for, run_trigger trigger,
                     std::string node) {
  pipeline_run run;
  run.id = std::move(id);
  run.spec = spec;
  run.scheduled_for = scheduled_for;
  run.trigger = trigger;
  run.node = std::move(node);
  for (auto& s : spec.steps) {
    run_step step;
    step.name = s.name;
    step.kind = s.kind;
    run.steps.push_back(std::move(step));
  }
  return run;
}

std::optional<due_run> find_due_run(const cron_schedule& schedule, unix_micros schedule_since,
                                    std::optional<unix_micros> last_scheduled, unix_micros now,
                                    unix_micros scheduler_started) {
  auto slot = last_fire_at_or_before(schedule, now);
  if (!slot || *slot < schedule_since || (last_scheduled && *slot <= *last_scheduled))
    return std::nullopt;
  return due_run{*slot, *slot < scheduler_started ? run_trigger::catch_up : run_trigger::schedule};
}

run_move next_move(const pipeline_run& run) {
  if (run.steps.size() != run.spec.steps.size())
    return {run_move_kind::fail, 0, {}, "the run's steps do not match its pipeline's"};
  for (std::size_t i = 0; i < run.steps.size(); ++i) {
    auto& step = run.steps[i];
    if (step.name != run.spec.steps[i].name || step.kind != run.spec.steps[i].kind)
      return {run_move_kind::fail, i, {}, "step " + std::to_string(i) + " of the run is not its pipeline's"};
    switch (step.status) {
      case step_status::succeeded:
        continue;
      case step_status::failed:
        return {run_move_kind::fail, i, {}, "step " + step.name + " failed: " + step.error};
      case step_status::running:
        if (step.kind == pipeline_step_kind::train && step.outputs.contains("job_id"))
          return {run_move_kind::follow_job, i, step.outputs["job_id"].get<std::string>(), {}};
        return {run_move_kind::start_step, i, {}, {}};
      case step_status::pending:
        return {run_move_kind::start_step, i, {}, {}};
    }
  }
  return {run_move_kind::succeed, run.steps.size(), {}, {}};
}

const json& step_inputs(const pipeline_run& run, std::size_t step) {
  static const json none = json::object();
  auto& spec = run.spec.steps.at(step);
  if (spec.kind != pipeline_step_kind::train || spec.train.from_step.empty())
    return none;
  for (auto& s : run.steps)
    if (s.name == spec.train.from_step)
      return s.outputs;
  return none;
}

json run_steps_json(const std::vector<run_step>& steps) {
  json out = json::array();
  for (auto& s : steps)
    out.push_back({{"name", s.name},
                   {"kind", to_string(s.kind)},
                   {"status", to_string(s.status)},
                   {"outputs", s.outputs},
                   {"error", s.error},
                   {"started_at", time_json(s.started_at)},
                   {"finished_at", time_json(s.finished_at)}});
  return out;
}

std::vector<run_step> parse_run_steps(const json& steps) {
  std::vector<run_step> out;
  for (auto& s : steps) {
    run_step step;
    step.name = s.at("name").get<std::string>();
    auto kind = s.at("kind").get<std::string>();
    auto known = parse_step_kind(kind);
    if (!known)
      throw std::invalid_argument("\"" + kind + "\" is not a step kind");
    step.kind = *known;
    step.status = parse_step_status(s.at("status").get<std::string>());
    step.outputs = s.at("outputs");
    step.error = s.at("error").get<std::string>();
    step.started_at = time_of(s.at("started_at"));
    step.finished_at = time_of(s.at("finished_at"));
    out.push_back(std::move(step));
  }
  return out;
}

json run_outputs_json(const pipeline_run& run) {
  json out = json::object();
  for (auto& s : run.steps)
    if (!s.outputs.empty())
      out[s.name] = s.outputs;
  return out;
}

json pipeline_run_json(const pipeline_run& run) {
  return {{"id", run.id},
          {"pipeline", run.spec.name},
          {"scheduled_for", format_rfc3339(run.scheduled_for)},
          {"trigger", to_string(run.trigger)},
          {"status", to_string(run.status)},
          {"node", run.node},
          {"started_at", time_json(run.started_at)},
          {"finished_at", time_json(run.finished_at)},
          {"inputs", {{"pipeline", pipeline_spec_json(run.spec)}, {"scheduled_for", format_rfc3339(run.scheduled_for)}}},
          {"outputs", run_outputs_json(run)},
          {"steps", run_steps_json(run.steps)},
          {"error", run.error}};
}

} // namespace expd::core
