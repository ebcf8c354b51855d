// core::parse_json on the body of POST /v1/events: a batch of 1000 events in the
// onboarding spec's shape (200 KB), against nlohmann::json::parse of the same text in
// the same run (the VM's speed drifts; the ratio is the figure).
// Run: build/bench/expd_json_parse_bench --benchmark_repetitions=5
//        --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <string>

#include "core/json_parse.hpp"

namespace {

std::string batch_body() {
  std::string body = "{\"events\":[";
  for (int i = 0; i < 1000; ++i) {
    if (i > 0)
      body += ",";
    body += R"({"event_type":"plan_generated","unit_type":"user","unit_id":"user-)"
            + std::to_string(i)
            + R"(","timestamp":"2025-01-01T00:00:00Z","context":{"app_version":"1.2.3",)"
              R"("country":"DE"},"metrics":{"latency_ms":450,"tokens":1234}})";
  }
  return body + "]}";
}

void parse_json_batch(benchmark::State& state) {
  const auto body = batch_body();
  for (auto _ : state)
    benchmark::DoNotOptimize(expd::core::parse_json(body));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
}

void nlohmann_parse_batch(benchmark::State& state) {
  const auto body = batch_body();
  for (auto _ : state)
    benchmark::DoNotOptimize(nlohmann::json::parse(body, nullptr, false));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
}

} // namespace

BENCHMARK(parse_json_batch)->Unit(benchmark::kMicrosecond);
BENCHMARK(nlohmann_parse_batch)->Unit(benchmark::kMicrosecond);
BENCHMARK_MAIN();
