#include "core/training_tracking.hpp"

#include <nlohmann/json.hpp>

namespace expd::core {

namespace {

// A number as JSON writes it (shortest round trip), as a Python reader would print it.
std::string number(double x) {
  return nlohmann::json(x).dump();
}

} // namespace

std::map<std::string, std::string> training_run_params(const training_job& job) {
  std::map<std::string, std::string> p{
    {"learning_rate", number(job.optimizer.learning_rate)},
    {"batch_size", std::to_string(job.batch_size)},
    {"gradient_accumulation", std::to_string(job.gradient_accumulation)},
    {"sequence_length", std::to_string(job.sequence_length)},
    {"ranks", std::to_string(job.ranks)},
    {"seed", std::to_string(job.seed)},
    {"dataset", job.dataset},
    {"base_model", job.base_model},
    {"lora_rank", std::to_string(job.lora.rank)},
    {"lora_alpha", number(job.lora.alpha)},
    {"lora_dropout", number(job.lora.dropout)},
    {"weight_decay", number(job.optimizer.weight_decay)},
    {"warmup_steps", std::to_string(job.optimizer.warmup_steps)},
    {"max_grad_norm", number(job.optimizer.max_grad_norm)},
  };
  std::string targets;
  for (auto& t : job.lora.target_modules)
    targets += (targets.empty() ? "" : ",") + t;
  p["lora_target_modules"] = targets;
  if (job.epochs)
    p["epochs"] = std::to_string(*job.epochs);
  else
    p["max_steps"] = std::to_string(*job.max_steps);
  if (auto v = job.mlflow.tags.find("dataset_version"); v != job.mlflow.tags.end())
    p["dataset_version"] = v->second;
  return p;
}

std::map<std::string, std::string> training_run_tags(const training_job& job, const std::string& job_id) {
  auto tags = job.mlflow.tags;
  tags["expd.job_id"] = job_id;
  tags["expd.job_name"] = job.name;
  tags["mlflow.runName"] = job.name;
  return tags;
}

std::map<std::string, std::string> model_version_tags(const training_job& job, const std::string& job_id) {
  auto tags = job.mlflow.tags;
  tags["expd.job_id"] = job_id;
  tags["base_model"] = job.base_model;
  return tags;
}

} // namespace expd::core
