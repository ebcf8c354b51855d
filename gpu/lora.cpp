#include "gpu/lora.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>
#include <stdexcept>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <nlohmann/json.hpp>
#include <torch/nn/modules/linear.h>
#include <unistd.h>

#include "gpu/checkpoint_error.hpp"
#include "gpu/durable_file.hpp"
#include "gpu/safetensors.hpp"

namespace expd::gpu {

namespace {

constexpr const char* peft_prefix = "base_model.model.";

std::string last_component(const std::string& name) {
  auto dot = name.rfind('.');
  return dot == std::string::npos ? name : name.substr(dot + 1);
}

std::string shape_text(at::IntArrayRef shape) {
  std::string out = "[";
  for (std::size_t i = 0; i < shape.size(); ++i)
    out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

// A whole new file or the old one, never a part: written beside, then renamed over.
void write_text_file(const std::filesystem::path& file, const std::string& text) {
  auto temp = file;
  temp += ".tmp-" + std::to_string(::getpid());
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out)
      throw checkpoint_error(file.string(), "", "cannot write " + temp.string());
  }
  sync_path(temp);
  std::filesystem::rename(temp, file);
  sync_path(file.has_parent_path() ? file.parent_path() : std::filesystem::path{"."});
}

nlohmann::json read_json_file(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in)
    throw checkpoint_error(file.string(), "", "missing or unreadable");
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw checkpoint_error(file.string(), "", std::string{"malformed JSON: "} + e.what());
  }
}

} // namespace

/// One wrapped Linear: adds scale * B(A(dropout(x))) to its output.
class lora_layer : public linear_adapter {
public:
  lora_layer(adaptable_linear base, std::int64_t rank, double scale, double dropout,
             at::Generator generator)
    : base_(std::move(base)), scale_(scale), dropout_(dropout), generator_(std::move(generator)) {
    auto& w = base_->weight;
    auto in = w.size(1), out = w.size(0);
    A = torch::nn::Linear(torch::nn::LinearOptions(in, rank).bias(false));
    B = torch::nn::Linear(torch::nn::LinearOptions(rank, out).bias(false));
    A->to(w.device(), w.scalar_type());
    B->to(w.device(), w.scalar_type());
    at::NoGradGuard no_grad;
    // PEFT's init: kaiming_uniform_(a=sqrt(5)) on A, whose bound is 1/sqrt(fan_in); B zero.
    auto bound = 1.0 / std::sqrt(static_cast<double>(in));
    A->weight.copy_(at::empty(A->weight.sizes(), at::kFloat).uniform_(-bound, bound, generator_));
    B->weight.zero_();
    // Registered on the wrapped Linear, so the model's parameter names are PEFT's.
    base_->register_module("lora_A", A);
    base_->register_module("lora_B", B);
  }

  at::Tensor forward(const at::Tensor& x) override {
    auto in = x;
    if (dropout_ > 0 && A->is_training()) {
      // The generator is a CPU one, so the mask is drawn on the CPU whatever x's device:
      // slower on a GPU, but the same masks on every device for one seed.
      auto keep = at::empty(x.sizes(), x.options().device(at::kCPU)).bernoulli_(1 - dropout_, generator_);
      keep = keep.to(x.device());
      in = x * keep / (1 - dropout_);
    }
    return B(A(in)) * scale_;
  }

  /// scale * B A, the change merging makes to the base weight.
  at::Tensor delta() const {
    return B->weight.mm(A->weight) * scale_;
  }

  adaptable_linear base_;
  torch::nn::Linear A{nullptr}, B{nullptr};

private:
  double scale_, dropout_;
  at::Generator generator_;
};

lora_adapter::lora_adapter(llama_model model, core::lora_spec spec, std::uint64_t seed,
                           std::string base_model)
  : model_(std::move(model)), spec_(std::move(spec)), base_model_(std::move(base_model)),
    generator_(at::make_generator<at::CPUGeneratorImpl>(seed)) {
  for (auto& p : model_->parameters())
    p.set_requires_grad(false);
  std::set<std::string> found;
  for (auto& [name, linear] : model_->linear_layers()) {
    auto module = last_component(name);
    if (std::find(spec_.target_modules.begin(), spec_.target_modules.end(), module)
        == spec_.target_modules.end())
      continue;
    auto in = linear->weight.size(1), out = linear->weight.size(0);
    if (spec_.rank > static_cast<std::uint64_t>(std::min(in, out)))
      throw std::invalid_argument("lora.rank " + std::to_string(spec_.rank) + " is above min(in "
                                  + std::to_string(in) + ", out " + std::to_string(out)
                                  + ") of " + name);
    found.insert(module);
  }
  for (auto& module : spec_.target_modules)
    if (!found.count(module)) {
      std::string names;
      std::set<std::string> have;
      for (auto& [name, linear] : model_->linear_layers())
        have.insert(last_component(name));
      for (auto& n : have)
        names += (names.empty() ? "" : ", ") + n;
      throw std::invalid_argument("lora.target_modules: the model has no module \"" + module
                                  + "\" (its linear layers: " + names + ")");
    }
  for (auto& [name, linear] : model_->linear_layers()) {
    if (!found.count(last_component(name)))
      continue;
    auto layer = std::make_shared<lora_layer>(linear, spec_.rank, scale(), spec_.dropout, generator_);
    layer->base_->set_adapter(layer);
    layers_.emplace(name, std::move(layer));
  }
}

lora_adapter::~lora_adapter() {
  for (auto& [name, layer] : layers_) {
    layer->base_->set_adapter(nullptr);
    layer->base_->unregister_module("lora_A");
    layer->base_->unregister_module("lora_B");
  }
}

std::vector<at::Tensor> lora_adapter::parameters() const {
  std::vector<at::Tensor> out;
  for (auto& [name, layer] : layers_) {
    out.push_back(layer->A->weight);
    out.push_back(layer->B->weight);
  }
  return out;
}

std::map<std::string, at::Tensor> lora_adapter::peft_tensors() const {
  std::map<std::string, at::Tensor> out;
  for (auto& [name, layer] : layers_) {
    out.emplace(peft_prefix + name + ".lora_A.weight", layer->A->weight.detach());
    out.emplace(peft_prefix + name + ".lora_B.weight", layer->B->weight.detach());
  }
  return out;
}

void lora_adapter::save(const std::filesystem::path& folder) const {
  std::filesystem::create_directories(folder);
  write_safetensors(folder / "adapter_model.safetensors", peft_tensors(), {{"format", "pt"}});
  // PEFT's LoraConfig keys; r and lora_alpha are integers there.
  nlohmann::json alpha = spec_.alpha;
  if (spec_.alpha == std::floor(spec_.alpha))
    alpha = static_cast<std::int64_t>(spec_.alpha);
  nlohmann::json config = {
    {"peft_type", "LORA"},
    {"task_type", "CAUSAL_LM"},
    {"base_model_name_or_path", base_model_},
    {"r", spec_.rank},
    {"lora_alpha", alpha},
    {"lora_dropout", spec_.dropout},
    {"target_modules", spec_.target_modules},
    {"bias", "none"},
    {"fan_in_fan_out", false},
    {"inference_mode", true},
    {"init_lora_weights", true},
    {"modules_to_save", nullptr},
    {"use_rslora", false},
    {"use_dora", false},
  };
  write_text_file(folder / "adapter_config.json", config.dump(2) + "\n");
}

core::lora_spec read_adapter_config(const std::filesystem::path& folder) {
  auto file = folder / "adapter_config.json";
  auto doc = read_json_file(file);
  auto need = [&](const char* key) -> const nlohmann::json& {
    if (!doc.is_object() || !doc.contains(key))
      throw checkpoint_error(file.string(), "", std::string{"missing \""} + key + "\"");
    return doc[key];
  };
  try {
    if (need("peft_type") != "LORA")
      throw checkpoint_error(file.string(), "", "peft_type " + doc["peft_type"].dump() + " is not \"LORA\"");
    core::lora_spec spec;
    spec.rank = need("r").get<std::uint32_t>();
    spec.alpha = need("lora_alpha").get<double>();
    spec.dropout = doc.value("lora_dropout", 0.0);
    spec.target_modules = need("target_modules").get<std::vector<std::string>>();
    return spec;
  } catch (const nlohmann::json::exception& e) {
    throw checkpoint_error(file.string(), "", std::string{"malformed: "} + e.what());
  }
}

void lora_adapter::load(const std::filesystem::path& folder) {
  auto saved = read_adapter_config(folder);
  auto config_file = (folder / "adapter_config.json").string();
  if (saved.rank != spec_.rank)
    throw checkpoint_error(config_file, "", "r " + std::to_string(saved.rank) + " is not this adapter's "
                                                + std::to_string(spec_.rank));
  if (std::set<std::string>(saved.target_modules.begin(), saved.target_modules.end())
      != std::set<std::string>(spec_.target_modules.begin(), spec_.target_modules.end()))
    throw checkpoint_error(config_file, "", "target_modules differ from this adapter's");
  auto file = (folder / "adapter_model.safetensors").string();
  auto content = read_safetensors(file);
  auto expected = peft_tensors();
  for (auto& [name, tensor] : content.tensors)
    if (!expected.count(name))
      throw checkpoint_error(file, name, "the adapter has no such tensor");
  for (auto& [name, tensor] : expected) {
    auto it = content.tensors.find(name);
    if (it == content.tensors.end())
      throw checkpoint_error(file, name, "missing (expected shape " + shape_text(tensor.sizes()) + ")");
    if (it->second.sizes() != tensor.sizes())
      throw checkpoint_error(file, name, "shape " + shape_text(it->second.sizes()) + ", the model's is "
                                             + shape_text(tensor.sizes()));
  }
  at::NoGradGuard no_grad;
  for (auto& [name, tensor] : expected)
    tensor.copy_(content.tensors.at(name));
}

void lora_adapter::merge() {
  if (merged_)
    return;
  at::NoGradGuard no_grad;
  for (auto& [name, layer] : layers_) {
    layer->base_->weight.add_(layer->delta());
    layer->base_->set_adapter(nullptr);
  }
  merged_ = true;
}

void lora_adapter::unmerge() {
  if (!merged_)
    return;
  at::NoGradGuard no_grad;
  for (auto& [name, layer] : layers_) {
    layer->base_->weight.sub_(layer->delta());
    layer->base_->set_adapter(layer);
  }
  merged_ = false;
}

void lora_adapter::save_merged(const std::filesystem::path& base_folder,
                               const std::filesystem::path& folder) const {
  std::set<std::string> adapter_names;
  for (auto& [name, layer] : layers_) {
    adapter_names.insert(name + ".lora_A.weight");
    adapter_names.insert(name + ".lora_B.weight");
  }
  at::NoGradGuard no_grad;
  std::map<std::string, at::Tensor> tensors;
  for (auto& item : model_->named_parameters())
    if (!adapter_names.count(item.key()))
      tensors.emplace(item.key(), item.value().detach());
  if (!merged_)
    for (auto& [name, layer] : layers_) {
      auto& w = tensors.at(name + ".weight");
      w = w + layer->delta();
    }
  std::filesystem::create_directories(folder);
  std::ifstream config(base_folder / "config.json", std::ios::binary);
  if (!config)
    throw checkpoint_error((base_folder / "config.json").string(), "", "missing or unreadable");
  write_text_file(folder / "config.json", std::string(std::istreambuf_iterator<char>(config), {}));
  write_safetensors(folder / "model.safetensors", tensors, {{"format", "pt"}});
}

} // namespace expd::gpu
