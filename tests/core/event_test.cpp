#include <gtest/gtest.h>

#include <cctype>
#include <iterator>
#include <limits>
#include <optional>
#include <random>

#include "core/event.hpp"
#include "core/field_error.hpp"
#include "tests/support/event_catalog.hpp"

using namespace expd::core;
using namespace expd::test;
using nlohmann::json;

namespace {

json example() {
  return json::parse(R"({"event_type":"plan_generated","unit_type":"user","unit_id":"user-123",
    "experiments":[{"experiment_id":"0f8fad5b-d9cb-469f-a165-70867728950e",
                    "variant_id":"16fd2706-8baf-433b-82eb-8c7fada847da"}],
    "context":{"policy_version_id":"pv-7"},"metrics":{"latency_ms":450},
    "timestamp":"2025-01-01T10:00:00Z"})");
}

valid_event validate(const json& event, const event_limits& limits = {}) {
  return validate_event(event, catalog(), received, new_id, limits);
}

// Why validate_event refuses `event`: {field, message}, or {"no error", ""}.
std::pair<std::string, std::string> refusal_of(const json& event,
                                               const event_limits& limits = {}) {
  try {
    validate(event, limits);
    return {"no error", ""};
  } catch (const field_error& e) {
    return {e.field(), e.what()};
  }
}

std::string fault_of(const json& event, const event_limits& limits = {}) {
  return refusal_of(event, limits).first;
}

// example() with member `key` set to `value`, or erased for a discarded json.
json example_with(const std::string& key, const json& value) {
  auto event = example();
  if (value.is_discarded())
    event.erase(key);
  else
    event[key] = value;
  return event;
}

std::string fault_with(const std::string& key, const json& value,
                       const event_limits& limits = {}) {
  return fault_of(example_with(key, value), limits);
}

std::string message_with(const std::string& key, const json& value) {
  return refusal_of(example_with(key, value)).second;
}

const json absent = json::value_t::discarded;
const double infinity = std::numeric_limits<double>::infinity();

std::string at(unix_micros t) {
  return format_rfc3339(t);
}

// A column of PostgreSQL's COPY text format; nullopt is NULL.
using copy_column = std::optional<std::string>;

// Decodes COPY FROM text format per PostgreSQL 15's documentation (sql-copy.html, "Text
// Format"), independently of the encoder: rows end at a newline, a carriage return or
// both; columns at a tab; a column that is exactly \N is NULL; a line that is exactly
// \. ends the data; a backslash and the character after it are one unit when splitting.
// Inside a column \b \f \n \r \t \v are the control characters, \ and 1-3 octal digits or
// x and 1-2 hex digits a byte, and a backslash before anything else that character.
std::vector<std::vector<copy_column>> decode_copy(std::string_view data) {
  auto unescape = [](std::string_view raw) -> copy_column {
    if (raw == "\\N")
      return std::nullopt;
    std::string out;
    for (std::size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] != '\\' || i + 1 == raw.size()) {
        out += raw[i];
        continue;
      }
      char c = raw[++i];
      auto octal = [](char d) { return d >= '0' && d <= '7'; };
      auto hex = [](char d) { return std::isxdigit(static_cast<unsigned char>(d)) != 0; };
      if (std::string_view("bfnrtv").find(c) != std::string_view::npos) {
        out += "\b\f\n\r\t\v"[std::string_view("bfnrtv").find(c)];
      } else if (octal(c)) {
        int value = c - '0';
        for (int n = 1; n < 3 && i + 1 < raw.size() && octal(raw[i + 1]); ++n)
          value = value * 8 + (raw[++i] - '0');
        out += static_cast<char>(value);
      } else if (c == 'x' && i + 1 < raw.size() && hex(raw[i + 1])) {
        int value = 0;
        for (int n = 0; n < 2 && i + 1 < raw.size() && hex(raw[i + 1]); ++n)
          value = value * 16 + std::stoi(std::string(1, raw[++i]), nullptr, 16);
        out += static_cast<char>(value);
      } else {
        out += c;
      }
    }
    return out;
  };
  std::vector<std::vector<copy_column>> rows;
  std::vector<copy_column> row;
  std::string raw;
  for (std::size_t i = 0; i < data.size(); ++i) {
    char c = data[i];
    if (c == '\\' && i + 1 < data.size()) {
      raw += c;
      raw += data[++i];
    } else if (c == '\t') {
      row.push_back(unescape(raw));
      raw.clear();
    } else if (c == '\n' || c == '\r') {
      if (row.empty() && raw == "\\.")
        return rows;
      row.push_back(unescape(raw));
      rows.push_back(std::move(row));
      row.clear();
      raw.clear();
      if (c == '\r' && i + 1 < data.size() && data[i + 1] == '\n')
        ++i;
    } else {
      raw += c;
    }
  }
  EXPECT_TRUE(raw.empty() && row.empty()) << "the data does not end with a row";
  return rows;
}

} // namespace

TEST(event, accepts_the_product_example) {
  auto e = validate(example());
  EXPECT_EQ(e.event_id, new_id);
  EXPECT_FALSE(e.client_event_id);
  EXPECT_EQ(e.occurred_at, *parse_rfc3339("2025-01-01T10:00:00Z"));
  EXPECT_EQ(e.received_at, received);
  EXPECT_EQ(e.event_type, "plan_generated");
  EXPECT_EQ(e.unit_type, "user");
  EXPECT_EQ(e.unit_id, "user-123");
  ASSERT_EQ(e.experiments.size(), 1u);
  EXPECT_EQ(e.experiments[0].first, planner);
  EXPECT_EQ(e.experiments[0].second, treatment);
  EXPECT_TRUE(e.experiments_sent);
  EXPECT_EQ(e.context_json, R"({"policy_version_id":"pv-7"})");
  EXPECT_EQ(e.metrics_json, R"({"latency_ms":450})");
}

TEST(event, optional_members_may_be_absent_or_null) {
  auto event = example();
  for (auto key : {"experiments", "context", "metrics", "event_id"})
    event.erase(key);
  auto e = validate(event);
  EXPECT_TRUE(e.experiments.empty());
  EXPECT_FALSE(e.experiments_sent); // ingestion attaches the unit's variants
  EXPECT_EQ(e.context_json, "{}");
  EXPECT_EQ(e.metrics_json, "{}");
  for (auto key : {"experiments", "context", "metrics", "event_id"})
    event[key] = nullptr;
  EXPECT_EQ(fault_of(event), "no error");
  EXPECT_FALSE(validate(event).experiments_sent);
  event["event_type"] = "checkout";
  event["experiments"] = json::array();
  EXPECT_EQ(fault_of(event), "no error");
  EXPECT_TRUE(validate(event).experiments_sent); // explicitly none: nothing attached
}

TEST(event, takes_upper_case_uuids_and_the_clients_event_id) {
  auto event = example();
  event["event_id"] = "0F8FAD5B-D9CB-469F-A165-70867728950F";
  event["experiments"] = {{{"experiment_id", "0F8FAD5B-D9CB-469F-A165-70867728950E"},
                           {"variant_id", "7C9E6679-7425-40DE-944B-E07FC1F90AE7"}},
                          {{"experiment_id", onboarding.str()},
                           {"variant_id", onboarding_variant.str()}}};
  auto e = validate(event);
  EXPECT_TRUE(e.client_event_id);
  EXPECT_EQ(e.event_id.str(), "0f8fad5b-d9cb-469f-a165-70867728950f");
  ASSERT_EQ(e.experiments.size(), 2u);
  EXPECT_EQ(e.experiments[0], std::make_pair(planner, control));
  EXPECT_EQ(e.experiments[1], std::make_pair(onboarding, onboarding_variant));
}

TEST(event, refuses_what_is_not_an_event_object) {
  EXPECT_EQ(fault_of(json::array()), "");
  EXPECT_EQ(fault_of(json("event")), "");
  EXPECT_EQ(fault_of(json(nullptr)), "");
  EXPECT_EQ(fault_with("eventtype", "plan_generated"), "eventtype");
  EXPECT_EQ(fault_with("user_id", "u"), "user_id");
}

TEST(event, event_type_must_be_declared) {
  for (json bad : {absent, json(nullptr), json(5), json(""), json("page_view"),
                   json("Plan_generated"), json("has space"), json(std::string(129, 'a')),
                   json(std::string("plan_generated\0", 15)), json({"plan_generated"})})
    EXPECT_EQ(fault_with("event_type", bad), "event_type") << bad;
  EXPECT_EQ(message_with("event_type", "page_view"),
            "unknown event type \"page_view\"; event types are declared in event_types.yml");
  EXPECT_EQ(fault_with("event_type", "checkout"), "metrics.latency_ms"); // declares none
}

TEST(event, unit_type_and_unit_id_are_text_postgresql_can_store) {
  for (const char* key : {"unit_type", "unit_id"}) {
    for (json bad : {absent, json(nullptr), json(5), json(true), json(""), json::object(),
                     json(std::string("user\0", 5)), json(std::string("\0", 1)),
                     json("a\tb"), json("a\nb"), json("a\rb"), json("\x1b[31m"), json("\x7f"),
                     json("\xc2\x85"), json("\xc2\x9f")})
      EXPECT_EQ(fault_with(key, bad), key) << key << " " << bad.dump(-1, ' ', true);
    // Only code can build a json string that is not UTF-8; the parser refuses it.
    for (const char* invalid : {"\xff", "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80",
                                "\xf4\x90\x80\x80", "caf\xc3", "\x80"})
      EXPECT_EQ(fault_with(key, std::string(invalid)), key) << key;
    for (json good : {json("a"), json("user 123"), json("ユーザー"), json("😀"),
                      json("\xc2\xa0nbsp"), json("quote\"back\\slash")})
      EXPECT_EQ(fault_with(key, good), "no error") << key << " " << good;
  }
  EXPECT_EQ(fault_with("unit_type", std::string(64, 't')), "no error");
  EXPECT_EQ(fault_with("unit_type", std::string(65, 't')), "unit_type");
  EXPECT_EQ(fault_with("unit_id", std::string(256, 'u')), "no error");
  EXPECT_EQ(fault_with("unit_id", std::string(257, 'u')), "unit_id");
  EXPECT_EQ(fault_with("unit_id", std::string(1 << 20, 'u')), "unit_id");
  EXPECT_EQ(fault_with("unit_id", "u", {64, 0}), "unit_id");
  EXPECT_EQ(message_with("unit_id", std::string("a\0b", 3)),
            "unit_id contains a NUL character (\\u0000), which cannot be stored");
}

TEST(event, timestamp_is_rfc_3339_within_the_window) {
  for (json bad : {absent, json(nullptr), json(1735725600), json(""), json("yesterday"),
                   json("2025-01-01T10:00:00"), json("2025-01-01"), json("2025-02-29T10:00:00Z"),
                   json({{"seconds", 1}})})
    EXPECT_EQ(fault_with("timestamp", bad), "timestamp") << bad;

  const event_limits limits;
  EXPECT_EQ(fault_with("timestamp", at(received - limits.max_past)), "no error");
  EXPECT_EQ(fault_with("timestamp", at(received - limits.max_past - 1)), "timestamp");
  EXPECT_EQ(fault_with("timestamp", at(received + limits.max_future)), "no error");
  EXPECT_EQ(fault_with("timestamp", at(received + limits.max_future + 1)), "timestamp");
  EXPECT_EQ(fault_with("timestamp", "0001-01-01T00:00:00Z"), "timestamp");
  EXPECT_EQ(fault_with("timestamp", "9999-12-31T23:59:59Z"), "timestamp");
  EXPECT_EQ(fault_with("timestamp", "2025-01-01T12:00:00+02:00"), "no error");

  EXPECT_EQ(message_with("timestamp", "2024-12-23T10:00:01Z"),
            "timestamp is 9 days old; events older than 7 days are refused");
  EXPECT_EQ(message_with("timestamp", "2024-12-25T07:30:00Z"),
            "timestamp is 7 days 2 hours old; events older than 7 days are refused");
  EXPECT_EQ(message_with("timestamp", at(received - limits.max_past - 1)),
            "timestamp is 7 days 1 second old; events older than 7 days are refused");
  EXPECT_EQ(message_with("timestamp", "2025-01-01T10:06:31Z"),
            "timestamp is 6 minutes 30 seconds ahead of the server's clock; events more than "
            "5 minutes ahead are refused");
  EXPECT_EQ(message_with("timestamp", "2025-01-01"),
            "timestamp must be an RFC 3339 date-time with a time zone, such as "
            "2025-01-01T10:00:00Z");
}

TEST(event, event_id_is_a_uuid_other_than_nil) {
  for (json bad : {json(5), json(""), json("not-a-uuid"), json("0f8fad5b-d9cb-469f-a165"),
                   json("{0f8fad5b-d9cb-469f-a165-70867728950e}"),
                   json("00000000-0000-0000-0000-000000000000"), json::array()})
    EXPECT_EQ(fault_with("event_id", bad), "event_id") << bad;
}

TEST(event, experiments_name_existing_experiments_and_their_own_variants) {
  auto with_refs = [](json refs) { return fault_with("experiments", refs); };
  auto ref = [](const std::string& e, const std::string& v) {
    return json{{"experiment_id", e}, {"variant_id", v}};
  };
  const auto p = planner.str(), c = control.str(), t = treatment.str();
  EXPECT_EQ(with_refs(json::object()), "experiments");
  EXPECT_EQ(with_refs(ref(p, c)), "experiments");
  EXPECT_EQ(with_refs("planner_policy_exp"), "experiments");
  EXPECT_EQ(with_refs({ref(p, c), "x"}), "experiments[1]");
  EXPECT_EQ(with_refs({p}), "experiments[0]");

  auto extra = ref(p, c);
  extra["variant"] = "control";
  EXPECT_EQ(with_refs({extra}), "experiments[0].variant");
  auto missing = ref(p, c);
  missing.erase("experiment_id");
  EXPECT_EQ(with_refs({missing}), "experiments[0].experiment_id");
  missing = ref(p, c);
  missing.erase("variant_id");
  EXPECT_EQ(with_refs({missing}), "experiments[0].variant_id");

  EXPECT_EQ(with_refs({ref("0f8fad5b", c)}), "experiments[0].experiment_id");
  EXPECT_EQ(with_refs({{{"experiment_id", 7}, {"variant_id", c}}}), "experiments[0].experiment_id");
  EXPECT_EQ(with_refs({ref("planner_policy_exp", c)}), "experiments[0].experiment_id");
  EXPECT_EQ(with_refs({ref(new_id.str(), c)}), "experiments[0].experiment_id");
  EXPECT_EQ(with_refs({ref(lookalike_name, new_id.str())}), "experiments[0].experiment_id");
  EXPECT_EQ(with_refs({ref(lookalike.str(), new_id.str())}), "no error");
  EXPECT_EQ(with_refs({ref(p, c), ref(onboarding.str(), onboarding_variant.str()), ref(p, t)}),
            "experiments[2].experiment_id");

  EXPECT_EQ(with_refs({ref(p, "control")}), "experiments[0].variant_id");
  EXPECT_EQ(with_refs({{{"experiment_id", p}, {"variant_id", nullptr}}}),
            "experiments[0].variant_id");
  EXPECT_EQ(with_refs({ref(p, onboarding_variant.str())}), "experiments[0].variant_id");
  EXPECT_EQ(with_refs({ref(p, p)}), "experiments[0].variant_id");

  event_limits one;
  one.max_experiments = 1;
  EXPECT_EQ(fault_with("experiments", {ref(p, c), ref(onboarding.str(), onboarding_variant.str())},
                       one),
            "experiments");
}

TEST(event, context_is_an_object_jsonb_can_store) {
  for (json bad : {json(5), json("ctx"), json::array(), json(true)})
    EXPECT_EQ(fault_with("context", bad), "context") << bad;

  auto context_fault = [](const char* text) { return fault_with("context", json::parse(text)); };
  EXPECT_EQ(context_fault(R"({"note":"a\u0000b"})"), "context.note");
  EXPECT_EQ(context_fault(R"({"a":[1,{"b":"\u0000"}]})"), "context.a[1].b");
  EXPECT_EQ(context_fault(R"({"a":{"k\u0000":1}})"), "context.a");
  EXPECT_EQ(context_fault(R"({"\u0000":1})"), "context");
  EXPECT_EQ(context_fault(R"({"tab":"\t","nl":"\n","ctl":"\u0001","q":"\"\\","u":"\u2028😀"})"),
            "no error");

  EXPECT_EQ(fault_with("context", {{"x", infinity}}), "context.x");
  EXPECT_EQ(fault_with("context", {{"x", {1, -infinity}}}), "context.x[1]");
  EXPECT_EQ(fault_with("context", {{"x", std::numeric_limits<double>::quiet_NaN()}}),
            "context.x");
  EXPECT_EQ(fault_with("context", {{"s", std::string("\xff")}}), "context.s");
  EXPECT_EQ(fault_with("context", {{std::string("k\xff"), 1}}), "context");
}

TEST(event, context_size_is_bounded_whatever_its_shape) {
  event_limits limits;
  auto padding = std::string(limits.max_context_bytes - 8, 'x'); // {"p":"..."} is 8 more
  EXPECT_EQ(fault_with("context", {{"p", padding}}), "no error");
  EXPECT_EQ(fault_with("context", {{"p", padding + "x"}}), "context");
  EXPECT_EQ(fault_with("context", {{"p", std::string(1 << 20, 'x')}}), "context");
  // Escapes count as sent: 2000 newlines are 4000 bytes.
  EXPECT_EQ(fault_with("context", {{"p", std::string(2000, '\n')}}, {64, 256, 64, 64, 4000}),
            "context");

  // As deep as the gateway lets a body nest (64), with `bottom` innermost.
  auto nested = [](const std::string& bottom) {
    return json::parse("{\"d\":" + std::string(62, '[') + json(bottom).dump()
                       + std::string(62, ']') + "}");
  };
  EXPECT_EQ(fault_with("context", nested(std::string(1000, 'x'))), "no error");
  EXPECT_EQ(fault_with("context", nested(std::string(limits.max_context_bytes, 'x'))),
            "context");
  std::string deepest = "context.d";
  for (int i = 0; i < 62; ++i)
    deepest += "[0]";
  EXPECT_EQ(fault_with("context", nested(std::string("\0", 1))), deepest);
  json wide = json::object();
  for (int i = 0; i < 5000; ++i)
    wide["k" + std::to_string(i)] = i;
  EXPECT_EQ(fault_with("context", wide), "context");
}

TEST(event, metrics_follow_the_declared_kinds_and_bounds) {
  auto metric = [](const std::string& name, json value) {
    return fault_with("metrics", {{name, value}});
  };
  for (json bad : {json(5), json("m"), json::array(), json({1, 2})})
    EXPECT_EQ(fault_with("metrics", bad), "metrics") << bad;
  EXPECT_EQ(metric("latency", 1), "metrics.latency");
  EXPECT_EQ(metric("Latency_ms", 1), "metrics.Latency_ms");
  EXPECT_EQ(fault_with("metrics", {{"latency_ms", 1}, {"accepted", true}}, {64, 256, 64, 1}),
            "metrics");

  for (json bad : {json("450"), json(true), json(nullptr), json::object(), json(infinity),
                   json(-infinity), json(std::numeric_limits<double>::quiet_NaN()), json(-1),
                   json(-0.001), json(60000.5), json(60001)})
    EXPECT_EQ(metric("latency_ms", bad), "metrics.latency_ms") << bad;
  for (json good : {json(0), json(0.0), json(-0.0), json(60000), json(450.25), json(1u)})
    EXPECT_EQ(metric("latency_ms", good), "no error") << good;
  EXPECT_EQ(metric("score", 1e308), "no error");
  EXPECT_EQ(metric("score", -1e-300), "no error");
  EXPECT_EQ(metric("score", 18446744073709551615u), "no error");

  for (json bad : {json(2.5), json(-0.5), json("3"), json(true), json(101), json(-6),
                   json(infinity)})
    EXPECT_EQ(metric("items", bad), "metrics.items") << bad;
  for (json good : {json(3), json(-5), json(100), json(2.0), json(-0.0), json(100u)})
    EXPECT_EQ(metric("items", good), "no error") << good;
  // Unbounded integers: 64-bit, and floats only where doubles still hold every integer.
  for (json bad : {json(1e300), json(-9007199254740994.0), json(18446744073709551615u),
                   json(9223372036854775808u)})
    EXPECT_EQ(metric("count", bad), "metrics.count") << bad;
  for (json good : {json(9007199254740992.0), json(-9007199254740992.0),
                    json(std::numeric_limits<std::int64_t>::min()),
                    json(std::numeric_limits<std::int64_t>::max()), json(9223372036854775807u)})
    EXPECT_EQ(metric("count", good), "no error") << good;

  for (json bad : {json(1), json(0), json("true"), json(nullptr), json::array()})
    EXPECT_EQ(metric("accepted", bad), "metrics.accepted") << bad;
  EXPECT_EQ(metric("accepted", false), "no error");
}

TEST(event, metrics_are_stored_canonically) {
  auto event = example();
  event["metrics"] = json::parse(R"({"score":-1.5e-7,"items":2.0,"accepted":true,
                                     "latency_ms":450.5})");
  EXPECT_EQ(validate(event).metrics_json,
            R"({"accepted":true,"items":2,"latency_ms":450.5,"score":-1.5e-07})");
  event["metrics"] = {{"items", -0.0}};
  EXPECT_EQ(validate(event).metrics_json, R"({"items":0})");
}

TEST(event, metric_messages_give_the_value_and_the_bound) {
  EXPECT_EQ(message_with("metrics", {{"latency_ms", -1}}), "latency_ms is -1, below the minimum 0");
  EXPECT_EQ(message_with("metrics", {{"latency_ms", 60000.5}}),
            "latency_ms is 60000.5, above the maximum 60000");
  EXPECT_EQ(message_with("metrics", {{"items", 2.5}}), "items must be a whole number");
  EXPECT_EQ(message_with("metrics", {{"count", 1e300}}),
            "count is too large to be exact as a float; send it as a JSON integer");
  EXPECT_EQ(message_with("metrics", {{"accepted", 1}}), "accepted must be true or false");
  EXPECT_EQ(message_with("metrics", {{"latency", 1}}),
            "event type plan_generated declares no metric \"latency\"");
}

TEST(event, json_parser_refuses_numbers_past_double_range) {
  // Non-finite numbers reach validate_event only from code; a client's 1e400 is refused
  // while parsing the body.
  EXPECT_THROW(json::parse(R"({"metrics":{"latency_ms":1e400}})"), json::out_of_range);
  EXPECT_THROW(json::parse(R"({"context":{"x":-1e400}})"), json::out_of_range);
}

TEST(event, copy_line_holds_the_columns_in_table_order) {
  auto event = example();
  event["experiments"].push_back({{"experiment_id", onboarding.str()},
                                  {"variant_id", onboarding_variant.str()}});
  std::string out;
  append_copy_line(out, validate(event));
  event.erase("experiments");
  event["event_id"] = "0f8fad5b-d9cb-469f-a165-70867728950f";
  append_copy_line(out, validate(event));

  auto rows = decode_copy(out);
  ASSERT_EQ(rows.size(), 2u);
  std::vector<copy_column> expected = {
    new_id.str(), "2025-01-01T10:00:00.000000Z", "2025-01-01T10:00:01.000000Z",
    "plan_generated", "user", "user-123",
    "{" + planner.str() + "," + onboarding.str() + "}",
    "{" + treatment.str() + "," + onboarding_variant.str() + "}",
    R"({"policy_version_id":"pv-7"})", R"({"latency_ms":450})"};
  EXPECT_EQ(rows[0], expected);
  EXPECT_EQ(rows[1][0], "0f8fad5b-d9cb-469f-a165-70867728950f");
  EXPECT_EQ(rows[1][6], "{}");
  EXPECT_EQ(rows[1][7], "{}");
}

TEST(event, copy_line_escapes_hostile_text) {
  const std::string hostile[] = {"\\N", "\\.", "\\", "a\tb", "line\nbreak", "cr\rlf\r\n", "\\t",
                                 "\\\\n", "\"quoted\" 'single'", "{a,b}", "é😀\xe2\x80\xa8",
                                 "\b\f\v\x01\x7f", "", "trailing\\"};
  std::mt19937_64 rng(99);
  std::vector<valid_event> events;
  for (int i = 0; i < 3000; ++i) {
    auto text = [&]() {
      if (i < 200) // hand-picked first, then random bytes
        return hostile[rng() % std::size(hostile)];
      std::string s;
      for (auto n = rng() % 24; n > 0; --n)
        s += static_cast<char>(1 + rng() % 255); // every byte but NUL
      return s;
    };
    valid_event e;
    e.event_id = {rng(), rng()};
    e.occurred_at = static_cast<unix_micros>(rng() % 253402300799000000ULL);
    e.received_at = e.occurred_at + 1;
    e.event_type = text();
    e.unit_type = text();
    e.unit_id = text();
    for (auto n = rng() % 3; n > 0; --n)
      e.experiments.push_back({{rng(), rng()}, {rng(), rng()}});
    e.context_json = text();
    e.metrics_json = text();
    events.push_back(std::move(e));
  }
  std::string out;
  for (auto& e : events)
    append_copy_line(out, e);

  auto rows = decode_copy(out);
  ASSERT_EQ(rows.size(), events.size());
  for (std::size_t i = 0; i < events.size(); ++i) {
    auto& e = events[i];
    std::vector<copy_column> expected = {e.event_id.str(), format_rfc3339(e.occurred_at),
                                         format_rfc3339(e.received_at), e.event_type,
                                         e.unit_type, e.unit_id};
    for (bool variants : {false, true}) {
      std::string list = "{";
      for (auto& [experiment_id, variant_id] : e.experiments)
        list += (list.size() > 1 ? "," : "") + (variants ? variant_id : experiment_id).str();
      expected.push_back(list + "}");
    }
    expected.push_back(e.context_json);
    expected.push_back(e.metrics_json);
    ASSERT_EQ(rows[i], expected) << "row " << i;
  }
}

TEST(event, copy_line_carries_context_json_unchanged) {
  auto context = json::parse(R"({"tab":"a\tb","nl":"x\ny","bs":"\\N","q":"\"'","u":"é😀",
                                 "ctl":"\u0001\u001f","n":[1.5,-2,null,true],"\\.":{}})");
  auto event = example();
  event["context"] = context;
  std::string out;
  append_copy_line(out, validate(event));
  EXPECT_EQ(out.find('\n'), out.size() - 1);
  EXPECT_EQ(out.find('\r'), std::string::npos);
  auto rows = decode_copy(out);
  ASSERT_EQ(rows.size(), 1u);
  ASSERT_EQ(rows[0].size(), 10u);
  ASSERT_TRUE(rows[0][8].has_value());
  EXPECT_EQ(json::parse(*rows[0][8]), context);
}

TEST(event, json_line_is_one_archive_record) {
  auto event = example();
  event["event_id"] = "0F8FAD5B-D9CB-469F-A165-70867728950F";
  std::string out;
  append_json_line(out, validate(event));
  EXPECT_EQ(out, R"({"event_id":"0f8fad5b-d9cb-469f-a165-70867728950f",)"
                 R"("event_type":"plan_generated","unit_type":"user","unit_id":"user-123",)"
                 R"("experiments":[{"experiment_id":"0f8fad5b-d9cb-469f-a165-70867728950e",)"
                 R"("variant_id":"16fd2706-8baf-433b-82eb-8c7fada847da"}],)"
                 R"("context":{"policy_version_id":"pv-7"},"metrics":{"latency_ms":450},)"
                 R"("timestamp":"2025-01-01T10:00:00.000000Z",)"
                 R"("received_at":"2025-01-01T10:00:01.000000Z"})"
                 "\n");

  event["unit_id"] = "quote\" back\\slash é";
  event["context"] = {{"nl", "a\nb\r\tc"}};
  event.erase("experiments");
  std::string line;
  append_json_line(line, validate(event));
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  auto back = json::parse(line);
  EXPECT_EQ(back["unit_id"], "quote\" back\\slash é");
  EXPECT_EQ(back["context"], event["context"]);
  EXPECT_EQ(back["experiments"], json::array());
  EXPECT_EQ(back.size(), 9u);
}
