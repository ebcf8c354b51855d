#include "core/training_job.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/field_error.hpp"
#include "core/json_fields.hpp"

namespace expd::core {

namespace {

using nlohmann::json;

// Caps keep one job from asking a worker for what no machine holds; docs/gpu.md.
constexpr std::uint64_t max_batch = 4096;
constexpr std::uint64_t max_sequence = 131072;
constexpr std::uint64_t max_ranks = 1024;
constexpr std::uint64_t max_rank = 4096;
constexpr std::size_t max_path = 4096;

std::uint64_t whole(const json& obj, const std::string& path, const char* key,
                    std::uint64_t fallback, std::uint64_t min, std::uint64_t max) {
  auto* v = optional_member(obj, key);
  auto field = member_path(path, key);
  if (!v)
    return fallback;
  if (!v->is_number_integer())
    throw field_error(field, field + " must be a whole number");
  // Parsed JSON holds a non-negative integer as unsigned, one built in C++ may not.
  if (!v->is_number_unsigned() && v->get<std::int64_t>() < 0)
    throw field_error(field, field + " must be at least " + std::to_string(min));
  auto n = v->get<std::uint64_t>();
  if (n < min || n > max)
    throw field_error(field, field + " must be from " + std::to_string(min) + " to "
                               + std::to_string(max) + ", not " + std::to_string(n));
  return n;
}

// `lo` and `hi` are inclusive unless the flags say open.
double real(const json& obj, const std::string& path, const char* key, double fallback, double lo,
            double hi, bool lo_open = false, bool hi_open = false) {
  auto* v = optional_member(obj, key);
  auto field = member_path(path, key);
  if (!v)
    return fallback;
  if (!v->is_number())
    throw field_error(field, field + " must be a number");
  auto x = v->get<double>();
  bool below = lo_open ? !(x > lo) : !(x >= lo);
  bool above = hi_open ? !(x < hi) : !(x <= hi);
  if (below || above)
    throw field_error(field, field + " must be in " + std::string{lo_open ? "(" : "["}
                               + number_json(lo).dump() + ", " + number_json(hi).dump()
                               + (hi_open ? ")" : "]") + ", not " + v->dump());
  return x;
}

std::string path_member(const json& obj, const char* key, bool required) {
  auto field = std::string{key};
  if (required && !optional_member(obj, key))
    throw field_error(field, field + " is required");
  auto s = optional_string(obj, "", key, max_path);
  if (required && s->empty())
    throw field_error(field, field + " must not be empty");
  return s.value_or("");
}

template <class Enum>
Enum choice(const json& obj, const std::string& path, const char* key, Enum fallback,
            std::initializer_list<std::pair<const char*, Enum>> options) {
  auto field = member_path(path, key);
  auto s = optional_string(obj, path, key, 32);
  if (!s)
    return fallback;
  std::string names;
  for (auto& [name, value] : options) {
    if (*s == name)
      return value;
    names += (names.empty() ? "" : ", ") + std::string{name};
  }
  throw field_error(field, field + " must be one of " + names + ", not \"" + *s + "\"");
}

const json& object_member(const json& obj, const char* key, const json& empty) {
  auto* v = optional_member(obj, key);
  if (!v)
    return empty;
  if (!v->is_object())
    throw field_error(key, std::string{key} + " must be an object");
  return *v;
}

// MLflow's limits: experiment and registered model names up to 256 characters, tag keys
// 250 and values 8000 (5000 for a model version's; the tighter one applies).
tracking_spec parse_tracking(const json& obj) {
  require_known_fields(obj, "mlflow", {"experiment", "register_model", "tags"});
  tracking_spec out;
  if (auto experiment = optional_string(obj, "mlflow", "experiment", 256)) {
    if (experiment->empty())
      throw field_error("mlflow.experiment", "mlflow.experiment must not be empty");
    out.experiment = *experiment;
  }
  // null is how training_job_json writes "none".
  if (auto* model = optional_member(obj, "register_model"); model && !model->is_null())
    out.register_model = identifier(obj, "mlflow", "register_model", 256);
  if (auto* tags = optional_member(obj, "tags")) {
    if (!tags->is_object())
      throw field_error("mlflow.tags", "mlflow.tags must be an object of strings");
    if (tags->size() > 64)
      throw field_error("mlflow.tags", "mlflow.tags holds at most 64 tags");
    for (auto& [key, value] : tags->items()) {
      auto field = "mlflow.tags." + key;
      if (key.empty() || key.size() > 250)
        throw field_error(field, "a tag name is 1-250 characters");
      if (!value.is_string() || value.get<std::string>().size() > 5000)
        throw field_error(field, field + " must be a string of at most 5000 characters");
      out.tags[key] = value.get<std::string>();
    }
  }
  return out;
}

lora_spec parse_lora(const json& obj) {
  require_known_fields(obj, "lora", {"rank", "alpha", "dropout", "target_modules"});
  lora_spec out;
  out.rank = static_cast<std::uint32_t>(whole(obj, "lora", "rank", out.rank, 1, max_rank));
  out.alpha = real(obj, "lora", "alpha", out.alpha, 0, 1e6, true);
  out.dropout = real(obj, "lora", "dropout", out.dropout, 0, 1, false, true);
  if (auto* list = optional_member(obj, "target_modules")) {
    if (!list->is_array() || list->empty())
      throw field_error("lora.target_modules", "lora.target_modules must be a non-empty list");
    out.target_modules.clear();
    for (std::size_t i = 0; i < list->size(); ++i) {
      auto field = "lora.target_modules[" + std::to_string(i) + "]";
      auto& item = (*list)[i];
      auto& known = lora_target_names();
      if (!item.is_string()
          || std::find(known.begin(), known.end(), item.get<std::string>()) == known.end()) {
        std::string names;
        for (auto& n : known)
          names += (names.empty() ? "" : ", ") + n;
        throw field_error(field, field + " must be one of " + names + ", not " + item.dump());
      }
      if (std::find(out.target_modules.begin(), out.target_modules.end(), item.get<std::string>())
          != out.target_modules.end())
        throw field_error(field, field + " names " + item.get<std::string>() + " twice");
      out.target_modules.push_back(item.get<std::string>());
    }
  }
  return out;
}

optimizer_spec parse_optimizer(const json& obj) {
  require_known_fields(obj, "optimizer",
                       {"name", "learning_rate", "betas", "eps", "weight_decay", "warmup_steps",
                        "schedule", "min_lr_ratio", "max_grad_norm"});
  optimizer_spec out;
  if (auto name = optional_string(obj, "optimizer", "name", 32); name && *name != "adamw")
    throw field_error("optimizer.name", "optimizer.name must be adamw, not \"" + *name + "\"");
  out.learning_rate = real(obj, "optimizer", "learning_rate", out.learning_rate, 0, 10, true);
  if (auto* betas = optional_member(obj, "betas")) {
    if (!betas->is_array() || betas->size() != 2 || !(*betas)[0].is_number()
        || !(*betas)[1].is_number())
      throw field_error("optimizer.betas", "optimizer.betas must be two numbers");
    for (int i = 0; i < 2; ++i) {
      auto b = (*betas)[i].get<double>();
      if (!(b >= 0 && b < 1))
        throw field_error("optimizer.betas[" + std::to_string(i) + "]",
                          "optimizer.betas[" + std::to_string(i) + "] must be in [0, 1)");
    }
    out.beta1 = (*betas)[0].get<double>();
    out.beta2 = (*betas)[1].get<double>();
  }
  out.eps = real(obj, "optimizer", "eps", out.eps, 0, 1, true);
  out.weight_decay = real(obj, "optimizer", "weight_decay", out.weight_decay, 0, 10);
  out.warmup_steps = whole(obj, "optimizer", "warmup_steps", out.warmup_steps, 0,
                           std::numeric_limits<std::uint32_t>::max());
  out.schedule = choice(obj, "optimizer", "schedule", out.schedule,
                        {{"constant", lr_schedule::constant},
                         {"linear", lr_schedule::linear},
                         {"cosine", lr_schedule::cosine}});
  out.min_lr_ratio = real(obj, "optimizer", "min_lr_ratio", out.min_lr_ratio, 0, 1);
  out.max_grad_norm = real(obj, "optimizer", "max_grad_norm", out.max_grad_norm, 0, 1e9);
  return out;
}

const char* schedule_name(lr_schedule s) {
  switch (s) {
    case lr_schedule::constant:
      return "constant";
    case lr_schedule::linear:
      return "linear";
    case lr_schedule::cosine:
      break;
  }
  return "cosine";
}

} // namespace

const std::vector<std::string>& lora_target_names() {
  static const std::vector<std::string> names{"q_proj",    "k_proj",  "v_proj",   "o_proj",
                                              "gate_proj", "up_proj", "down_proj"};
  return names;
}

training_job parse_training_job(const json& doc) {
  if (!doc.is_object())
    throw field_error("", "a training job is a JSON object");
  require_known_fields(doc, "",
                       {"name", "dataset", "base_model", "output", "lora", "optimizer",
                        "batch_size", "gradient_accumulation", "epochs", "max_steps",
                        "sequence_length", "precision", "device", "ranks", "seed",
                        "max_failures", "checkpoint_every_steps", "eval_every_steps", "mlflow"});
  training_job job;
  job.name = identifier(doc, "", "name", 128);
  job.dataset = path_member(doc, "dataset", true);
  job.base_model = path_member(doc, "base_model", true);
  job.output = path_member(doc, "output", false);
  static const json empty = json::object();
  job.lora = parse_lora(object_member(doc, "lora", empty));
  job.optimizer = parse_optimizer(object_member(doc, "optimizer", empty));
  job.batch_size = static_cast<std::uint32_t>(whole(doc, "", "batch_size", job.batch_size, 1, max_batch));
  job.gradient_accumulation = static_cast<std::uint32_t>(
    whole(doc, "", "gradient_accumulation", job.gradient_accumulation, 1, 65536));
  bool has_epochs = optional_member(doc, "epochs") != nullptr;
  bool has_steps = optional_member(doc, "max_steps") != nullptr;
  if (has_epochs == has_steps)
    throw field_error(has_epochs ? "max_steps" : "epochs",
                      "give exactly one of epochs and max_steps");
  if (has_epochs)
    job.epochs = static_cast<std::uint32_t>(whole(doc, "", "epochs", 1, 1, 10000));
  else
    job.max_steps = whole(doc, "", "max_steps", 1, 1, std::numeric_limits<std::uint32_t>::max());
  job.sequence_length = static_cast<std::uint32_t>(
    whole(doc, "", "sequence_length", job.sequence_length, 8, max_sequence));
  job.dtype = choice(doc, "", "precision", job.dtype, {{"fp32", precision::fp32}, {"bf16", precision::bf16}});
  job.device = choice(doc, "", "device", job.device, {{"cpu", device_kind::cpu}, {"cuda", device_kind::cuda}});
  if (job.dtype == precision::bf16 && job.device == device_kind::cpu)
    throw field_error("precision", "precision bf16 needs device cuda; CPU training runs in fp32");
  job.ranks = static_cast<std::uint32_t>(whole(doc, "", "ranks", job.ranks, 1, max_ranks));
  job.seed = whole(doc, "", "seed", job.seed, 0, std::numeric_limits<std::uint64_t>::max());
  job.max_failures = static_cast<std::uint32_t>(whole(doc, "", "max_failures", job.max_failures, 0, 1000));
  job.checkpoint_every_steps = whole(doc, "", "checkpoint_every_steps", job.checkpoint_every_steps, 1,
                                     std::numeric_limits<std::uint32_t>::max());
  job.eval_every_steps = whole(doc, "", "eval_every_steps", job.eval_every_steps, 1,
                               std::numeric_limits<std::uint32_t>::max());
  job.mlflow = parse_tracking(object_member(doc, "mlflow", empty));
  if (job.optimizer.warmup_steps > 0 && job.max_steps && job.optimizer.warmup_steps >= *job.max_steps)
    throw field_error("optimizer.warmup_steps", "optimizer.warmup_steps must be below max_steps");
  return job;
}

json training_job_json(const training_job& job) {
  json out{{"name", job.name},
           {"dataset", job.dataset},
           {"base_model", job.base_model},
           {"output", job.output},
           {"lora",
            {{"rank", job.lora.rank},
             {"alpha", job.lora.alpha},
             {"dropout", job.lora.dropout},
             {"target_modules", job.lora.target_modules}}},
           {"optimizer",
            {{"name", "adamw"},
             {"learning_rate", job.optimizer.learning_rate},
             {"betas", {job.optimizer.beta1, job.optimizer.beta2}},
             {"eps", job.optimizer.eps},
             {"weight_decay", job.optimizer.weight_decay},
             {"warmup_steps", job.optimizer.warmup_steps},
             {"schedule", schedule_name(job.optimizer.schedule)},
             {"min_lr_ratio", job.optimizer.min_lr_ratio},
             {"max_grad_norm", job.optimizer.max_grad_norm}}},
           {"batch_size", job.batch_size},
           {"gradient_accumulation", job.gradient_accumulation},
           {"sequence_length", job.sequence_length},
           {"precision", job.dtype == precision::bf16 ? "bf16" : "fp32"},
           {"device", job.device == device_kind::cuda ? "cuda" : "cpu"},
           {"ranks", job.ranks},
           {"seed", job.seed},
           {"max_failures", job.max_failures},
           {"checkpoint_every_steps", job.checkpoint_every_steps},
           {"eval_every_steps", job.eval_every_steps},
           {"mlflow",
            {{"experiment", job.mlflow.experiment},
             {"register_model", job.mlflow.register_model.empty() ? json(nullptr)
                                                                  : json(job.mlflow.register_model)},
             {"tags", job.mlflow.tags}}}};
  if (job.epochs)
    out["epochs"] = *job.epochs;
  else
    out["max_steps"] = *job.max_steps;
  return out;
}

std::uint64_t total_optimizer_steps(const training_job& job, std::uint64_t rows) {
  if (job.max_steps)
    return *job.max_steps;
  std::uint64_t per_step = std::uint64_t{job.batch_size} * job.ranks * job.gradient_accumulation;
  return (rows + per_step - 1) / per_step * *job.epochs;
}

double learning_rate_at(const optimizer_spec& opt, std::uint64_t step, std::uint64_t total) {
  auto peak = opt.learning_rate;
  if (step < opt.warmup_steps)
    return peak * static_cast<double>(step) / static_cast<double>(opt.warmup_steps);
  if (opt.schedule == lr_schedule::constant || total <= opt.warmup_steps)
    return peak;
  auto progress = std::min(1.0, static_cast<double>(step - opt.warmup_steps)
                                  / static_cast<double>(total - opt.warmup_steps));
  auto floor = opt.min_lr_ratio * peak;
  if (opt.schedule == lr_schedule::linear)
    return floor + (peak - floor) * (1 - progress);
  return floor + (peak - floor) * 0.5 * (1 + std::cos(M_PI * progress));
}

} // namespace expd::core
