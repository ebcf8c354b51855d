#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include <google/protobuf/util/json_util.h>
#include <nlohmann/json.hpp>

#include "actors/gateway/protobuf_codec.hpp"
#include "core/field_error.hpp"
#include "messages/assign.pb.h"
#include "messages/events.pb.h"

using namespace expd;
using nlohmann::json;

namespace {

// A message from its proto3 JSON form, as a protobuf client would build it.
template <class Message>
std::string wire(const std::string& proto_json) {
  Message msg;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(proto_json, &msg).ok()) << proto_json;
  return msg.SerializeAsString();
}

std::string assign_wire(const std::string& proto_json) {
  return wire<v1::AssignRequest>(proto_json);
}

// The field a decoder's refusal names; "(none)" when it does not throw.
template <class Decode>
std::string fault_of(Decode decode) {
  try {
    decode();
  } catch (const core::field_error& e) {
    return e.field();
  }
  return "(none)";
}

std::string field_of(const std::string& body) {
  return fault_of([&] { decode_assign_request(body); });
}

} // namespace

TEST(protobuf_codec, an_assign_request_reads_as_its_json_twin) {
  json text = json::parse(R"({"unit_type":"user","unit_id":"u-1",
    "context":{"app_version":"1.2.3","age":31,"score":0.5,"beta":true,"gone":null,
               "tags":["a",2],"geo":{"country":"DE"}},
    "requested_experiments":["planner_policy_exp","other"]})");
  auto proto_text = text;
  proto_text["requested_experiments"] = {{"experiments", text["requested_experiments"]}};
  auto req = decode_assign_request(assign_wire(proto_text.dump()));
  ASSERT_TRUE(req);
  auto twin = core::parse_assign_body(text.dump());
  ASSERT_TRUE(twin);
  EXPECT_EQ(req->unit_type, twin->unit_type);
  EXPECT_EQ(req->unit_id, twin->unit_id);
  EXPECT_EQ(req->context, twin->context);
  EXPECT_EQ(req->context.dump(), twin->context.dump()); // 31 stays an integer
  EXPECT_EQ(req->requested, twin->requested);
  EXPECT_FALSE(req->all);
}

TEST(protobuf_codec, absent_requested_experiments_mean_all_and_an_empty_list_none) {
  auto all = decode_assign_request(assign_wire(R"({"unit_type":"user","unit_id":"u"})"));
  ASSERT_TRUE(all);
  EXPECT_TRUE(all->all);
  EXPECT_EQ(all->context, json::object());
  auto none = decode_assign_request(
    assign_wire(R"({"unit_type":"user","unit_id":"u","requested_experiments":{}})"));
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->all);
  EXPECT_TRUE(none->requested.empty());
  EXPECT_EQ(core::parse_assign_body(R"({"unit_type":"user","unit_id":"u","requested_experiments":[]})")->all,
            none->all);
}

TEST(protobuf_codec, assign_field_faults_name_the_field_as_json_does) {
  EXPECT_EQ(field_of(assign_wire(R"({"unit_type":"user"})")), "unit_id");
  EXPECT_EQ(field_of(assign_wire(R"({"unit_id":"u"})")), "unit_type");
  EXPECT_EQ(field_of(assign_wire(R"({"unit_type":"user","unit_id":")" + std::string(513, 'x')
                                 + "\"}")),
            "unit_id");
  EXPECT_EQ(field_of(assign_wire(R"({"unit_type":"user","unit_id":"a\u0001b"})")), "unit_id");
  EXPECT_EQ(field_of(assign_wire(
              R"({"unit_type":"user","unit_id":"u","requested_experiments":{"experiments":["a",""]}})")),
            "requested_experiments[1]");
}

TEST(protobuf_codec, values_json_cannot_hold_are_refused_by_path) {
  v1::AssignRequest msg;
  msg.set_unit_type("user");
  msg.set_unit_id("u");
  auto& fields = *msg.mutable_context()->mutable_fields();
  fields["geo"].mutable_struct_value()->mutable_fields()->operator[]("lat").set_number_value(
    std::numeric_limits<double>::quiet_NaN());
  EXPECT_EQ(field_of(msg.SerializeAsString()), "context.geo.lat");

  fields.clear();
  fields["list"].mutable_list_value()->add_values(); // a Value of no kind
  EXPECT_EQ(field_of(msg.SerializeAsString()), "context.list[0]");
}

TEST(protobuf_codec, nesting_is_bounded_by_libprotobufs_recursion_limit) {
  // 100 messages deep; each object level is three (Struct, its map entry, Value).
  auto nested = [](int levels) {
    v1::AssignRequest msg;
    msg.set_unit_type("user");
    msg.set_unit_id("u");
    auto* inner = msg.mutable_context();
    for (int i = 0; i < levels; ++i)
      inner = (*inner->mutable_fields())["n"].mutable_struct_value();
    return msg.SerializeAsString();
  };
  auto ok = decode_assign_request(nested(30));
  ASSERT_TRUE(ok);
  EXPECT_TRUE(ok->context["n"]["n"]["n"].is_object());
  EXPECT_FALSE(decode_assign_request(nested(40)));
}

TEST(protobuf_codec, bytes_that_are_not_the_message_are_refused_whole) {
  EXPECT_FALSE(decode_assign_request("\xff\xff\xff\xff"));
  auto good = assign_wire(R"({"unit_type":"user","unit_id":"a-long-unit-id"})");
  EXPECT_FALSE(decode_assign_request(good.substr(0, good.size() - 3))); // truncated
  // Invalid UTF-8 in a string field: proto3 refuses it while parsing.
  std::string bad_utf8 = "\x0a\x04user\x12\x02\xff\xfe";
  EXPECT_FALSE(decode_assign_request(bad_utf8));
  EXPECT_FALSE(decode_events_request("\x0a\x05\x0a\x03"));
}

TEST(protobuf_codec, a_field_of_the_wrong_wire_type_counts_as_absent) {
  // unit_type (1) sent as a varint: libprotobuf keeps it as an unknown field.
  std::string body = "\x08\x01\x12\x01u";
  EXPECT_EQ(field_of(body), "unit_type");
}

TEST(protobuf_codec, an_empty_body_is_a_request_without_fields) {
  EXPECT_EQ(field_of(""), "unit_type");
  auto events = decode_events_request("");
  ASSERT_TRUE(events);
  EXPECT_EQ(*events, R"({"events":[]})");
}

TEST(protobuf_codec, events_become_the_json_batch_ingestion_reads) {
  auto body = wire<v1::EventsRequest>(R"({"events":[
    {"event_type":"plan_generated","unit_type":"user","unit_id":"u1",
     "timestamp":"2025-01-01T10:00:00Z","event_id":"6f1c1a52-7f0e-4b7a-9a43-0c5d6f1e2a10",
     "experiments":{"experiments":[{"experiment_id":"e","variant_id":"v"}]},
     "context":{"policy_version_id":"uuid-v2"},"metrics":{"latency_ms":450,"ratio":0.25}},
    {"event_type":"plan_accepted","unit_type":"user","unit_id":"u2",
     "timestamp":"2025-01-01T10:00:00Z","experiments":{},"metrics":{"accepted":true}},
    {"event_type":"plan_accepted","unit_id":"u3"}]})");
  auto text = decode_events_request(body);
  ASSERT_TRUE(text);
  EXPECT_EQ(json::parse(*text), json::parse(R"({"events":[
    {"event_type":"plan_generated","unit_type":"user","unit_id":"u1",
     "timestamp":"2025-01-01T10:00:00Z","event_id":"6f1c1a52-7f0e-4b7a-9a43-0c5d6f1e2a10",
     "experiments":[{"experiment_id":"e","variant_id":"v"}],
     "context":{"policy_version_id":"uuid-v2"},"metrics":{"latency_ms":450,"ratio":0.25}},
    {"event_type":"plan_accepted","unit_type":"user","unit_id":"u2",
     "timestamp":"2025-01-01T10:00:00Z","experiments":[],"metrics":{"accepted":true}},
    {"event_type":"plan_accepted","unit_id":"u3"}]})"));
}

TEST(protobuf_codec, an_event_value_json_cannot_hold_names_its_event) {
  v1::EventsRequest msg;
  msg.add_events();
  auto* e = msg.add_events();
  (*e->mutable_metrics()->mutable_fields())["latency_ms"].set_number_value(INFINITY);
  EXPECT_EQ(fault_of([&] { decode_events_request(msg.SerializeAsString()); }),
            "events[1].metrics.latency_ms");
}

TEST(protobuf_codec, an_assign_answer_is_its_json_in_the_schema) {
  auto text = R"({"assignments":[{"experiment_id":"11111111-1111-4111-8111-111111111111",
    "experiment_name":"planner_policy_exp","variant_id":"22222222-2222-4222-8222-222222222222",
    "variant_name":"leftovers_v2",
    "config":{"policy_version_id":"uuid-v2","params":{"exploration_rate":0.2,"steps":[1,2]}}}]})";
  auto bytes = encode_assign_reply(text);
  ASSERT_TRUE(bytes);
  v1::AssignResponse msg;
  ASSERT_TRUE(msg.ParseFromString(*bytes));
  ASSERT_EQ(msg.assignments_size(), 1);
  auto& a = msg.assignments(0);
  EXPECT_EQ(a.experiment_id(), "11111111-1111-4111-8111-111111111111");
  EXPECT_EQ(a.experiment_name(), "planner_policy_exp");
  EXPECT_EQ(a.variant_id(), "22222222-2222-4222-8222-222222222222");
  EXPECT_EQ(a.variant_name(), "leftovers_v2");
  auto& params = a.config().fields().at("params").struct_value().fields();
  EXPECT_EQ(a.config().fields().at("policy_version_id").string_value(), "uuid-v2");
  EXPECT_DOUBLE_EQ(params.at("exploration_rate").number_value(), 0.2);
  EXPECT_EQ(params.at("steps").list_value().values_size(), 2);

  auto empty = encode_assign_reply(R"({"assignments":[]})");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
}

TEST(protobuf_codec, an_events_answer_is_its_json_in_the_schema) {
  auto bytes = encode_events_reply(
    R"({"accepted":2,"rejected":[{"index":1,"field":"metrics.latency_ms","code":"invalid_field","message":"m"}]})");
  ASSERT_TRUE(bytes);
  v1::EventsResponse msg;
  ASSERT_TRUE(msg.ParseFromString(*bytes));
  EXPECT_EQ(msg.accepted(), 2u);
  ASSERT_EQ(msg.rejected_size(), 1);
  EXPECT_EQ(msg.rejected(0).index(), 1u);
  EXPECT_EQ(msg.rejected(0).field(), "metrics.latency_ms");
  EXPECT_EQ(msg.rejected(0).code(), "invalid_field");
  EXPECT_EQ(msg.rejected(0).message(), "m");
}

TEST(protobuf_codec, an_answer_that_does_not_fit_the_schema_is_not_encoded) {
  EXPECT_FALSE(encode_assign_reply(R"({"assignments":5})"));
  EXPECT_FALSE(encode_events_reply("not json"));
  // A field the schema does not know yet is left out, not a failure.
  EXPECT_TRUE(encode_events_reply(R"({"accepted":1,"rejected":[],"later":1})"));
}
