// Binary COPY out of a real PostgreSQL: field decoding, NULLs, many rows, errors.
#include <gtest/gtest.h>

#include "core/rfc3339.hpp"
#include "runtime/pg_binary_copy.hpp"
#include "tests/integration/expd_process.hpp"

using namespace expd;
using namespace expd::testing;
namespace field = expd::runtime::binary_field;

TEST(pg_binary_copy, decodes_the_types_the_aggregation_reads) {
  scratch_database db;
  runtime::pg_binary_copy copy{db.url()};
  std::vector<std::string_view> uuids;
  int rows = 0;
  auto n = copy.rows(
    "SELECT 'user-é'::text, timestamptz '2025-03-01T10:00:00.000001Z', timestamptz '1969-12-31T23:59:59Z',"
    " ARRAY['0190a1b2-c3d4-4e5f-8a9b-0c1d2e3f4a5b', '00000000-0000-0000-0000-0000000000ff']::uuid[],"
    " '{}'::uuid[], ARRAY[NULL, 'ffffffff-ffff-ffff-ffff-ffffffffffff']::uuid[],"
    " '{\"a\": 1.5, \"b\": true}'::jsonb, NULL::text, 1234567890123::bigint",
    [&](const runtime::binary_row& r) {
      ++rows;
      ASSERT_EQ(r.size(), 9u);
      EXPECT_EQ(r[0], "user-é");
      EXPECT_EQ(field::timestamp_micros(r[1]), *core::parse_rfc3339("2025-03-01T10:00:00.000001Z"));
      EXPECT_EQ(field::timestamp_micros(r[2]), -1000000);
      field::uuid_array(r[3], uuids);
      ASSERT_EQ(uuids.size(), 2u);
      EXPECT_EQ(static_cast<unsigned char>(uuids[0][0]), 0x01);
      EXPECT_EQ(static_cast<unsigned char>(uuids[0][15]), 0x5b);
      EXPECT_EQ(static_cast<unsigned char>(uuids[1][15]), 0xff);
      field::uuid_array(r[4], uuids);
      EXPECT_TRUE(uuids.empty());
      field::uuid_array(r[5], uuids);
      ASSERT_EQ(uuids.size(), 1u); // the NULL element is skipped
      EXPECT_EQ(static_cast<unsigned char>(uuids[0][0]), 0xff);
      auto json = field::jsonb_text(r[6]);
      EXPECT_NE(json.find("\"a\": 1.5"), std::string_view::npos) << json;
      EXPECT_EQ(r[7].data(), nullptr);
      EXPECT_EQ(field::int64(r[8]), 1234567890123);
    });
  EXPECT_EQ(n, 1u);
  EXPECT_EQ(rows, 1);
}

TEST(pg_binary_copy, streams_many_rows_and_stays_usable) {
  scratch_database db;
  runtime::pg_binary_copy copy{db.url()};
  std::int64_t sum = 0;
  auto n = copy.rows("SELECT g::bigint, repeat('x', g % 5000) FROM generate_series(1, 200000) g",
                     [&](const runtime::binary_row& r) {
                       auto g = field::int64(r[0]);
                       sum += g;
                       ASSERT_EQ(r[1].size(), static_cast<std::size_t>(g % 5000));
                     });
  EXPECT_EQ(n, 200000u);
  EXPECT_EQ(sum, 200000LL * 200001 / 2);
  EXPECT_EQ(copy.rows("SELECT 1::bigint WHERE false", [](auto&) {}), 0u);
}

TEST(pg_binary_copy, errors_are_exceptions_with_the_servers_message) {
  scratch_database db;
  runtime::pg_binary_copy copy{db.url()};
  try {
    copy.rows("SELECT * FROM no_such_table", [](auto&) {});
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string{e.what()}.find("no_such_table"), std::string::npos) << e.what();
  }
  // A failure mid-stream (division by zero on the 1000th row) after rows were delivered.
  std::uint64_t seen = 0;
  EXPECT_THROW(copy.rows("SELECT (1 / (1000 - g))::bigint FROM generate_series(1, 2000) g",
                         [&](auto&) { ++seen; }),
               std::runtime_error);
  EXPECT_THROW(runtime::pg_binary_copy{"postgresql://nobody@127.0.0.1:1/none"}, std::runtime_error);
}

TEST(pg_binary_copy, a_callback_that_throws_ends_the_stream) {
  scratch_database db;
  runtime::pg_binary_copy copy{db.url()};
  int calls = 0;
  EXPECT_THROW(copy.rows("SELECT g::bigint FROM generate_series(1, 100000) g",
                         [&](auto&) {
                           if (++calls == 10)
                             throw std::runtime_error("stop");
                         }),
               std::runtime_error);
  EXPECT_EQ(calls, 10);
}

TEST(pg_binary_copy, field_decoders_refuse_wrong_shapes) {
  EXPECT_THROW(field::int64("1234"), std::runtime_error);
  EXPECT_THROW(field::timestamp_micros(""), std::runtime_error);
  EXPECT_THROW(field::jsonb_text(std::string_view{"\x02{}", 3}), std::runtime_error);
  EXPECT_THROW(field::jsonb_text(""), std::runtime_error);
  std::vector<std::string_view> out;
  EXPECT_THROW(field::uuid_array("short", out), std::runtime_error);
  // One dimension, 2 elements announced, one present.
  std::string a{"\0\0\0\1\0\0\0\0\0\0\x0b\x86\0\0\0\2\0\0\0\1\0\0\0\x10"
                "0123456789abcdef",
                40};
  EXPECT_THROW(field::uuid_array(a, out), std::runtime_error);
}
