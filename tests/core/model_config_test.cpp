#include <cmath>

#include <gtest/gtest.h>

#include "core/field_error.hpp"
#include "core/model_config.hpp"

using namespace expd::core;
using nlohmann::json;

namespace {

// The config.json files of public checkpoints, as published.
json llama2_7b() {
  return json::parse(R"({"architectures":["LlamaForCausalLM"],"bos_token_id":1,"eos_token_id":2,
    "hidden_act":"silu","hidden_size":4096,"initializer_range":0.02,"intermediate_size":11008,
    "max_position_embeddings":4096,"model_type":"llama","num_attention_heads":32,
    "num_hidden_layers":32,"num_key_value_heads":32,"pretraining_tp":1,"rms_norm_eps":1e-05,
    "rope_scaling":null,"tie_word_embeddings":false,"torch_dtype":"float16",
    "transformers_version":"4.31.0.dev0","use_cache":true,"vocab_size":32000})");
}

json llama31_8b() {
  return json::parse(R"({"architectures":["LlamaForCausalLM"],"attention_bias":false,
    "attention_dropout":0.0,"bos_token_id":128000,"eos_token_id":128001,"hidden_act":"silu",
    "hidden_size":4096,"initializer_range":0.02,"intermediate_size":14336,
    "max_position_embeddings":131072,"mlp_bias":false,"model_type":"llama",
    "num_attention_heads":32,"num_hidden_layers":32,"num_key_value_heads":8,"pretraining_tp":1,
    "rms_norm_eps":1e-05,"rope_scaling":{"factor":8.0,"low_freq_factor":1.0,"high_freq_factor":4.0,
    "original_max_position_embeddings":8192,"rope_type":"llama3"},"rope_theta":500000.0,
    "tie_word_embeddings":false,"torch_dtype":"bfloat16","transformers_version":"4.43.0.dev0",
    "use_cache":true,"vocab_size":128256})");
}

json mistral_7b() {
  return json::parse(R"({"architectures":["MistralForCausalLM"],"bos_token_id":1,"eos_token_id":2,
    "hidden_act":"silu","hidden_size":4096,"initializer_range":0.02,"intermediate_size":14336,
    "max_position_embeddings":32768,"model_type":"mistral","num_attention_heads":32,
    "num_hidden_layers":32,"num_key_value_heads":8,"rms_norm_eps":1e-05,"rope_theta":10000.0,
    "sliding_window":4096,"tie_word_embeddings":false,"torch_dtype":"bfloat16",
    "transformers_version":"4.34.0.dev0","use_cache":true,"vocab_size":32000})");
}

json qwen2_05b() {
  return json::parse(R"({"architectures":["Qwen2ForCausalLM"],"attention_dropout":0.0,
    "bos_token_id":151643,"eos_token_id":151643,"hidden_act":"silu","hidden_size":896,
    "initializer_range":0.02,"intermediate_size":4864,"max_position_embeddings":131072,
    "max_window_layers":24,"model_type":"qwen2","num_attention_heads":14,"num_hidden_layers":24,
    "num_key_value_heads":2,"rms_norm_eps":1e-06,"rope_theta":1000000.0,"sliding_window":131072,
    "tie_word_embeddings":true,"torch_dtype":"bfloat16","transformers_version":"4.40.1",
    "use_cache":true,"use_sliding_window":false,"vocab_size":151936})");
}

// The field the refusal names, and that the message names it too.
std::string fault_of(const json& config) {
  try {
    parse_model_config(config);
  } catch (const field_error& e) {
    EXPECT_NE(std::string{e.what()}.find(e.field()), std::string::npos) << e.what();
    return e.field();
  }
  return "no error";
}

json with(json config, const std::string& key, json value) {
  config[key] = std::move(value);
  return config;
}

json without(json config, const std::string& key) {
  config.erase(key);
  return config;
}

} // namespace

TEST(model_config, reads_llama_2) {
  auto c = parse_model_config(llama2_7b());
  EXPECT_EQ(c.architecture, model_architecture::llama);
  EXPECT_EQ(c.architecture_name, "LlamaForCausalLM");
  EXPECT_EQ(c.hidden_size, 4096);
  EXPECT_EQ(c.intermediate_size, 11008);
  EXPECT_EQ(c.num_hidden_layers, 32);
  EXPECT_EQ(c.num_key_value_heads, 32);
  EXPECT_EQ(c.head_dim, 128);
  EXPECT_EQ(c.vocab_size, 32000);
  EXPECT_DOUBLE_EQ(c.rms_norm_eps, 1e-5);
  EXPECT_DOUBLE_EQ(c.rope_theta, 10000.0); // absent: Hugging Face's default
  EXPECT_EQ(c.rope_scaling.type, rope_scaling::kind::none);
  EXPECT_FALSE(c.tie_word_embeddings);
  EXPECT_FALSE(c.qkv_bias || c.o_bias || c.mlp_bias);
  EXPECT_EQ(c.torch_dtype, weight_dtype::float16);
  EXPECT_FALSE(c.sliding_window);
}

TEST(model_config, reads_llama_3_1_with_its_rope_scaling) {
  auto c = parse_model_config(llama31_8b());
  EXPECT_EQ(c.num_key_value_heads, 8);
  EXPECT_DOUBLE_EQ(c.rope_theta, 500000.0);
  EXPECT_EQ(c.rope_scaling.type, rope_scaling::kind::llama3);
  EXPECT_DOUBLE_EQ(c.rope_scaling.factor, 8.0);
  EXPECT_DOUBLE_EQ(c.rope_scaling.low_freq_factor, 1.0);
  EXPECT_DOUBLE_EQ(c.rope_scaling.high_freq_factor, 4.0);
  EXPECT_EQ(c.rope_scaling.original_max_position_embeddings, 8192);
  EXPECT_EQ(c.torch_dtype, weight_dtype::bfloat16);
}

TEST(model_config, reads_mistral_with_its_window) {
  auto c = parse_model_config(mistral_7b());
  EXPECT_EQ(c.architecture, model_architecture::mistral);
  EXPECT_EQ(c.sliding_window, 4096);
  EXPECT_FALSE(c.qkv_bias);
  EXPECT_FALSE(parse_model_config(with(mistral_7b(), "sliding_window", nullptr)).sliding_window);
}

TEST(model_config, reads_qwen2_with_qkv_bias_and_tied_embeddings) {
  auto c = parse_model_config(qwen2_05b());
  EXPECT_EQ(c.architecture, model_architecture::qwen2);
  EXPECT_EQ(c.head_dim, 64);
  EXPECT_TRUE(c.qkv_bias);
  EXPECT_FALSE(c.o_bias);
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_FALSE(c.sliding_window); // use_sliding_window is false
  EXPECT_EQ(fault_of(with(qwen2_05b(), "use_sliding_window", true)), "use_sliding_window");
}

TEST(model_config, llama_attention_and_mlp_bias) {
  auto c = parse_model_config(with(with(llama31_8b(), "attention_bias", true), "mlp_bias", true));
  EXPECT_TRUE(c.qkv_bias && c.o_bias && c.mlp_bias);
}

TEST(model_config, defaults_as_hugging_face_does) {
  auto c = parse_model_config(without(without(without(llama2_7b(), "num_key_value_heads"),
                                              "tie_word_embeddings"), "torch_dtype"));
  EXPECT_EQ(c.num_key_value_heads, 32);
  EXPECT_FALSE(c.tie_word_embeddings);
  EXPECT_EQ(c.torch_dtype, weight_dtype::float32);
  EXPECT_EQ(parse_model_config(with(llama2_7b(), "head_dim", 64)).head_dim, 64);
  // transformers 4.56 writes dtype instead of torch_dtype.
  EXPECT_EQ(parse_model_config(with(without(llama2_7b(), "torch_dtype"), "dtype", "bfloat16"))
              .torch_dtype, weight_dtype::bfloat16);
  EXPECT_EQ(parse_model_config(with(llama2_7b(), "rope_scaling", json{{"rope_type", "default"}}))
              .rope_scaling.type, rope_scaling::kind::none);
}

TEST(model_config, each_missing_required_field_is_named) {
  for (auto key : {"architectures", "model_type", "hidden_size", "intermediate_size",
                   "num_hidden_layers", "num_attention_heads", "vocab_size",
                   "max_position_embeddings", "rms_norm_eps", "hidden_act"})
    EXPECT_EQ(fault_of(without(llama2_7b(), key)), key);
}

TEST(model_config, each_bad_field_is_named) {
  auto c = llama2_7b();
  EXPECT_EQ(fault_of(with(c, "hidden_size", 0)), "hidden_size");
  EXPECT_EQ(fault_of(with(c, "hidden_size", -4096)), "hidden_size");
  EXPECT_EQ(fault_of(with(c, "hidden_size", 4096.5)), "hidden_size");
  EXPECT_EQ(fault_of(with(c, "hidden_size", "4096")), "hidden_size");
  EXPECT_EQ(fault_of(with(c, "intermediate_size", true)), "intermediate_size");
  EXPECT_EQ(fault_of(with(c, "num_key_value_heads", 5)), "num_key_value_heads");
  EXPECT_EQ(fault_of(with(without(c, "num_key_value_heads"), "num_attention_heads", 24)),
            "hidden_size");
  EXPECT_EQ(fault_of(with(c, "head_dim", 63)), "head_dim");
  EXPECT_EQ(fault_of(with(c, "rms_norm_eps", 0)), "rms_norm_eps");
  EXPECT_EQ(fault_of(with(c, "rope_theta", "big")), "rope_theta");
  EXPECT_EQ(fault_of(with(c, "hidden_act", "gelu")), "hidden_act");
  EXPECT_EQ(fault_of(with(c, "torch_dtype", "float8_e4m3fn")), "torch_dtype");
  EXPECT_EQ(fault_of(with(c, "tie_word_embeddings", "no")), "tie_word_embeddings");
  EXPECT_EQ(fault_of(with(c, "partial_rotary_factor", 0.5)), "partial_rotary_factor");
  EXPECT_EQ(fault_of(with(mistral_7b(), "sliding_window", 0)), "sliding_window");
  EXPECT_EQ(fault_of(json::array()), "");
}

TEST(model_config, another_architecture_is_refused_by_name) {
  auto c = llama2_7b();
  EXPECT_EQ(fault_of(with(c, "architectures", {"GPT2LMHeadModel"})), "architectures[0]");
  EXPECT_EQ(fault_of(with(c, "architectures", json::array())), "architectures");
  EXPECT_EQ(fault_of(with(c, "architectures", "LlamaForCausalLM")), "architectures");
  EXPECT_EQ(fault_of(with(c, "model_type", "mistral")), "model_type");
}

TEST(model_config, unimplemented_rope_scaling_is_refused_by_name) {
  auto c = llama2_7b();
  EXPECT_EQ(fault_of(with(c, "rope_scaling", {{"type", "dynamic"}, {"factor", 2.0}})),
            "rope_scaling.type");
  EXPECT_EQ(fault_of(with(c, "rope_scaling", {{"rope_type", "yarn"}, {"factor", 4.0}})),
            "rope_scaling.rope_type");
  EXPECT_EQ(fault_of(with(c, "rope_scaling", {{"rope_type", "linear"}})), "rope_scaling.factor");
  EXPECT_EQ(fault_of(with(c, "rope_scaling", json::object())), "rope_scaling.type");
  auto scaling = llama31_8b()["rope_scaling"];
  scaling.erase("original_max_position_embeddings");
  EXPECT_EQ(fault_of(with(c, "rope_scaling", scaling)),
            "rope_scaling.original_max_position_embeddings");
}

TEST(model_config, rope_frequencies_follow_the_formulas) {
  auto c = parse_model_config(llama2_7b());
  auto plain = rope_inverse_frequencies(c);
  ASSERT_EQ(plain.size(), 64u);
  for (std::size_t i = 0; i < plain.size(); ++i)
    EXPECT_DOUBLE_EQ(plain[i], std::pow(10000.0, -2.0 * i / 128));

  c.rope_scaling = {rope_scaling::kind::linear, 4.0};
  auto linear = rope_inverse_frequencies(c);
  for (std::size_t i = 0; i < plain.size(); ++i)
    EXPECT_DOUBLE_EQ(linear[i], plain[i] / 4);

  // Llama 3.1: wavelengths under 8192/4 kept, over 8192/1 divided by 8, a blend between.
  auto c31 = parse_model_config(llama31_8b());
  c31.rope_scaling.type = rope_scaling::kind::none;
  auto base = rope_inverse_frequencies(c31);
  auto scaled = rope_inverse_frequencies(parse_model_config(llama31_8b()));
  const double pi = std::acos(-1.0);
  int kept = 0, divided = 0, blended = 0;
  for (std::size_t i = 0; i < base.size(); ++i) {
    double wavelen = 2 * pi / base[i];
    if (wavelen < 2048) {
      EXPECT_DOUBLE_EQ(scaled[i], base[i]);
      ++kept;
    } else if (wavelen > 8192) {
      EXPECT_DOUBLE_EQ(scaled[i], base[i] / 8);
      ++divided;
    } else {
      EXPECT_LT(scaled[i], base[i]);
      EXPECT_GT(scaled[i], base[i] / 8);
      ++blended;
    }
  }
  EXPECT_GT(kept, 0);
  EXPECT_GT(divided, 0);
  EXPECT_GT(blended, 0);
}
