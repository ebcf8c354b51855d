#include "core/model_config.hpp"

#include <cmath>

#include "core/field_error.hpp"
#include "core/json_fields.hpp"

namespace expd::core {

namespace {

[[noreturn]] void refuse(const std::string& field, const std::string& why) {
  throw field_error(field, field + " " + why);
}

const nlohmann::json& required(const nlohmann::json& obj, const std::string& path,
                               const char* key) {
  auto* value = optional_member(obj, key);
  if (!value)
    refuse(member_path(path, key), "is required");
  return *value;
}

std::int64_t positive_integer(const nlohmann::json& value, const std::string& field) {
  if (!value.is_number_integer() || value.get<std::int64_t>() <= 0)
    refuse(field, "must be a positive integer, not " + value.dump());
  return value.get<std::int64_t>();
}

std::int64_t required_positive(const nlohmann::json& obj, const std::string& path,
                               const char* key) {
  return positive_integer(required(obj, path, key), member_path(path, key));
}

double positive_number(const nlohmann::json& value, const std::string& field) {
  if (!value.is_number() || !(value.get<double>() > 0.0) || !std::isfinite(value.get<double>()))
    refuse(field, "must be a positive number, not " + value.dump());
  return value.get<double>();
}

bool optional_bool(const nlohmann::json& obj, const char* key, bool fallback) {
  auto* value = optional_member(obj, key);
  if (!value)
    return fallback;
  if (!value->is_boolean())
    refuse(key, "must be true or false, not " + value->dump());
  return value->get<bool>();
}

model_architecture architecture_of(const nlohmann::json& config, std::string& name) {
  struct family {
    const char* class_name;
    const char* model_type;
    model_architecture architecture;
  };
  static const family families[] = {
    {"LlamaForCausalLM", "llama", model_architecture::llama},
    {"MistralForCausalLM", "mistral", model_architecture::mistral},
    {"Qwen2ForCausalLM", "qwen2", model_architecture::qwen2},
  };
  auto& list = required(config, "", "architectures");
  if (!list.is_array() || list.size() != 1 || !list[0].is_string())
    refuse("architectures", "must be a list of one class name, not " + list.dump());
  name = list[0].get<std::string>();
  auto& type = required(config, "", "model_type");
  if (!type.is_string())
    refuse("model_type", "must be a string, not " + type.dump());
  for (auto& f : families)
    if (name == f.class_name) {
      if (type.get<std::string>() != f.model_type)
        refuse("model_type", "is \"" + type.get<std::string>() + "\" but " + name
                               + " has model_type \"" + f.model_type + "\"");
      return f.architecture;
    }
  refuse("architectures[0]", "is \"" + name
                               + "\"; only LlamaForCausalLM, MistralForCausalLM and "
                                 "Qwen2ForCausalLM are implemented");
}

struct rope_scaling parse_rope_scaling(const nlohmann::json& config) {
  struct rope_scaling out;
  auto* scaling = optional_member(config, "rope_scaling");
  if (!scaling)
    return out;
  if (!scaling->is_object())
    refuse("rope_scaling", "must be an object or null, not " + scaling->dump());
  // Newer configs say rope_type, older ones type.
  const char* key = scaling->contains("rope_type") ? "rope_type" : "type";
  auto& type = required(*scaling, "rope_scaling", key);
  auto field = member_path("rope_scaling", key);
  if (!type.is_string())
    refuse(field, "must be a string, not " + type.dump());
  auto name = type.get<std::string>();
  if (name == "default")
    return out;
  if (name != "linear" && name != "llama3")
    refuse(field, "is \"" + name + "\"; only \"default\", \"linear\" and \"llama3\" are "
                                    "implemented");
  out.factor = positive_number(required(*scaling, "rope_scaling", "factor"),
                               "rope_scaling.factor");
  if (name == "linear") {
    out.type = rope_scaling::kind::linear;
    return out;
  }
  out.type = rope_scaling::kind::llama3;
  out.low_freq_factor = positive_number(required(*scaling, "rope_scaling", "low_freq_factor"),
                                        "rope_scaling.low_freq_factor");
  out.high_freq_factor = positive_number(required(*scaling, "rope_scaling", "high_freq_factor"),
                                         "rope_scaling.high_freq_factor");
  if (!(out.high_freq_factor > out.low_freq_factor))
    refuse("rope_scaling.high_freq_factor", "must be above low_freq_factor");
  out.original_max_position_embeddings
    = required_positive(*scaling, "rope_scaling", "original_max_position_embeddings");
  return out;
}

weight_dtype parse_dtype(const nlohmann::json& config) {
  // transformers 4.56 renamed torch_dtype to dtype.
  const char* key = optional_member(config, "dtype") ? "dtype" : "torch_dtype";
  auto* value = optional_member(config, key);
  if (!value)
    return weight_dtype::float32;
  auto name = value->is_string() ? value->get<std::string>() : value->dump();
  if (name == "float32")
    return weight_dtype::float32;
  if (name == "float16")
    return weight_dtype::float16;
  if (name == "bfloat16")
    return weight_dtype::bfloat16;
  refuse(key, "is " + value->dump() + "; only float32, float16 and bfloat16 are implemented");
}

} // namespace

model_config parse_model_config(const nlohmann::json& config) {
  if (!config.is_object())
    throw field_error("", "config.json must be a JSON object");
  model_config c;
  c.architecture = architecture_of(config, c.architecture_name);
  c.hidden_size = required_positive(config, "", "hidden_size");
  c.intermediate_size = required_positive(config, "", "intermediate_size");
  c.num_hidden_layers = required_positive(config, "", "num_hidden_layers");
  c.num_attention_heads = required_positive(config, "", "num_attention_heads");
  c.vocab_size = required_positive(config, "", "vocab_size");
  c.max_position_embeddings = required_positive(config, "", "max_position_embeddings");
  c.rms_norm_eps = positive_number(required(config, "", "rms_norm_eps"), "rms_norm_eps");

  auto* kv_heads = optional_member(config, "num_key_value_heads");
  c.num_key_value_heads = kv_heads ? positive_integer(*kv_heads, "num_key_value_heads")
                                   : c.num_attention_heads;
  if (c.num_attention_heads % c.num_key_value_heads != 0)
    refuse("num_key_value_heads", "(" + std::to_string(c.num_key_value_heads)
                                    + ") must divide num_attention_heads ("
                                    + std::to_string(c.num_attention_heads) + ")");
  if (auto* head_dim = optional_member(config, "head_dim")) {
    c.head_dim = positive_integer(*head_dim, "head_dim");
  } else {
    if (c.hidden_size % c.num_attention_heads != 0)
      refuse("hidden_size", "(" + std::to_string(c.hidden_size)
                              + ") must be a multiple of num_attention_heads ("
                              + std::to_string(c.num_attention_heads) + ") without head_dim");
    c.head_dim = c.hidden_size / c.num_attention_heads;
  }
  if (c.head_dim % 2 != 0)
    refuse("head_dim", "(" + std::to_string(c.head_dim) + ") must be even for rotary embeddings");

  auto& act = required(config, "", "hidden_act");
  if (act != "silu")
    refuse("hidden_act", "is " + act.dump() + "; only \"silu\" (SwiGLU) is implemented");
  if (auto* theta = optional_member(config, "rope_theta"))
    c.rope_theta = positive_number(*theta, "rope_theta");
  c.rope_scaling = parse_rope_scaling(config);
  if (auto* partial = optional_member(config, "partial_rotary_factor"))
    if (*partial != 1.0)
      refuse("partial_rotary_factor", "is " + partial->dump() + "; only 1 is implemented");
  c.tie_word_embeddings = optional_bool(config, "tie_word_embeddings", false);
  c.torch_dtype = parse_dtype(config);

  switch (c.architecture) {
  case model_architecture::llama:
    c.qkv_bias = c.o_bias = optional_bool(config, "attention_bias", false);
    c.mlp_bias = optional_bool(config, "mlp_bias", false);
    break;
  case model_architecture::qwen2:
    c.qkv_bias = true;
    // Qwen2 keeps sliding_window in its config but uses it only when told to.
    if (optional_bool(config, "use_sliding_window", false))
      refuse("use_sliding_window", "is true; sliding-window attention is not implemented");
    break;
  case model_architecture::mistral:
    if (auto* window = optional_member(config, "sliding_window"))
      c.sliding_window = positive_integer(*window, "sliding_window");
    break;
  }
  return c;
}

std::vector<double> rope_inverse_frequencies(const model_config& config) {
  auto dim = config.head_dim;
  std::vector<double> out(static_cast<std::size_t>(dim / 2));
  const auto& s = config.rope_scaling;
  const double pi = std::acos(-1.0);
  for (std::size_t i = 0; i < out.size(); ++i) {
    double f = 1.0 / std::pow(config.rope_theta, static_cast<double>(2 * i) / dim);
    if (s.type == rope_scaling::kind::linear) {
      f /= s.factor;
    } else if (s.type == rope_scaling::kind::llama3) {
      // Llama 3.1: long wavelengths slowed by factor, short ones kept, a smooth blend between.
      double old_len = static_cast<double>(s.original_max_position_embeddings);
      double wavelen = 2 * pi / f;
      if (wavelen > old_len / s.low_freq_factor) {
        f /= s.factor;
      } else if (wavelen >= old_len / s.high_freq_factor) {
        double smooth = (old_len / wavelen - s.low_freq_factor)
                        / (s.high_freq_factor - s.low_freq_factor);
        f = (1 - smooth) * f / s.factor + smooth * f;
      }
    }
    out[i] = f;
  }
  return out;
}

} // namespace expd::core
