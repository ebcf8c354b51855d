// expd-trainer: the trainer workers of one node (docs/gpu.md, "Trainer workers"). It
// reaches the node's training registry where the node's --trainer-listen says, offers
// --workers workers, runs the jobs the registry hands them and exits when the node goes.
// With --registry it also offers a model host, which loads the model versions the node
// asks for (replay, serving) with the --inference-* settings (docs/gpu.md, "Model
// hosts"). With --inference-model it also serves an inference worker on
// --inference-listen (docs/gpu.md, "Batched inference"); --registry is then optional.
#include <chrono>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>
#include <unistd.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>

#include "cluster/node_link.hpp"
#include "gpu/inference_worker.hpp"
#include "gpu/model_host.hpp"
#include "gpu/trainer_worker.hpp"
#include "messages/type_registry.hpp"
#include "runtime/log.hpp"

namespace {

using namespace expd;

struct trainer_flags {
  std::string registry;
  std::uint32_t workers = 1;
  gpu::training_run_config run;
  std::chrono::seconds connect_timeout{30};
  gpu::inference_worker_config inference; ///< served when its model is set; the model host's settings
  std::string inference_listen;
  std::uint32_t max_models = 2;
};

const char* usage =
  "usage: expd-trainer --registry=127.0.0.1:PORT [--workers=1] [--threads=0 (torch's default)]\n"
  "                    [--gloo-host=127.0.0.1] [--tokenize=PATH (expd-tokenize beside this binary)]\n"
  "                    [--connect-timeout-s=30] [--max-models=2 (the model host's)]\n"
  "                    [--inference-batch=32] [--inference-wait-ms=5] [--inference-queue=256]\n"
  "                    [--inference-max-sequence=2048] (every inference worker's)\n"
  "                    [--inference-model=DIR --inference-listen=127.0.0.1:PORT [--inference-adapter=DIR]]\n";

std::uint32_t positive(const std::string& flag, const std::string& value, unsigned long max = 1024) {
  std::size_t used = 0;
  unsigned long n = 0;
  try {
    n = std::stoul(value, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != value.size() || n == 0 || n > max)
    throw std::invalid_argument("--" + flag + " must be a whole number from 1 to " + std::to_string(max)
                                + ", not '" + value + "'");
  return static_cast<std::uint32_t>(n);
}

trainer_flags parse(int argc, char** argv) {
  trainer_flags f;
  f.run.tokenize_binary = (std::filesystem::read_symlink("/proc/self/exe").parent_path() / "expd-tokenize").string();
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto eq = arg.find('=');
    if (arg.rfind("--", 0) != 0 || eq == std::string::npos)
      throw std::invalid_argument("flags are --name=value, not '" + arg + "'");
    auto name = arg.substr(2, eq - 2), value = arg.substr(eq + 1);
    if (name == "registry")
      f.registry = value;
    else if (name == "workers")
      f.workers = positive(name, value);
    else if (name == "threads")
      f.run.threads = static_cast<int>(positive(name, value));
    else if (name == "gloo-host")
      f.run.gloo_host = value;
    else if (name == "tokenize")
      f.run.tokenize_binary = value;
    else if (name == "connect-timeout-s")
      f.connect_timeout = std::chrono::seconds{positive(name, value)};
    else if (name == "max-models")
      f.max_models = positive(name, value, 64);
    else if (name == "inference-model")
      f.inference.model = value;
    else if (name == "inference-adapter")
      f.inference.adapter = value;
    else if (name == "inference-listen")
      f.inference_listen = value;
    else if (name == "inference-batch")
      f.inference.batching.max_batch = positive(name, value);
    else if (name == "inference-wait-ms")
      f.inference.batching.max_wait = std::chrono::milliseconds{positive(name, value, 60000)};
    else if (name == "inference-queue")
      f.inference.batching.max_queue = positive(name, value, 1u << 20);
    else if (name == "inference-max-sequence")
      f.inference.limits.max_sequence = positive(name, value, 1u << 20);
    else
      throw std::invalid_argument("unknown flag --" + name);
  }
  if (f.registry.empty() && f.inference.model.empty())
    throw std::invalid_argument("--registry=HOST:PORT is needed: the node's --trainer-listen");
  if (f.inference.model.empty() != f.inference_listen.empty())
    throw std::invalid_argument("--inference-model and --inference-listen go together");
  f.inference.threads = f.run.threads;
  // Every row of a batch may be as long as the longest request.
  f.inference.batching.max_batch_tokens
    = std::uint64_t{f.inference.batching.max_batch} * f.inference.limits.max_sequence;
  if (!f.registry.empty() && ::access(f.run.tokenize_binary.c_str(), X_OK) != 0)
    throw std::invalid_argument("--tokenize: " + f.run.tokenize_binary + " is not an executable");
  return f;
}

// The node may still be starting: try until connect_timeout.
caf::expected<training_registry_actor> reach(caf::actor_system& sys, const trainer_flags& f) {
  auto [host, port] = cluster::split_address(f.registry, "--registry");
  auto until = std::chrono::steady_clock::now() + f.connect_timeout;
  for (;;) {
    auto registry = sys.middleman().remote_actor<training_registry_actor>(host, port);
    if (registry || std::chrono::steady_clock::now() >= until)
      return registry;
    std::this_thread::sleep_for(std::chrono::milliseconds{200});
  }
}

// Publishes an inference worker on `listen` (loopback: plain CAF links); throws naming
// the flag.
void serve_inference(caf::actor_system& sys, const trainer_flags& f) {
  auto [host, port] = cluster::split_address(f.inference_listen, "--inference-listen");
  if (host != "localhost" && host != "::1" && host.rfind("127.", 0) != 0)
    throw std::invalid_argument("--inference-listen must be a loopback address, not " + host);
  auto worker = gpu::spawn_inference_worker(sys, f.inference);
  auto published = sys.middleman().publish(worker, port, host.c_str(), true);
  if (!published)
    throw std::invalid_argument("--inference-listen: cannot listen on " + f.inference_listen + ": "
                                + cluster::error_text(sys, published.error()));
  runtime::log(runtime::log_level::info, "inference_listen",
               {{"address", host + ":" + std::to_string(*published)}});
}

} // namespace

int main(int argc, char** argv) {
  trainer_flags flags;
  try {
    flags = parse(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "expd-trainer: " << e.what() << "\n" << usage;
    return 2;
  }
  caf::actor_system_config cfg;
  cfg.load<caf::io::middleman>();
  add_message_types(cfg);
  caf::actor_system sys{cfg};
  if (!flags.inference.model.empty()) {
    try {
      serve_inference(sys, flags);
    } catch (const std::exception& e) {
      std::cerr << "expd-trainer: " << e.what() << "\n";
      std::fflush(nullptr);
      std::_Exit(2);
    }
  }
  if (flags.registry.empty()) {
    // Inference alone: serves until a signal ends the process.
    for (;;)
      ::pause();
  }
  auto registry = reach(sys, flags);
  if (!registry) {
    std::cerr << "expd-trainer: no training registry at " << flags.registry << " ("
              << sys.render(registry.error()) << "): is the node up with --trainer-listen="
              << flags.registry << "?\n";
    std::fflush(nullptr);
    std::_Exit(2);
  }
  for (std::uint32_t i = 0; i < flags.workers; ++i)
    gpu::spawn_trainer_worker(sys, *registry, flags.run);
  auto host = gpu::spawn_model_host(sys, {flags.inference, flags.max_models});
  caf::anon_send(*registry, atom::subscribe::value, host);
  runtime::log(runtime::log_level::info, "expd_trainer_started",
               {{"registry", flags.registry}, {"workers", flags.workers}, {"threads", flags.run.threads},
                {"max_models", flags.max_models}});
  // The workers quit when the registry goes; a run still training holds its thread, so
  // the process ends here rather than in ~actor_system.
  {
    caf::scoped_actor self{sys};
    self->monitor(*registry);
    self->receive([](const caf::down_msg&) {});
  }
  runtime::log(runtime::log_level::warn, "expd_trainer_registry_gone", {{"registry", flags.registry}});
  std::fflush(nullptr);
  std::_Exit(3);
}
