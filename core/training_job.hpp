#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace expd::core {

/// LoRA on the chosen linear layers of a LLaMA-architecture decoder (PEFT's names).
struct lora_spec {
  std::uint32_t rank = 8;
  double alpha = 16;
  double dropout = 0.05;
  std::vector<std::string> target_modules{"q_proj", "v_proj"};
};

enum class lr_schedule { constant, linear, cosine };

/// AdamW with a linear warm-up, then the schedule down to min_lr_ratio of the peak.
struct optimizer_spec {
  double learning_rate = 2e-4;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  double weight_decay = 0.0;
  std::uint64_t warmup_steps = 0;
  lr_schedule schedule = lr_schedule::cosine;
  double min_lr_ratio = 0.0;
  double max_grad_norm = 1.0; ///< 0: no clipping
};

/// Where a job's run is tracked in MLflow (spec 8): the experiment, the tags its run and
/// registered version carry (policy_id, dataset_version, task), and the registered
/// model a successful run becomes a new version of (none: the run only).
struct tracking_spec {
  std::string experiment = "expd-training";
  std::string register_model;
  std::map<std::string, std::string> tags;
};

enum class precision { fp32, bf16 };
enum class device_kind { cpu, cuda };

/// One fine-tuning job as an ML engineer sends it (`expctl train -f`, POST
/// /admin/v1/training-jobs), checked before any worker sees it: every fault names its
/// field. Paths are as given; whether they hold a dataset and a checkpoint is checked
/// where they are read.
struct training_job {
  std::string name;
  std::string dataset;    ///< a Parquet file or a folder of them
  std::string base_model; ///< a Hugging Face-layout folder
  std::string output;     ///< where checkpoints and the adapter go
  lora_spec lora;
  optimizer_spec optimizer;
  std::uint32_t batch_size = 8;    ///< sequences per rank per micro-step
  std::uint32_t gradient_accumulation = 1;
  std::optional<std::uint32_t> epochs;
  std::optional<std::uint64_t> max_steps; ///< optimizer steps; exactly one of the two
  std::uint32_t sequence_length = 512;
  precision dtype = precision::fp32;
  device_kind device = device_kind::cpu;
  std::uint32_t ranks = 1;
  std::uint64_t seed = 0;
  std::uint32_t max_failures = 3; ///< a rank that dies resumes from its checkpoint this often
  std::uint64_t checkpoint_every_steps = 100;
  std::uint64_t eval_every_steps = 50;
  tracking_spec mlflow;
};

/// The linear layers LoRA may wrap in a LLaMA/Mistral/Qwen2 decoder layer.
const std::vector<std::string>& lora_target_names();

/// Reads and checks a job document; throws core::field_error naming the field.
training_job parse_training_job(const nlohmann::json& doc);

/// The job as JSON, every field given (what status and logs show).
nlohmann::json training_job_json(const training_job& job);

/// Optimizer steps the job makes over `rows` training rows: its max_steps, or each
/// epoch's ceil(rows / (batch_size * ranks * gradient_accumulation)) times epochs.
std::uint64_t total_optimizer_steps(const training_job& job, std::uint64_t rows);

/// The learning rate of optimizer step `step` (0-based) of `total`: linear warm-up
/// from 0 over warmup_steps, then constant, linear or cosine decay to
/// min_lr_ratio * learning_rate at `total`.
double learning_rate_at(const optimizer_spec& opt, std::uint64_t step, std::uint64_t total);

} // namespace expd::core
