#include "gpu/hf_checkpoint.hpp"

#include <fstream>
#include <set>
#include <sstream>

#include "core/field_error.hpp"
#include "core/json_parse.hpp"
#include "gpu/checkpoint_error.hpp"
#include "gpu/safetensors.hpp"

namespace expd::gpu {

namespace {

nlohmann::json read_json(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw checkpoint_error(path.string(), "", "cannot be opened");
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json doc;
  try {
    doc = core::parse_json(text.str());
  } catch (const core::field_error& e) {
    throw checkpoint_error(path.string(), "", e.what());
  }
  if (doc.is_discarded() || !doc.is_object())
    throw checkpoint_error(path.string(), "", "is not a JSON object");
  return doc;
}

// The index's weight_map: tensor name -> shard file name within the folder.
std::map<std::string, std::string> read_weight_map(const std::filesystem::path& index) {
  auto doc = read_json(index);
  auto map = doc.find("weight_map");
  if (map == doc.end() || !map->is_object())
    throw checkpoint_error(index.string(), "", "weight_map must be an object");
  std::map<std::string, std::string> out;
  for (auto& [name, file] : map->items()) {
    if (!file.is_string())
      throw checkpoint_error(index.string(), name, "its file must be a string");
    auto shard = file.get<std::string>();
    // Shards lie beside the index; a path would let an index read any file.
    if (shard.empty() || shard.find('/') != std::string::npos || shard == "." || shard == "..")
      throw checkpoint_error(index.string(), name, "file \"" + shard + "\" is not a file name in the folder");
    out[name] = shard;
  }
  return out;
}

void add_file(hf_checkpoint& out, const std::filesystem::path& path) {
  for (auto& [name, tensor] : read_safetensors(path).tensors) {
    auto [it, fresh] = out.files.emplace(name, path.string());
    if (!fresh)
      throw checkpoint_error(path.string(), name, "is also in " + it->second);
    out.tensors.emplace(name, tensor);
  }
}

} // namespace

hf_checkpoint read_hf_checkpoint(const std::filesystem::path& folder) {
  hf_checkpoint out;
  out.folder = folder;
  auto config_path = folder / "config.json";
  try {
    out.config = core::parse_model_config(read_json(config_path));
  } catch (const core::field_error& e) {
    throw checkpoint_error(config_path.string(), "", e.what());
  }

  auto index = folder / "model.safetensors.index.json";
  auto single = folder / "model.safetensors";
  if (std::filesystem::exists(index)) {
    auto weight_map = read_weight_map(index);
    std::set<std::string> shards;
    for (auto& [name, shard] : weight_map)
      shards.insert(shard);
    for (auto& shard : shards)
      add_file(out, folder / shard);
    for (auto& [name, shard] : weight_map) {
      auto it = out.files.find(name);
      if (it == out.files.end() || it->second != (folder / shard).string())
        throw checkpoint_error((folder / shard).string(), name, "listed in the index but not in the file");
    }
    // Each listed tensor is in its own file (above) and no file holds one twice
    // (add_file), so what is left is a tensor the index does not list.
    for (auto& [name, file] : out.files)
      if (!weight_map.count(name))
        throw checkpoint_error(file, name, "not listed in model.safetensors.index.json");
  } else if (std::filesystem::exists(single)) {
    add_file(out, single);
  } else {
    throw checkpoint_error(folder.string(), "", "holds neither model.safetensors nor model.safetensors.index.json");
  }
  return out;
}

} // namespace expd::gpu
