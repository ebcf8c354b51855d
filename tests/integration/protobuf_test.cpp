// POST /v1/assign and /v1/events in protobuf against a real expd and PostgreSQL: the
// same answers as the same requests in JSON, in every mix of body and Accept, and the
// malformed bodies answered 4xx in JSON naming the field.
#include <gtest/gtest.h>

#include <google/protobuf/util/json_util.h>

#include "messages/assign.pb.h"
#include "messages/events.pb.h"
#include "tests/integration/event_helpers.hpp"
#include "tests/integration/expd_process.hpp"

using namespace expd::testing;
using nlohmann::json;
namespace v1 = expd::v1;

namespace {

constexpr const char* protobuf = "application/x-protobuf";

http_reply exchange(const expd_process& node, const std::string& path, const std::string& body,
                    const std::string& content_type, const std::string& accept = "") {
  std::string req = "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  if (!content_type.empty())
    req += "Content-Type: " + content_type + "\r\n";
  if (!accept.empty())
    req += "Accept: " + accept + "\r\n";
  req += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  auto replies = parse_replies(raw_exchange(node.port(), req));
  return replies.empty() ? http_reply{} : replies.front();
}

std::string content_type_of(const http_reply& reply) {
  auto at = reply.headers.find("Content-Type: ");
  if (at == std::string::npos)
    return "";
  at += 14;
  return reply.headers.substr(at, reply.headers.find("\r\n", at) - at);
}

template <class Message>
std::string to_wire(const json& proto_json) {
  Message msg;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(proto_json.dump(), &msg).ok())
    << proto_json;
  return msg.SerializeAsString();
}

// The answer in protobuf, as JSON of the JSON API's shape, to compare with it.
template <class Message>
json from_wire(const http_reply& reply) {
  EXPECT_EQ(content_type_of(reply), protobuf) << reply.headers;
  Message msg;
  EXPECT_TRUE(msg.ParseFromString(reply.body));
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string text;
  EXPECT_TRUE(google::protobuf::util::MessageToJsonString(msg, &text, options).ok());
  return json::parse(text);
}

// A JSON API event in events.proto's JSON form: its experiments in their own message.
json proto_event(json e) {
  if (e.contains("experiments"))
    e["experiments"] = {{"experiments", e["experiments"]}};
  return e;
}

std::string events_wire(const json& events) {
  json batch = json::array();
  for (auto& e : events)
    batch.push_back(proto_event(e));
  return to_wire<v1::EventsRequest>({{"events", batch}});
}

// The fields of an error answer, which stays JSON whatever the client accepts.
json error_of(const http_reply& reply) {
  EXPECT_EQ(content_type_of(reply), "application/json") << reply.headers;
  return reply.json()["error"];
}

} // namespace

TEST(protobuf, assign_answers_the_same_variants_in_every_mix_of_body_and_accept) {
  scratch_database db;
  expd_process node{db};
  prepare(node);
  ASSERT_EQ(node.set_status("planner_policy_exp", "running").status, 200);
  for (int i = 0; i < 20; ++i) {
    json request = {{"unit_type", "user"},
                    {"unit_id", "pb-user-" + std::to_string(i)},
                    {"context", {{"app_version", "1.2.3"}, {"n", i}}}};
    if (i % 2 == 1)
      request["requested_experiments"] = {"planner_policy_exp"};
    auto in_json = exchange(node, "/v1/assign", request.dump(), "application/json");
    ASSERT_EQ(in_json.status, 200) << in_json.body;
    auto expected = in_json.json();
    ASSERT_EQ(expected["assignments"].size(), 1u) << expected;

    json proto_request = request;
    if (request.contains("requested_experiments"))
      proto_request["requested_experiments"] = {{"experiments", request["requested_experiments"]}};
    auto wire = to_wire<v1::AssignRequest>(proto_request);
    auto both = exchange(node, "/v1/assign", wire, protobuf, protobuf);
    auto json_in = exchange(node, "/v1/assign", request.dump(), "", protobuf);
    auto proto_in = exchange(node, "/v1/assign", wire, protobuf, "application/json");
    for (auto* reply : {&both, &json_in}) {
      ASSERT_EQ(reply->status, 200) << reply->body;
      auto got = from_wire<v1::AssignResponse>(*reply);
      ASSERT_EQ(got["assignments"].size(), 1u) << got;
      auto& a = got["assignments"][0];
      auto& e = expected["assignments"][0];
      for (auto key : {"experiment_id", "experiment_name", "variant_id", "variant_name"})
        EXPECT_EQ(a[key], e[key]) << key;
      EXPECT_EQ(a["config"], e["config"]); // numbers compare as numbers: 2 == 2.0
    }
    ASSERT_EQ(proto_in.status, 200) << proto_in.body;
    EXPECT_EQ(content_type_of(proto_in), "application/json");
    EXPECT_EQ(proto_in.json(), expected);
  }
  // Asking for none (an empty list) answers none, as [] does in JSON.
  auto none = exchange(node, "/v1/assign",
                       to_wire<v1::AssignRequest>({{"unit_type", "user"},
                                                   {"unit_id", "pb-user-1"},
                                                   {"requested_experiments", json::object()}}),
                       protobuf, protobuf);
  ASSERT_EQ(none.status, 200) << none.body;
  EXPECT_TRUE(none.body.empty()); // an AssignResponse without assignments
  EXPECT_EQ(node.assign({{"unit_type", "user"}, {"unit_id", "pb-user-1"},
                         {"requested_experiments", json::array()}}).json()["assignments"].size(),
            0u);
}

TEST(protobuf, events_are_accepted_and_refused_as_the_same_events_in_json) {
  scratch_database db;
  expd_process node{db};
  auto x = prepare(node);
  ASSERT_EQ(node.set_status("planner_policy_exp", "running").status, 200);
  for (auto unit : {"j6", "p6", "q6", "r6"}) // so that their bare events get the variant
    ASSERT_EQ(node.assign({{"unit_type", "user"}, {"unit_id", unit}}).status, 200);
  auto batch = [&](const std::string& prefix) {
    auto wrong_variant = event(x, prefix + "2");
    wrong_variant["experiments"][0]["variant_id"] = "00000000-0000-4000-8000-000000000000";
    auto bad_metric = event(x, prefix + "4");
    bad_metric["metrics"] = {{"latency_ms", "slow"}};
    auto no_unit = event(x, "");
    no_unit.erase("unit_id");
    auto bare = event(x, prefix + "6");
    bare.erase("experiments");
    auto none = event(x, prefix + "7");
    none["experiments"] = json::array();
    return json{event(x, prefix + "1"), wrong_variant, event(x, prefix + "3"), bad_metric,
                no_unit, bare, none};
  };
  auto in_json = post(node, {{"events", batch("j")}});
  ASSERT_EQ(in_json.status, 200) << in_json.body;
  auto expected = in_json.json();
  EXPECT_EQ(expected["accepted"], 4);

  auto both = exchange(node, "/v1/events", events_wire(batch("p")), protobuf, protobuf);
  ASSERT_EQ(both.status, 200) << both.body;
  auto got = from_wire<v1::EventsResponse>(both);
  EXPECT_EQ(got["accepted"], expected["accepted"]);
  ASSERT_EQ(got["rejected"].size(), expected["rejected"].size()) << got;
  for (std::size_t i = 0; i < got["rejected"].size(); ++i)
    for (auto key : {"index", "field", "code"})
      EXPECT_EQ(got["rejected"][i][key], expected["rejected"][i][key]) << i << key;

  auto json_in = exchange(node, "/v1/events", json{{"events", batch("q")}}.dump(), "", protobuf);
  ASSERT_EQ(json_in.status, 200) << json_in.body;
  EXPECT_EQ(from_wire<v1::EventsResponse>(json_in)["accepted"], 4);
  auto proto_in = exchange(node, "/v1/events", events_wire(batch("r")), protobuf);
  ASSERT_EQ(proto_in.status, 200) << proto_in.body;
  EXPECT_EQ(content_type_of(proto_in), "application/json");
  EXPECT_EQ(proto_in.json()["rejected"], expected["rejected"]);

  ASSERT_TRUE(eventually([&] { return stored(db) == "16"; })) << stored(db);
  // "experiments" absent and empty differ in protobuf as in JSON; context and metrics
  // are stored as the JSON client's.
  EXPECT_EQ(db.scalar("SELECT string_agg(unit_id || ':' || cardinality(experiment_ids) || ':'"
                      " || (metrics->>'latency_ms')::float8 || ':' || (context->>'policy_version_id'),"
                      " ' ' ORDER BY unit_id) FROM exp.events WHERE unit_id LIKE '_6'"
                      " OR unit_id LIKE '_7'"),
            "j6:1:450:uuid-v1 j7:0:450:uuid-v1 p6:1:450:uuid-v1 p7:0:450:uuid-v1 "
            "q6:1:450:uuid-v1 q7:0:450:uuid-v1 r6:1:450:uuid-v1 r7:0:450:uuid-v1");

  // Every event refused: the same 400 in JSON, with the list, whatever was accepted.
  auto all_bad = json::array({batch("s")[1], batch("s")[3]});
  auto refused_json = post(node, {{"events", all_bad}});
  auto refused_proto = exchange(node, "/v1/events", events_wire(all_bad), protobuf, protobuf);
  EXPECT_EQ(refused_proto.status, 400);
  EXPECT_EQ(refused_proto.json(), refused_json.json());
  EXPECT_EQ(error_of(refused_proto)["field"], "events[0].experiments[0].variant_id");
}

TEST(protobuf, malformed_bodies_are_4xx_json_naming_the_field_and_the_node_serves_on) {
  scratch_database db;
  expd_process node{db, {"--max-body-bytes=65536"}};
  prepare(node);
  ASSERT_EQ(node.set_status("planner_policy_exp", "running").status, 200);
  auto expect_error = [&](const http_reply& reply, int status, const std::string& code,
                          const std::string& field) {
    EXPECT_EQ(reply.status, status) << reply.body;
    auto error = error_of(reply);
    EXPECT_EQ(error["code"], code) << reply.body;
    EXPECT_EQ(error["field"], field) << reply.body;
  };
  auto good = to_wire<v1::AssignRequest>({{"unit_type", "user"}, {"unit_id", "a-long-unit-id"}});
  for (auto path : {"/v1/assign", "/v1/events"}) {
    expect_error(exchange(node, path, "\xff\xff\xff\xff", protobuf, protobuf), 400,
                 "invalid_protobuf", "body");
    expect_error(exchange(node, path, good.substr(0, good.size() - 3), protobuf, protobuf), 400,
                 "invalid_protobuf", "body");
    expect_error(exchange(node, path, good, "text/plain", protobuf), 415,
                 "unsupported_media_type", "Content-Type");
  }
  expect_error(exchange(node, "/v1/assign", to_wire<v1::AssignRequest>({{"unit_type", "user"}}),
                        protobuf, protobuf),
               400, "invalid_field", "unit_id");
  expect_error(exchange(node, "/v1/assign", "", protobuf, protobuf), 400, "invalid_field",
               "unit_type");
  // unit_id (2) as a varint: a field of the wrong type is absent, so unit_id is missing.
  expect_error(exchange(node, "/v1/assign", std::string{"\x0a\x04user\x10\x01", 8}, protobuf),
               400, "invalid_field", "unit_id");
  expect_error(exchange(node, "/v1/assign",
                        to_wire<v1::AssignRequest>({{"unit_type", "user"},
                                                    {"unit_id", "u"},
                                                    {"requested_experiments",
                                                     {{"experiments", {"no_such"}}}}}),
                        protobuf, protobuf),
               400, "unknown_experiment", "requested_experiments[0]");
  expect_error(exchange(node, "/v1/events", "", protobuf, protobuf), 400, "invalid_field",
               "events");
  expect_error(exchange(node, "/v1/events", events_wire(json::array({json{{"unit_id", "u"}}})), protobuf, protobuf),
               400, "invalid_event", "events[0].event_type");
  // A body over the limit is refused by the HTTP layer before any decoding.
  auto big = to_wire<v1::AssignRequest>(
    {{"unit_type", "user"}, {"unit_id", "u"}, {"context", {{"pad", std::string(70000, 'x')}}}});
  EXPECT_EQ(exchange(node, "/v1/assign", big, protobuf, protobuf).status, 413);
  EXPECT_EQ(node.request("GET", "/health").status, 200);
}
