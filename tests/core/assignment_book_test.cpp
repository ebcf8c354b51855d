#include <gtest/gtest.h>

#include <map>

#include "core/assign_request.hpp"
#include "core/assignment_book.hpp"
#include "core/bucketing.hpp"
#include "core/field_error.hpp"

using namespace expd::core;
using nlohmann::json;

namespace {

uuid id(std::uint64_t n) {
  return {0, n};
}

experiment make_experiment(std::uint64_t n, std::string name, std::vector<double> allocations,
                           experiment_status status = experiment_status::running) {
  experiment e;
  e.id = id(n * 100);
  e.name = std::move(name);
  e.unit_type = "user";
  e.status = status;
  e.salt = e.name;
  for (std::size_t i = 0; i < allocations.size(); ++i)
    e.variants.push_back({id(n * 100 + i + 1), "v" + std::to_string(i), allocations[i],
                          json{{"i", i}}, "", "", ""});
  return e;
}

snapshot_ptr snap(std::uint64_t version, std::vector<experiment> list) {
  return std::make_shared<const snapshot>(version, std::move(list));
}

assign_request request(const std::string& unit, json context = json::object()) {
  return parse_assign_request(json{{"unit_type", "user"}, {"unit_id", unit}, {"context", context}});
}

// The variant name the book answers for `unit` in its only experiment, or "".
std::string variant_of(assignment_book& book, const std::string& unit,
                       std::vector<assignment_record>* fresh = nullptr) {
  std::vector<served_assignment> out;
  std::vector<assignment_record> sink;
  book.assign(request(unit), out, fresh ? *fresh : sink);
  return out.empty() ? "" : out[0].var->name;
}

} // namespace

TEST(assignment_book, assigns_by_bucket_range) {
  assignment_book book;
  book.install(snap(1, {make_experiment(1, "exp", {0.2, 0.3, 0.5})}));
  for (int i = 0; i < 2000; ++i) {
    auto unit = "u" + std::to_string(i);
    auto bucket = bucket_of("exp", unit);
    auto expected = bucket < 2000 ? "v0" : bucket < 5000 ? "v1" : "v2";
    EXPECT_EQ(variant_of(book, unit), expected) << unit;
  }
}

TEST(assignment_book, first_assignment_is_recorded_once) {
  assignment_book book;
  book.install(snap(1, {make_experiment(1, "exp", {0.5, 0.5})}));
  std::vector<assignment_record> fresh;
  variant_of(book, "alice", &fresh);
  variant_of(book, "alice", &fresh);
  ASSERT_EQ(fresh.size(), 1u);
  EXPECT_EQ(fresh[0].unit_id, "alice");
  EXPECT_EQ(*fresh[0].salt, "exp");
  EXPECT_EQ(fresh[0].experiment_id, id(100));
}

TEST(assignment_book, units_keep_their_variant_when_allocations_change) {
  assignment_book book;
  book.install(snap(1, {make_experiment(1, "exp", {0.5, 0.5})}));
  std::map<std::string, std::string> before;
  for (int i = 0; i < 500; ++i)
    before["u" + std::to_string(i)] = variant_of(book, "u" + std::to_string(i));
  book.install(snap(2, {make_experiment(1, "exp", {0.1, 0.9})}));
  int moved_if_not_sticky = 0;
  for (auto& [unit, variant] : before) {
    EXPECT_EQ(variant_of(book, unit), variant) << unit;
    if (bucket_of("exp", unit) >= 1000 && variant == "v0")
      ++moved_if_not_sticky;
  }
  EXPECT_GT(moved_if_not_sticky, 100); // the change did move buckets: stickiness was tested
  // A new unit follows the new allocation.
  for (int i = 0; i < 200; ++i) {
    auto unit = "new" + std::to_string(i);
    EXPECT_EQ(variant_of(book, unit), bucket_of("exp", unit) < 1000 ? "v0" : "v1");
  }
}

TEST(assignment_book, remembered_rows_win_over_the_hash) {
  assignment_book book;
  auto exp = make_experiment(1, "exp", {0.5, 0.5});
  book.install(snap(1, {exp}));
  std::string unit = "bob";
  auto computed = bucket_of("exp", unit) < 5000 ? 0 : 1;
  auto other = exp.variants[1 - computed];
  book.remember({exp.id, other.id, "user", unit, std::make_shared<const std::string>("exp")});
  std::vector<assignment_record> fresh;
  EXPECT_EQ(variant_of(book, unit, &fresh), other.name);
  EXPECT_TRUE(fresh.empty());
  // A row under an old salt no longer binds.
  book.remember({exp.id, other.id, "user", "carol", std::make_shared<const std::string>("old-salt")});
  EXPECT_EQ(variant_of(book, "carol"), bucket_of("exp", "carol") < 5000 ? "v0" : "v1");
}

TEST(assignment_book, a_new_salt_rerandomises) {
  assignment_book book;
  book.install(snap(1, {make_experiment(1, "exp", {0.5, 0.5})}));
  for (int i = 0; i < 100; ++i)
    variant_of(book, "u" + std::to_string(i));
  auto resalted = make_experiment(1, "exp", {0.5, 0.5});
  resalted.salt = "exp-v2";
  book.install(snap(2, {resalted}));
  std::vector<assignment_record> fresh;
  for (int i = 0; i < 100; ++i) {
    auto unit = "u" + std::to_string(i);
    EXPECT_EQ(variant_of(book, unit, &fresh), bucket_of("exp-v2", unit) < 5000 ? "v0" : "v1");
  }
  EXPECT_EQ(fresh.size(), 100u);
  EXPECT_EQ(*fresh[0].salt, "exp-v2");
}

TEST(assignment_book, paused_serves_enrolled_units_only) {
  assignment_book book;
  book.install(snap(1, {make_experiment(1, "exp", {0.5, 0.5})}));
  auto enrolled = variant_of(book, "early");
  book.install(snap(2, {make_experiment(1, "exp", {0.5, 0.5}, experiment_status::paused)}));
  EXPECT_EQ(variant_of(book, "early"), enrolled);
  EXPECT_EQ(variant_of(book, "late"), "");
}

TEST(assignment_book, draft_and_stopped_are_not_served) {
  assignment_book book;
  book.install(snap(1, {make_experiment(1, "d", {1.0}, experiment_status::draft),
                        make_experiment(2, "s", {1.0}, experiment_status::stopped)}));
  EXPECT_EQ(variant_of(book, "x"), "");
  std::vector<served_assignment> out;
  std::vector<assignment_record> fresh;
  book.assign(parse_assign_request(json{{"unit_type", "user"}, {"unit_id", "x"},
                                        {"requested_experiments", {"d", "s"}}}),
              out, fresh);
  EXPECT_TRUE(out.empty());
}

TEST(assignment_book, units_past_the_last_range_are_not_enrolled) {
  assignment_book book;
  book.install(snap(1, {make_experiment(1, "exp", {0.1})}));
  int in = 0;
  for (int i = 0; i < 1000; ++i) {
    auto unit = "u" + std::to_string(i);
    auto got = variant_of(book, unit);
    EXPECT_EQ(got.empty(), bucket_of("exp", unit) >= 1000);
    in += !got.empty();
  }
  EXPECT_GT(in, 50);
  EXPECT_LT(in, 150);
}

TEST(assignment_book, targeting_gates_every_request) {
  auto exp = make_experiment(1, "exp", {1.0});
  exp.condition_spec = json::parse(R"({"app_version":{"$vgte":"1.2.0"}})");
  assignment_book book;
  book.install(snap(1, {exp}));
  std::vector<served_assignment> out;
  std::vector<assignment_record> fresh;
  book.assign(request("u", {{"app_version", "1.1.9"}}), out, fresh);
  EXPECT_TRUE(out.empty());
  book.assign(request("u", {{"app_version", "1.10.0"}}), out, fresh);
  ASSERT_EQ(out.size(), 1u);
  book.assign(request("u", json::object()), out, fresh);
  EXPECT_TRUE(out.empty());
}

TEST(assignment_book, requested_experiments_by_name_or_id_and_unknown_is_an_error) {
  assignment_book book;
  book.install(snap(1, {make_experiment(1, "a", {1.0}), make_experiment(2, "b", {1.0})}));
  std::vector<served_assignment> out;
  std::vector<assignment_record> fresh;
  book.assign(parse_assign_request(json{{"unit_type", "user"}, {"unit_id", "x"},
                                        {"requested_experiments", {id(200).str()}}}),
              out, fresh);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].exp->name, "b");
  try {
    book.assign(parse_assign_request(json{{"unit_type", "user"}, {"unit_id", "x"},
                                          {"requested_experiments", {"a", "nope"}}}),
                out, fresh);
    FAIL() << "an unknown experiment must be refused";
  } catch (const field_error& e) {
    EXPECT_EQ(e.field(), "requested_experiments[1]");
  }
}

TEST(assignment_book, other_unit_types_are_not_served) {
  assignment_book book;
  book.install(snap(1, {make_experiment(1, "exp", {1.0})}));
  std::vector<served_assignment> out;
  std::vector<assignment_record> fresh;
  book.assign(parse_assign_request(json{{"unit_type", "household"}, {"unit_id", "h1"}}), out,
              fresh);
  EXPECT_TRUE(out.empty());
}

TEST(assignment_book, reply_has_the_client_contract_shape) {
  assignment_book book;
  book.install(snap(1, {make_experiment(1, "exp", {1.0})}));
  std::vector<served_assignment> out;
  std::vector<assignment_record> fresh;
  book.assign(request("u"), out, fresh);
  std::string body;
  append_assignments_json(body, out);
  auto doc = json::parse(body);
  ASSERT_EQ(doc["assignments"].size(), 1u);
  auto& a = doc["assignments"][0];
  EXPECT_EQ(a["experiment_id"], id(100).str());
  EXPECT_EQ(a["variant_id"], id(101).str());
  EXPECT_EQ(a["variant_name"], "v0");
  EXPECT_EQ(a["config"], (json{{"i", 0}}));
}

TEST(assign_request, names_the_bad_field) {
  auto fault = [](const char* text) {
    try {
      parse_assign_request(json::parse(text));
    } catch (const field_error& e) {
      return e.field();
    }
    return std::string{"no error"};
  };
  EXPECT_EQ(fault(R"({"unit_type":"user"})"), "unit_id");
  EXPECT_EQ(fault(R"({"unit_type":"user","unit_id":""})"), "unit_id");
  EXPECT_EQ(fault(R"({"unit_type":"user","unit_id":42})"), "unit_id");
  EXPECT_EQ(fault(R"({"unit_id":"u"})"), "unit_type");
  EXPECT_EQ(fault(R"({"unit_type":"user","unit_id":"u","context":[1]})"), "context");
  EXPECT_EQ(fault(R"({"unit_type":"user","unit_id":"u","requested_experiments":"a"})"),
            "requested_experiments");
  EXPECT_EQ(fault(R"({"unit_type":"user","unit_id":"u","requested_experiments":["a",7]})"),
            "requested_experiments[1]");
  EXPECT_EQ(fault(R"([1,2])"), "body");
  EXPECT_EQ(fault(R"({"unit_type":"user","unit_id":"u","extra":true})"), "no error");
  std::string long_id(513, 'x');
  EXPECT_EQ(fault(("{\"unit_type\":\"user\",\"unit_id\":\"" + long_id + "\"}").c_str()), "unit_id");
}

// What reaches exp.assignments follows events' rules: one NUL used to stop the
// writer's COPY for every later row.
TEST(assign_request, refuses_text_postgresql_cannot_store) {
  auto fault = [](const std::string& unit_type, const std::string& unit_id) {
    try {
      parse_assign_request(json{{"unit_type", unit_type}, {"unit_id", unit_id}});
    } catch (const field_error& e) {
      return e.field() + ": " + e.what();
    }
    return std::string{"no error"};
  };
  EXPECT_EQ(fault("user", std::string{"\0x", 2}),
            "unit_id: unit_id contains a NUL character (\\u0000), which cannot be stored");
  EXPECT_EQ(fault("user", "a\xffb"), "unit_id: unit_id is not valid UTF-8");
  EXPECT_EQ(fault("user", "\xc0\xaf"), "unit_id: unit_id is not valid UTF-8");
  EXPECT_EQ(fault("user", "a\nb"), "unit_id: unit_id must not contain control characters");
  EXPECT_EQ(fault(std::string{"us\0er", 5}, "u"),
            "unit_type: unit_type contains a NUL character (\\u0000), which cannot be stored");
  EXPECT_EQ(fault("user\x01", "u"), "unit_type: unit_type must not contain control characters");
  EXPECT_EQ(fault("user", "ünïcödé-ユーザー"), "no error");
}

TEST(assignment_book, sticky_units_follow_their_experiment_when_others_come_and_go) {
  assignment_book book;
  book.install(snap(1, {make_experiment(2, "m", {0.5, 0.5})}));
  std::map<std::string, std::string> before;
  for (int i = 0; i < 300; ++i)
    before["u" + std::to_string(i)] = variant_of(book, "u" + std::to_string(i));
  // "a" sorts before "m" and "z" after: m's position in the snapshot moves.
  book.install(snap(2, {make_experiment(1, "a", {1.0}, experiment_status::draft),
                        make_experiment(2, "m", {0.1, 0.9}),
                        make_experiment(3, "z", {1.0}, experiment_status::draft)}));
  for (auto& [unit, variant] : before)
    EXPECT_EQ(variant_of(book, unit), variant) << unit;
  EXPECT_EQ(book.sticky_size(), before.size());
  // Gone for one snapshot: forgotten, so the new allocation decides.
  book.install(snap(3, {make_experiment(1, "a", {1.0}, experiment_status::draft)}));
  EXPECT_EQ(book.sticky_size(), 0u);
  book.install(snap(4, {make_experiment(2, "m", {0.1, 0.9})}));
  for (auto& [unit, variant] : before)
    EXPECT_EQ(variant_of(book, unit), bucket_of("m", unit) < 1000 ? "v0" : "v1") << unit;
}

TEST(assignment_book, units_of_a_removed_variant_get_no_assignment) {
  assignment_book book;
  auto exp = make_experiment(1, "exp", {0.5, 0.5});
  book.install(snap(1, {exp}));
  book.remember({exp.id, exp.variants[1].id, "user", "kept", std::make_shared<const std::string>("exp")});
  exp.variants.pop_back();
  exp.variants[0].allocation = 1.0;
  book.install(snap(2, {exp}));
  std::vector<assignment_record> fresh;
  EXPECT_EQ(variant_of(book, "kept", &fresh), "");
  EXPECT_TRUE(fresh.empty());
  EXPECT_EQ(variant_of(book, "new", &fresh), "v0");
}

TEST(assignment_book, held_variants_are_what_the_unit_was_given_and_assign_nothing) {
  assignment_book book;
  auto other_type = make_experiment(3, "devices", {1.0});
  other_type.unit_type = "device";
  book.install(snap(1, {make_experiment(1, "a", {0.5, 0.5}), make_experiment(2, "b", {1.0}),
                        std::move(other_type)}));
  std::vector<std::pair<uuid, uuid>> held;
  book.held_variants("user", "u1", held);
  EXPECT_TRUE(held.empty()); // never assigned: nothing attached, nothing assigned now
  EXPECT_EQ(book.sticky_size(), 0u);

  std::vector<served_assignment> out;
  std::vector<assignment_record> fresh;
  book.assign(request("u1"), out, fresh);
  ASSERT_EQ(out.size(), 2u);
  book.held_variants("user", "u1", held);
  ASSERT_EQ(held.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(held[i].first, out[i].exp->id);
    EXPECT_EQ(held[i].second, out[i].var->id);
  }
  // Another unit type, or another unit, holds nothing of it; `out` is appended to.
  book.held_variants("device", "u1", held);
  book.held_variants("user", "u2", held);
  EXPECT_EQ(held.size(), 2u);

  // A stopped experiment attaches nothing.
  auto stopped = make_experiment(1, "a", {0.5, 0.5}, experiment_status::stopped);
  book.install(snap(2, {std::move(stopped), make_experiment(2, "b", {1.0})}));
  held.clear();
  book.held_variants("user", "u1", held);
  ASSERT_EQ(held.size(), 1u);
  EXPECT_EQ(held[0].first, id(200));
}
