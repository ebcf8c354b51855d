#pragma once

#include <map>
#include <string>

#include "core/training_job.hpp"

// What a training job's MLflow run holds (spec 8's minimum and what a reader of the run
// needs to find its job again), as plain logic: actors/training/training_tracker logs it.
namespace expd::core {

/// The run's params: learning rate, batch size, epochs or max_steps, the dataset and its
/// version (the dataset_version tag), and the rest of the recipe (LoRA, schedule, ranks,
/// sequence length, seed, base model). Values as MLflow stores them: strings.
std::map<std::string, std::string> training_run_params(const training_job& job);

/// The run's tags: the job's mlflow.tags (policy_id, dataset_version, task), the job's
/// id (`expd.job_id`, how a retry finds the run again) and name.
std::map<std::string, std::string> training_run_tags(const training_job& job, const std::string& job_id);

/// The registered version's tags: the job's mlflow.tags, the job id and the base model.
std::map<std::string, std::string> model_version_tags(const training_job& job, const std::string& job_id);

} // namespace expd::core
