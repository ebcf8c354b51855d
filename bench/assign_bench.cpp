// In-process assignment speed: one 3-variant experiment with one targeting condition,
// the shape issue #2 sets a floor for (2 million assignments per second per core).
// Run: build/bench/expd_assign_bench --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "core/assignment_book.hpp"
#include "core/bucketing.hpp"

using namespace expd::core;
using nlohmann::json;

namespace {

snapshot_ptr three_variant_snapshot() {
  experiment e;
  e.id = {1, 1};
  e.name = "planner_policy_exp";
  e.unit_type = "user";
  e.status = experiment_status::running;
  e.salt = e.name;
  e.condition_spec = json::parse(R"({"app_version":{"$vgte":"1.2.0"}})");
  const char* names[] = {"control", "leftovers_v2", "leftovers_v3"};
  for (std::uint64_t i = 0; i < 3; ++i)
    e.variants.push_back({{2, i}, names[i], 1.0 / 3,
                          json{{"policy_version_id", "uuid-v" + std::to_string(i)}}, "", "",
                          ""});
  return std::make_shared<const snapshot>(1, std::vector<experiment>{e});
}

std::vector<assign_request> requests(std::size_t n) {
  std::vector<assign_request> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    assign_request r;
    r.unit_type = "user";
    r.unit_id = "user-" + std::to_string(i);
    r.context = {{"app_version", "1.2.3"}, {"country", "US"}};
    out.push_back(std::move(r));
  }
  return out;
}

// The shard's whole decision for units it has already seen: targeting, sticky lookup,
// reply rows. Units cycle over a warm book of 1M.
void BM_assign_returning_unit(benchmark::State& state) {
  assignment_book book;
  book.install(three_variant_snapshot());
  auto reqs = requests(static_cast<std::size_t>(state.range(0)));
  std::vector<served_assignment> out;
  std::vector<assignment_record> fresh;
  for (auto& r : reqs)
    book.assign(r, out, fresh);
  std::size_t i = 0;
  for (auto _ : state) {
    book.assign(reqs[i], out, fresh);
    benchmark::DoNotOptimize(out.data());
    if (++i == reqs.size())
      i = 0;
  }
  state.counters["assignments_per_s"] =
    benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_assign_returning_unit)->Arg(10000)->Arg(1000000);

// First-time units: targeting, bucketing, sticky insert and the write-behind record.
// The request is rewritten in place with a new unit id each time, as a shard sees a
// request the gateway has just parsed (hot in cache); the sticky table grows from empty
// to 1M units and starts again.
void BM_assign_new_unit(benchmark::State& state) {
  auto snap = three_variant_snapshot();
  auto req = requests(1).front();
  assignment_book book;
  book.install(snap);
  std::vector<served_assignment> out;
  std::vector<assignment_record> fresh;
  std::uint32_t i = 0;
  for (auto _ : state) {
    req.unit_id.assign("user-");
    req.unit_id += std::to_string(i);
    book.assign(req, out, fresh);
    benchmark::DoNotOptimize(out.data());
    // A shard hands its buffer to the writer every 256 rows (assignment_shard.hpp).
    if (fresh.size() == 256)
      fresh.clear();
    if (++i == 1u << 20) {
      state.PauseTiming();
      i = 0;
      book = assignment_book{};
      book.install(snap);
      fresh.clear();
      state.ResumeTiming();
    }
  }
  state.counters["assignments_per_s"] =
    benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_assign_new_unit);

// The reply body the gateway writes, for one assignment.
void BM_render_reply(benchmark::State& state) {
  assignment_book book;
  book.install(three_variant_snapshot());
  auto reqs = requests(1);
  std::vector<served_assignment> out;
  std::vector<assignment_record> fresh;
  book.assign(reqs[0], out, fresh);
  std::string body;
  for (auto _ : state) {
    body.clear();
    append_assignments_json(body, out);
    benchmark::DoNotOptimize(body.data());
  }
}
BENCHMARK(BM_render_reply);

// The hash alone, the floor under everything above.
void BM_bucket_of(benchmark::State& state) {
  std::string unit = "user-1234567";
  for (auto _ : state)
    benchmark::DoNotOptimize(bucket_of("planner_policy_exp", unit));
}
BENCHMARK(BM_bucket_of);

} // namespace

BENCHMARK_MAIN();
