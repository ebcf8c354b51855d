#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

struct pg_conn; // libpq's PGconn

namespace expd::runtime {

/// The fields of one row of a binary COPY: views into the received data, valid during
/// the callback only. A NULL field has data() == nullptr.
using binary_row = std::vector<std::string_view>;

/// Streams query results in PostgreSQL's binary COPY format on a connection of its own
/// (libpq: libpqxx 6 has no binary COPY out), so a pass reads millions of rows without
/// holding them and without text conversion of timestamps and uuids.
/// Blocking: detached actors only.
class pg_binary_copy {
public:
  /// Connects. Throws std::runtime_error with libpq's message.
  explicit pg_binary_copy(const std::string& url);
  ~pg_binary_copy();
  pg_binary_copy(const pg_binary_copy&) = delete;
  pg_binary_copy& operator=(const pg_binary_copy&) = delete;

  /// Runs `statement` (settings, no rows), e.g. "SET TimeZone = 'UTC'".
  void exec(const std::string& statement);

  /// Runs `COPY (query) TO STDOUT (FORMAT binary)` and calls on_row for every row;
  /// returns the number of rows. Throws std::runtime_error when the query fails, the
  /// stream is malformed or on_row throws (the connection is then closed).
  std::uint64_t rows(const std::string& query, const std::function<void(const binary_row&)>& on_row);

private:
  ::pg_conn* conn_ = nullptr;
};

/// Binary field decoders (PostgreSQL's send formats), for on_row callbacks. Each throws
/// std::runtime_error on a field of the wrong size or shape.
namespace binary_field {

/// bigint.
std::int64_t int64(std::string_view f);
/// timestamptz: microseconds since 1970-01-01 UTC.
std::int64_t timestamp_micros(std::string_view f);
/// uuid[] (one dimension or empty): each element's 16 bytes; NULL elements are skipped.
void uuid_array(std::string_view f, std::vector<std::string_view>& out);
/// jsonb: its JSON text.
std::string_view jsonb_text(std::string_view f);

} // namespace binary_field

} // namespace expd::runtime
