#include "core/pipeline_document.hpp"

#include <algorithm>
#include <stdexcept>

#include "core/json_fields.hpp"
#include "core/training_job.hpp"

namespace expd::core {

namespace {

using nlohmann::json;

// "7d", "24h", "90m", "3600s" or whole seconds, at most a build's longest window.
std::int64_t parse_window(const json& v, const std::string& field) {
  auto refuse = [&] {
    throw field_error(field, field + " must be a duration like 7d, 24h, 90m or seconds, from 1 minute to 92 days");
  };
  std::int64_t seconds = 0;
  if (v.is_number_integer()) {
    seconds = v.get<std::int64_t>();
  } else if (v.is_string()) {
    auto s = v.get<std::string>();
    if (s.size() < 2 || s.size() > 8)
      refuse();
    std::int64_t unit = 1;
    switch (s.back()) {
      case 'd': unit = 86400; break;
      case 'h': unit = 3600; break;
      case 'm': unit = 60; break;
      case 's': unit = 1; break;
      default: refuse();
    }
    std::int64_t n = 0;
    for (std::size_t i = 0; i + 1 < s.size(); ++i) {
      if (s[i] < '0' || s[i] > '9')
        refuse();
      n = n * 10 + (s[i] - '0');
    }
    seconds = n * unit;
  } else {
    refuse();
  }
  if (seconds < 60 || seconds * 1000000 > max_dataset_window)
    refuse();
  return seconds;
}

std::string window_text(std::int64_t seconds) {
  if (seconds % 86400 == 0)
    return std::to_string(seconds / 86400) + "d";
  if (seconds % 3600 == 0)
    return std::to_string(seconds / 3600) + "h";
  if (seconds % 60 == 0)
    return std::to_string(seconds / 60) + "m";
  return std::to_string(seconds) + "s";
}

const std::vector<std::pair<const char*, pipeline_step_kind>> step_kinds{
  {"dataset", pipeline_step_kind::dataset}, {"train", pipeline_step_kind::train}};

pipeline_step parse_step(const json& s, const std::string& path, const std::vector<pipeline_step>& before) {
  if (!s.is_object())
    throw field_error(path, path + " must be an object with a name and a kind");
  pipeline_step step;
  step.name = identifier(s, path, "name", 64);
  for (auto& b : before)
    if (b.name == step.name)
      throw field_error(path + ".name", "duplicate step name \"" + step.name + "\"");
  auto& kind = required_string(s, path, "kind");
  auto found = parse_step_kind(kind);
  if (!found)
    throw field_error(path + ".kind", "unknown step kind \"" + kind + "\" (dataset or train)");
  step.kind = *found;
  if (step.kind == pipeline_step_kind::dataset) {
    require_known_fields(s, path, {"name", "kind", "dataset", "window", "validation"});
    step.dataset.dataset = required_string(s, path, "dataset");
    if (!find_dataset(step.dataset.dataset))
      throw field_error(path + ".dataset", "no dataset is named \"" + step.dataset.dataset + "\" (known: planner)");
    auto* window = optional_member(s, "window");
    if (window == nullptr)
      throw field_error(path + ".window", "window is required: how far back from the run's time it reads, e.g. 7d");
    step.dataset.window_seconds = parse_window(*window, path + ".window");
    if (auto* v = optional_member(s, "validation")) {
      if (!v->is_number() || !(v->get<double>() >= 0 && v->get<double>() < 1))
        throw field_error(path + ".validation", "validation must be a number from 0 up to (not including) 1");
      step.dataset.validation = v->get<double>();
    }
    return step;
  }
  require_known_fields(s, path, {"name", "kind", "job", "from_step"});
  auto* job = optional_member(s, "job");
  if (job == nullptr || !job->is_object())
    throw field_error(path + ".job", "job is required: a training job as POST /admin/v1/training-jobs takes");
  step.train.job = *job;
  if (auto from = optional_string(s, path, "from_step", 64)) {
    step.train.from_step = *from;
    auto source = std::find_if(before.begin(), before.end(), [&](auto& b) { return b.name == *from; });
    if (source == before.end() || source->kind != pipeline_step_kind::dataset)
      throw field_error(path + ".from_step", "from_step must name an earlier dataset step of the pipeline, not \"" +
                                               *from + "\"");
    if (optional_member(*job, "dataset"))
      throw field_error(path + ".job.dataset", "give either job.dataset or from_step, not both");
  }
  // Checked as the training endpoint will check it, with the dataset it will get.
  auto check = *job;
  if (!step.train.from_step.empty())
    check["dataset"] = "from_step";
  try {
    parse_training_job(check);
  } catch (const field_error& e) {
    throw field_error(e.field().empty() ? path + ".job" : member_path(path + ".job", e.field()), e.what());
  }
  if (check.at("name").get<std::string>().size() > max_train_job_name)
    throw field_error(path + ".job.name", "a pipeline's job name has at most " + std::to_string(max_train_job_name) +
                                            " characters (the run's id is added)");
  return step;
}

pipeline_spec parse_pipeline(const json& p, const std::string& path, const pipeline_document_limits& limits) {
  if (!p.is_object())
    throw field_error(path, path + " must be an object with a name, a schedule and steps");
  require_known_fields(p, path, {"name", "schedule", "enabled", "steps"});
  pipeline_spec spec;
  spec.name = identifier(p, path, "name", 128);
  auto& schedule = required_string(p, path, "schedule");
  try {
    spec.schedule = parse_cron(schedule);
  } catch (const std::invalid_argument& e) {
    throw field_error(path + ".schedule", "\"" + schedule + "\": " + e.what());
  }
  if (auto* enabled = optional_member(p, "enabled")) {
    if (!enabled->is_boolean())
      throw field_error(path + ".enabled", "enabled must be true or false");
    spec.enabled = enabled->get<bool>();
  }
  auto* steps = optional_member(p, "steps");
  if (steps == nullptr || !steps->is_array() || steps->empty())
    throw field_error(path + ".steps", "steps must be a list of at least one step");
  if (steps->size() > limits.max_steps)
    throw field_error(path + ".steps", "a pipeline has at most " + std::to_string(limits.max_steps) + " steps");
  for (std::size_t i = 0; i < steps->size(); ++i)
    spec.steps.push_back(parse_step((*steps)[i], path + ".steps[" + std::to_string(i) + "]", spec.steps));
  return spec;
}

} // namespace

std::string_view to_string(pipeline_step_kind kind) noexcept {
  for (auto& [name, k] : step_kinds)
    if (k == kind)
      return name;
  return "dataset";
}

std::optional<pipeline_step_kind> parse_step_kind(std::string_view name) noexcept {
  for (auto& [n, k] : step_kinds)
    if (name == n)
      return k;
  return std::nullopt;
}

std::vector<pipeline_spec> parse_pipeline_document(const json& doc, const pipeline_document_limits& limits) {
  return parse_named_list(doc, "pipelines", limits.max_pipelines, "pipeline",
                          [&](const json& p, const std::string& path) { return parse_pipeline(p, path, limits); });
}

json pipeline_spec_json(const pipeline_spec& spec) {
  json steps = json::array();
  for (auto& s : spec.steps) {
    json step{{"name", s.name}, {"kind", to_string(s.kind)}};
    if (s.kind == pipeline_step_kind::dataset) {
      step["dataset"] = s.dataset.dataset;
      step["window"] = window_text(s.dataset.window_seconds);
      step["validation"] = s.dataset.validation;
    } else {
      step["job"] = s.train.job;
      if (!s.train.from_step.empty())
        step["from_step"] = s.train.from_step;
    }
    steps.push_back(std::move(step));
  }
  return {{"name", spec.name}, {"schedule", spec.schedule.text}, {"enabled", spec.enabled}, {"steps", steps}};
}

std::vector<planned_pipeline> plan_pipelines(const std::vector<pipeline_spec>& specs,
                                             const std::vector<stored_pipeline>& current) {
  std::vector<planned_pipeline> plan;
  for (auto& spec : specs) {
    auto stored = std::find_if(current.begin(), current.end(), [&](auto& c) { return c.spec.name == spec.name; });
    auto action = stored == current.end() ? apply_action::created
                  : pipeline_spec_json(stored->spec) == pipeline_spec_json(spec) ? apply_action::unchanged
                                                                                 : apply_action::updated;
    plan.push_back({action, spec});
  }
  return plan;
}

dataset_build_request dataset_request_for(const dataset_step& step, unix_micros scheduled) {
  return {step.dataset, scheduled - step.window_seconds * 1000000, scheduled, step.validation};
}

std::string train_job_name(const train_step& step, const std::string& run_id) {
  return step.job.at("name").get<std::string>() + "-" + run_id;
}

json train_job_for(const train_step& step, const std::string& run_id, const json& dataset_outputs) {
  auto job = step.job;
  job["name"] = train_job_name(step, run_id);
  if (auto* output = optional_member(job, "output"); output && output->is_string())
    job["output"] = output->get<std::string>() + "/" + run_id;
  if (step.from_step.empty())
    return job;
  auto path = dataset_outputs.value("path", std::string{});
  if (path.empty())
    throw std::invalid_argument("the dataset of step " + step.from_step + " is at " +
                                dataset_outputs.value("uri", std::string{"?"}) +
                                ", not in a local folder, and training reads local files");
  job["dataset"] = path;
  auto& tags = job["mlflow"]["tags"];
  if (!tags.contains("dataset_version"))
    tags["dataset_version"] = dataset_outputs.value("dataset_version", std::string{});
  return job;
}

json dataset_step_outputs(const json& manifest) {
  auto uri = manifest.value("uri", std::string{});
  constexpr std::string_view local = "file://";
  return {{"dataset_version", manifest.value("dataset_version", std::string{})},
          {"version", manifest.value("version", std::string{})},
          {"uri", uri},
          {"path", uri.rfind(local, 0) == 0 ? uri.substr(local.size()) : std::string{}},
          {"rows", manifest.value("rows", 0)},
          {"created", manifest.value("created", false)}};
}

} // namespace expd::core
