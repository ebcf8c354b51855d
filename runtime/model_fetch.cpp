#include "runtime/model_fetch.hpp"

#include <filesystem>
#include <fstream>

#include "runtime/random_uuid.hpp"

namespace expd::runtime {

namespace fs = std::filesystem;

fetched_model fetch_model(mlflow_client& mlflow, const std::string& cache, const core::model_reference& ref) {
  auto v = mlflow.get_model_version(ref.name, ref.version);
  auto run = mlflow.get_run(v.run_id);
  fetched_model out;
  out.run_id = v.run_id;
  auto base = run.params.find("base_model");
  if (base == run.params.end())
    throw model_fetch_error(ref.text() + ": its run " + v.run_id + " has no base_model param");
  out.base_model = fs::absolute(base->second).string();
  if (!fs::exists(fs::path(out.base_model) / "config.json"))
    throw model_fetch_error(ref.text() + ": its base model " + out.base_model + " (the run's base_model) is gone");
  if (auto d = run.params.find("dataset_version"); d != run.params.end())
    out.dataset_version = d->second;
  else if (auto t = run.tags.find("dataset_version"); t != run.tags.end())
    out.dataset_version = t->second;
  if (auto d = run.params.find("dataset"); d != run.params.end())
    out.dataset = d->second;
  auto folder = fs::path(cache) / ref.name / std::to_string(ref.version);
  out.folder = folder.string();
  if (fs::exists(folder / "adapter") && fs::exists(folder / "tokenizer"))
    return out;
  auto scratch = fs::path(cache) / ref.name / (".fetch-" + std::to_string(ref.version) + "-" + random_uuid().str());
  auto copy = [&](const std::string& from, const fs::path& to) {
    fs::create_directories(to);
    auto files = mlflow.list_artifacts(run.artifact_uri, from);
    if (files.empty())
      throw model_fetch_error(ref.text() + ": its run " + v.run_id + " has no " + from + "/ artifacts left");
    for (auto& f : files) {
      if (f.is_dir)
        continue;
      auto name = fs::path(f.path).filename().string();
      auto bytes = mlflow.download_artifact(run.artifact_uri, from + "/" + name);
      std::ofstream file(to / name, std::ios::binary | std::ios::trunc);
      file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
      if (!file.flush())
        throw std::runtime_error("cannot write " + (to / name).string());
    }
  };
  try {
    copy("adapter", scratch / "adapter");
    copy("tokenizer", scratch / "tokenizer");
    // The tokenizer checks its special tokens against the model's config.json beside it.
    if (!fs::exists(scratch / "tokenizer" / "config.json"))
      fs::copy_file(fs::path(out.base_model) / "config.json", scratch / "tokenizer" / "config.json");
  } catch (...) {
    std::error_code ignored;
    fs::remove_all(scratch, ignored);
    throw;
  }
  std::error_code ec;
  fs::rename(scratch, folder, ec);
  if (ec) {
    fs::remove_all(scratch);
    if (!fs::exists(folder / "adapter")) // another fetch did not take its place either
      throw std::runtime_error("cannot move the fetched model into " + folder.string() + ": " + ec.message());
  }
  return out;
}

} // namespace expd::runtime
