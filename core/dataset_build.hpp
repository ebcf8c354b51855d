#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/rfc3339.hpp"

// Datasets built from events (onboarding spec 7.2, 9.1, 9.2; docs/lifecycle.md,
// "Datasets from events"): what a build request may ask, where its files go, which
// version it becomes and what its manifest says. No I/O: runtime/dataset_build does it.
namespace expd::core {

/// A dataset a node can build: its join query is sql/domain/NAME_dataset.sql, and its
/// versions are logged to MLflow tagged with the policy it trains.
struct dataset_definition {
  std::string name;      ///< "planner"
  std::string policy_id; ///< "planner_policy" (spec 8's tag)
};

const std::vector<dataset_definition>& known_datasets();

/// The definition of `name`, or nullptr.
const dataset_definition* find_dataset(std::string_view name);

/// The longest window one build reads (92 days): a quarter of events is what one
/// build may hold in a node's scratch space; build longer spans in parts.
constexpr unix_micros max_dataset_window = 92LL * 24 * 3600 * 1000000;

struct dataset_build_request {
  std::string name;        ///< one of known_datasets()
  unix_micros from = 0;    ///< the window [from, to) of the events' timestamps
  unix_micros to = 0;
  double validation = 0.1; ///< the fraction of units in the validation split, [0, 1)
};

/// POST /admin/v1/datasets {"name","from","to","validation"?}: from and to are RFC 3339
/// date-times or dates ("2025-01-06": its midnight, UTC). Throws field_error naming the
/// field: an unknown name, a missing or unreadable time, from >= to, a window over
/// max_dataset_window, a validation outside [0, 1), an unknown member.
dataset_build_request parse_dataset_build_request(std::string_view body);

/// "validation" for about `validation_fraction` of units, "train" for the rest, by
/// bucket_of("validation", unit_id): a unit's rows all land in one split.
std::string dataset_split(std::string_view unit_id, double validation_fraction) noexcept;

/// "2025-01-13": the UTC day of `t`, which names a build's folder.
std::string utc_day(unix_micros t);

/// The version a build of `day` takes given the versions of that name already stored:
/// the day itself ("2025-01-13") when free, else the day with the next free suffix
/// ("2025-01-13.2", ".3", ...). Stored versions are never replaced.
std::string next_dataset_version(const std::string& day, const std::vector<std::string>& stored);

/// Whether `version` has the shape next_dataset_version gives (checked before it is
/// used in a key or a query).
bool valid_dataset_version(std::string_view version) noexcept;

/// "datasets/planner/2025-01-13/training.parquet" and ".../manifest.json".
std::string dataset_data_key(const std::string& name, const std::string& version);
std::string dataset_manifest_key(const std::string& name, const std::string& version);

/// `sql` with every :'from' and :'to' (psql's quoted variables, so the same file runs in
/// psql -v from=... -v to=...) replaced by the window's bounds as timestamptz literals.
/// Throws std::invalid_argument when either placeholder is missing.
std::string bind_window(std::string sql, unix_micros from, unix_micros to);

/// One column of a dataset file, for the manifest's schema.
struct dataset_column {
  std::string name;
  std::string type; ///< Arrow's: "string", "timestamp[us, tz=UTC]"
};

/// What a build produced, before it has a version.
struct dataset_contents {
  std::uint64_t rows = 0;
  std::uint64_t train_rows = 0;
  std::uint64_t validation_rows = 0;
  std::uint64_t skipped_rows = 0; ///< joined rows without an input or target (an event missing a field)
  std::uint64_t bytes = 0;       ///< of the Parquet file
  std::string content_hash;      ///< XXH3-64 of the Parquet file's bytes, 16 hex digits
  std::vector<dataset_column> schema;
};

/// The manifest.json beside the file: the dataset, its version, what it holds (rows,
/// split counts, schema, content hash), where it came from (window, validation fraction,
/// query hash) and when it was built.
nlohmann::json dataset_manifest(const dataset_build_request& request, const std::string& version,
                                const std::string& data_key, const dataset_contents& contents,
                                const std::string& query_hash, unix_micros built_at);

} // namespace expd::core
