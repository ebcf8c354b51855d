#include <gtest/gtest.h>

#include <set>

#include <caf/exit_reason.hpp>
#include <caf/sec.hpp>
#include <nlohmann/json.hpp>

#include "actors/gateway/error_table.hpp"

using namespace expd;
using header_list = std::vector<std::pair<std::string, std::string>>;

TEST(error_table, every_code_has_one_row_with_an_error_status) {
  std::set<std::uint8_t> seen;
  for (std::uint8_t n = 1; n < ec_end; ++n) {
    auto code = static_cast<ec>(n);
    auto* row = find_error_row(code);
    ASSERT_NE(row, nullptr) << to_string(code) << " has no row in actors/gateway/error_table.cpp";
    EXPECT_EQ(row->code, code);
    EXPECT_GE(row->status, 400) << to_string(code);
    EXPECT_LT(row->status, 600) << to_string(code);
    EXPECT_FALSE(row->name.empty()) << to_string(code);
    EXPECT_TRUE(seen.insert(n).second);
    auto reply = render_http_error(make_error(code, "f", "m"));
    EXPECT_EQ(reply.status, row->status);
    auto body = nlohmann::json::parse(reply.body);
    EXPECT_EQ(body["error"]["code"], row->name);
    EXPECT_EQ(body["error"]["message"], "m");
    EXPECT_EQ(body["error"]["field"], "f");
  }
}

TEST(error_table, renders_the_client_contract_byte_for_byte) {
  auto reply = render_http_error(make_error(ec::invalid_field, "unit_id", "unit_id is required"));
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(reply.body,
            R"({"error":{"code":"invalid_field","field":"unit_id","message":"unit_id is required"}})");
  EXPECT_TRUE(reply.headers.empty());
  // No field: the key is left out.
  auto db = render_http_error(make_error(ec::database_unavailable, "", "retry"));
  EXPECT_EQ(db.status, 503);
  EXPECT_EQ(db.body, R"({"error":{"code":"database_unavailable","message":"retry"}})");
  EXPECT_TRUE(db.headers.empty());
}

TEST(error_table, codes_that_share_a_client_code_keep_their_status) {
  EXPECT_EQ(render_http_error(make_error(ec::unknown_experiment, "", "")).status, 400);
  EXPECT_EQ(render_http_error(make_error(ec::experiment_not_found, "", "")).status, 404);
  EXPECT_EQ(find_error_row(ec::experiment_not_found)->name, "unknown_experiment");
  for (auto code : {ec::request_timeout, ec::payload_too_large, ec::headers_too_large,
                    ec::version_not_supported})
    EXPECT_EQ(find_error_row(code)->name, "bad_request");
}

TEST(error_table, headers_come_from_the_row_or_the_error) {
  EXPECT_EQ(render_http_error(make_error(ec::unauthorized, "Authorization", "x")).headers,
            (header_list{{"WWW-Authenticate", "Bearer"}}));
  EXPECT_EQ(render_http_error(make_error(ec::unavailable, "", "x")).headers,
            (header_list{{"Retry-After", "5"}}));
  EXPECT_EQ(render_http_error(make_error(ec::spool_unavailable, "", "x")).headers,
            (header_list{{"Retry-After", "1"}}));
  EXPECT_EQ(render_http_error(make_error(ec::too_many_connections, "request", "x")).headers,
            (header_list{{"Retry-After", "1"}}));
  EXPECT_EQ(render_http_error(make_error(ec::spool_full, "", "x")).headers,
            (header_list{{"Retry-After", "5"}}));
  EXPECT_EQ(render_http_error(make_error(ec::spool_full, "", "x", {"", 30})).headers,
            (header_list{{"Retry-After", "30"}}));
}

TEST(error_table, inference_refusals_are_client_errors_naming_the_field) {
  auto over = render_http_error(make_error(ec::over_limit, "max_new_tokens", "over"));
  EXPECT_EQ(over.status, 400);
  EXPECT_EQ(over.body, R"({"error":{"code":"over_limit","field":"max_new_tokens","message":"over"}})");
  EXPECT_TRUE(over.headers.empty());
  auto full = render_http_error(make_error(ec::overloaded, "request", "full"));
  EXPECT_EQ(full.status, 429);
  EXPECT_EQ(full.headers, (header_list{{"Retry-After", "1"}}));
}

TEST(error_table, detail_members_join_the_body) {
  auto detail = R"({"accepted":0,"rejected":[{"code":"invalid_field","field":"unit_id","index":0,"message":"unit_id is required"}]})";
  auto reply = render_http_error(make_error(ec::invalid_event, "unit_id", "unit_id is required",
                                            {detail, 0}));
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(reply.body,
            R"({"accepted":0,"error":{"code":"invalid_event","field":"unit_id","message":)"
            R"("unit_id is required"},"rejected":[{"code":"invalid_field","field":"unit_id",)"
            R"("index":0,"message":"unit_id is required"}]})");
}

TEST(error_table, other_errors_are_503_unavailable_without_retry_after) {
  for (caf::error err : {caf::error{caf::sec::request_timeout}, caf::error{caf::sec::no_route_to_receiving_node},
                         caf::error{caf::exit_reason::user_shutdown}}) {
    auto reply = render_http_error(err);
    EXPECT_EQ(reply.status, 503);
    EXPECT_EQ(reply.body, R"({"error":{"code":"unavailable","message":"the service did not answer in time; retry"}})");
    EXPECT_TRUE(reply.headers.empty());
  }
}

TEST(error_table, protocol_statuses_keep_their_status) {
  for (int status : {400, 408, 413, 431, 501, 505})
    EXPECT_EQ(find_error_row(protocol_error_code(status))->status, status);
}
