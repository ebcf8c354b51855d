#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "tools/planning_corpus.hpp"

// The planner example domain (sql/domain/planner_schema.sql) filled from the synthetic
// corpus: the product team's tables a dataset build joins, and the events the planner
// service would have sent for each example, so a build over them renders the corpus's
// own input and target (docs/lifecycle.md, "Datasets from events").
namespace expd::tools {

/// What happened to an example's plan: most are accepted; every tenth (row % 10 == 3)
/// gets no answer and another (row % 10 == 7) is rejected, so a build has rows to leave out.
enum class plan_answer { accepted, rejected, none };
plan_answer answer_of(std::size_t row);

/// The example's events in POST /v1/events's shape: plan_generated (unit household,
/// context request_id, workflow, mode, policy_version_id, pantry_id, constraint_id,
/// previous_plan recipe ids, plan) at its timestamp shifted by `shift_micros`, and,
/// unless its answer is none, plan_accepted (context request_id, plan, edits; metric
/// accepted) two minutes later. `at_micros`: the example's time. Event ids are derived
/// from the example id.
nlohmann::json planner_events(const planning_example& example, std::size_t row, std::int64_t at_micros);

/// Writes `rows` examples of `seed` into `folder` (created) as CSV files with a header,
/// one per table (households.csv, recipes.csv, exclusions.csv, pantry_snapshots.csv, constraints.csv:
/// COPY ... FROM ... (FORMAT csv, HEADER)), and events.ndjson, one event per line,
/// timestamps shifted so that the first example is at `start` and the gaps between
/// examples divided by `time_scale` (1: the corpus's own, about an hour; the benchmark
/// packs millions of examples into weeks). Throws std::runtime_error when a file cannot
/// be written.
void write_planner_domain(std::uint64_t seed, std::size_t rows, const std::string& folder,
                          std::int64_t start_micros, std::uint64_t time_scale = 1);

} // namespace expd::tools
