#include <gtest/gtest.h>

#include "core/assign_request.hpp"
#include "core/field_error.hpp"
#include "core/json_parse.hpp"

using namespace expd::core;

namespace {

// What a body gives: the request's fields, or the error's field and message, or "not JSON".
std::string outcome(const std::optional<assign_request>& req) {
  if (!req)
    return "not JSON";
  std::string out = req->unit_type + "|" + req->unit_id + "|" + req->context.dump() + "|"
                    + (req->all ? "all" : "list");
  for (auto& name : req->requested)
    out += "|" + name;
  return out;
}

template <class F>
std::string outcome_of(F parse) {
  try {
    return outcome(parse());
  } catch (const field_error& e) {
    return "error " + e.field() + ": " + e.what();
  }
}

} // namespace

// The fast path for the usual body must answer every body as the general path does.
TEST(assign_request, a_body_reads_as_parse_json_then_parse_assign_request) {
  const char* bodies[] = {
    R"({"unit_type":"user","unit_id":"u1","context":{"app_version":"1.2.3"},"requested_experiments":["a","b"]})",
    R"({"unit_id":"u1","unit_type":"user"})",
    R"({"unit_type":"user","unit_id":"u1","context":null,"requested_experiments":null})",
    R"({"unit_type":"user","unit_id":"u1","requested_experiments":[]})",
    R"({"unit_type":"user","unit_id":"u1","extra":{"x":1,"x":2}})",
    R"({"unit_type":"user","unit_id":"u1","unit_id":"u2"})",
    R"({"unit_type":"user","unit_id":"u1","context":{"a":1,"a":2}})",
    R"({"unit_type":"user","unit_id":5,"context":{"a":{"b":1,"b":2}}})",
    R"({"unit_type":"user","unit_id":""})",
    R"({"unit_type":"user","unit_id":"a\u0001b"})",
    R"({"unit_type":"user","unit_id":"u1","context":[1]})",
    R"({"unit_type":"user","unit_id":"u1","requested_experiments":["a",""]})",
    R"({"unit_type":"user","unit_id":"u1","requested_experiments":["a",{"b":1}]})",
    R"({"unit_type":"user","unit_id":"u1","context":{"n":123456789012345678901234567890}})",
    R"({"unit_type":"user"})",
    R"({"unit_type":null,"unit_id":"u1"})",
    R"(["unit_type"])",
    R"({"unit_type":"user","unit_id":"u1")",
    "",
  };
  for (const char* body : bodies) {
    auto general = outcome_of([&]() -> std::optional<assign_request> {
      auto doc = parse_json(body);
      if (doc.is_discarded())
        return std::nullopt;
      return parse_assign_request(std::move(doc));
    });
    EXPECT_EQ(outcome_of([&] { return parse_assign_body(body); }), general) << body;
  }
  std::string many = R"({"unit_type":"user","unit_id":"u1","requested_experiments":[)";
  for (int i = 0; i < 101; ++i)
    many += (i > 0 ? ",\"e" : "\"e") + std::to_string(i) + "\"";
  many += "]}";
  EXPECT_EQ(outcome_of([&] { return parse_assign_body(many); }),
            "error requested_experiments: more than 100 experiments");
  EXPECT_EQ(outcome_of([&] { return parse_assign_body(std::string(600, 'x')); }), "not JSON");
}
