#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/apply_plan.hpp"
#include "core/cron_schedule.hpp"
#include "core/dataset_build.hpp"

// Pipelines on a schedule (docs/lifecycle.md, "Pipelines"): what a pipelines document
// says, what applying it changes, and what each step of a run asks for. No I/O.
namespace expd::core {

/// The kinds of step a pipeline may run. A new kind (replay) adds a value here, its
/// member of pipeline_step, its reading in parse_pipeline_document and its running in
/// the scheduler; runs, storage and the API need nothing new.
enum class pipeline_step_kind { dataset, train };

std::string_view to_string(pipeline_step_kind kind) noexcept;
/// The kind named `name`; nullopt for any other name.
std::optional<pipeline_step_kind> parse_step_kind(std::string_view name) noexcept;

/// A dataset build over the window that ends at the run's scheduled time.
struct dataset_step {
  std::string dataset;              ///< one of known_datasets()
  std::int64_t window_seconds = 0;  ///< [scheduled - window, scheduled)
  double validation = 0.1;
};

/// A training job: the body POST /admin/v1/training-jobs takes. With `from_step` its
/// `dataset` is the file that dataset step of the same run built.
struct train_step {
  nlohmann::json job;
  std::string from_step;
};

struct pipeline_step {
  std::string name;
  pipeline_step_kind kind = pipeline_step_kind::dataset;
  dataset_step dataset; ///< kind dataset
  train_step train;     ///< kind train
};

struct pipeline_spec {
  std::string name;
  cron_schedule schedule;
  bool enabled = true;
  std::vector<pipeline_step> steps;
};

/// Limits of one pipelines document.
struct pipeline_document_limits {
  std::size_t max_pipelines = 100;
  std::size_t max_steps = 20;
};

/// A train job's name gets "-" and the run's id (36 characters) appended, so a job
/// stays findable by name after a crash: the name itself may have this many.
constexpr std::size_t max_train_job_name = 128 - 37;

/// Reads `{"pipelines":[...]}` (pipelines.yml as JSON). Names are identifiers; a
/// schedule is parse_cron's; steps run in their order, each named once, each of a
/// known `kind` (`dataset` or `train`); a train job is checked as the training
/// endpoint checks it, and its from_step must name an earlier dataset step. Throws
/// core::field_error with the path ("pipelines[0].steps[1].from_step").
std::vector<pipeline_spec> parse_pipeline_document(const nlohmann::json& doc,
                                                   const pipeline_document_limits& limits = {});

/// The spec as JSON, the shape parse_pipeline_document reads (what is stored).
nlohmann::json pipeline_spec_json(const pipeline_spec& spec);

/// One stored pipeline.
struct stored_pipeline {
  pipeline_spec spec;
  unix_micros schedule_since = 0; ///< when the schedule was last set or enabled: no slot before it is due
  std::string created_at, updated_at;
};

struct planned_pipeline {
  apply_action action = apply_action::unchanged;
  pipeline_spec spec;
};

/// What applying the specs changes against the stored pipelines (compared as JSON);
/// pipelines the document leaves out are kept.
std::vector<planned_pipeline> plan_pipelines(const std::vector<pipeline_spec>& specs,
                                             const std::vector<stored_pipeline>& current);

/// The dataset build a dataset step of a run scheduled for `scheduled` asks for.
dataset_build_request dataset_request_for(const dataset_step& step, unix_micros scheduled);

/// The training job body a train step of run `run_id` submits: its job with the
/// dataset (the local path of what its from_step built, from `dataset_outputs`), the
/// name "<name>-<run_id>", an output folder of its own ("<output>/<run_id>" when one is
/// given) and the tag dataset_version when its tags do not say one. Throws
/// std::invalid_argument when the dataset step's output is not a local file.
nlohmann::json train_job_for(const train_step& step, const std::string& run_id,
                             const nlohmann::json& dataset_outputs);

/// The name train_job_for gives the job (how a resumed run finds it).
std::string train_job_name(const train_step& step, const std::string& run_id);

/// What a dataset step's build answered (its manifest) that later steps read:
/// dataset_version, version, uri, path (a local file; empty for object storage), rows,
/// created.
nlohmann::json dataset_step_outputs(const nlohmann::json& manifest);

} // namespace expd::core
