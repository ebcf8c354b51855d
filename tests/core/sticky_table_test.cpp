#include <gtest/gtest.h>

#include <random>
#include <string>
#include <unordered_map>

#include "core/sticky_table.hpp"

using namespace expd::core;

namespace {

const uuid control{1, 1};
const uuid treatment{1, 2};

// The variant id `unit_id` sticks to, or nil when none.
uuid variant_of(const sticky_table& table, std::string_view unit_id) {
  auto ref = table.find(unit_key(unit_id));
  return ref == sticky_table::none ? uuid{} : table.variant_ids().at(ref);
}

} // namespace

TEST(sticky_table, insert_find_and_overwrite) {
  sticky_table table;
  EXPECT_EQ(table.find(unit_key("alice")), sticky_table::none);
  EXPECT_TRUE(table.insert_or_assign(unit_key("alice"), control));
  EXPECT_TRUE(table.insert_or_assign(unit_key("bob"), treatment));
  EXPECT_EQ(variant_of(table, "alice"), control);
  EXPECT_EQ(variant_of(table, "bob"), treatment);
  EXPECT_EQ(variant_of(table, "carol"), uuid{});
  EXPECT_FALSE(table.insert_or_assign(unit_key("alice"), treatment));
  EXPECT_EQ(variant_of(table, "alice"), treatment);
  EXPECT_EQ(table.size(), 2u);
  EXPECT_EQ(table.variant_ids().size(), 2u); // one dictionary entry per distinct variant
}

TEST(sticky_table, grows_across_rehashes_like_an_unordered_map) {
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<int> length(0, 60);
  std::uniform_int_distribution<int> byte(0, 255);
  std::vector<uuid> variants{{9, 0}, {9, 1}, {9, 2}};
  std::unordered_map<std::string, uuid> expected;
  sticky_table table;
  for (int i = 0; i < 200000; ++i) {
    std::string id(static_cast<std::size_t>(length(rng)), '\0');
    for (auto& c : id)
      c = static_cast<char>(byte(rng));
    if (i % 4 == 0) // uuids take the packed form
      id = uuid{rng(), rng()}.str();
    auto& variant = variants[rng() % variants.size()];
    bool added = expected.insert_or_assign(id, variant).second;
    EXPECT_EQ(table.insert_or_assign(unit_key(id), variant), added);
  }
  ASSERT_EQ(table.size(), expected.size());
  for (auto& [id, variant] : expected)
    ASSERT_EQ(variant_of(table, id), variant);
  for (int i = 0; i < 1000; ++i)
    EXPECT_EQ(variant_of(table, "absent-" + std::to_string(i)), uuid{});
  EXPECT_LT(table.memory_bytes() / table.size(), 200u);
}

TEST(sticky_table, long_ids_live_in_the_arena) {
  sticky_table table;
  std::string long_id(300, 'x');
  std::string longer = long_id + "y";
  table.insert_or_assign(unit_key(long_id), control);
  table.insert_or_assign(unit_key(longer), treatment);
  EXPECT_EQ(variant_of(table, long_id), control);
  EXPECT_EQ(variant_of(table, longer), treatment);
  EXPECT_EQ(variant_of(table, std::string(300, 'z')), uuid{});
  EXPECT_EQ(variant_of(table, long_id.substr(1)), uuid{});
  EXPECT_GE(table.memory_bytes(), long_id.size() + longer.size());
}

TEST(sticky_table, ids_differing_only_in_the_last_byte) {
  sticky_table table;
  // Lengths around the inline limit and the packed uuid form.
  for (std::size_t length : {1u, 8u, 20u, 21u, 22u, 36u, 37u, 100u}) {
    std::string a(length, 'u');
    std::string b = a;
    b.back() = 'v';
    table.insert_or_assign(unit_key(a), control);
    table.insert_or_assign(unit_key(b), treatment);
    EXPECT_EQ(variant_of(table, a), control) << length;
    EXPECT_EQ(variant_of(table, b), treatment) << length;
  }
}

TEST(sticky_table, uuid_ids_keep_their_case_and_shape) {
  sticky_table table;
  std::string lower = "0f8fad5b-d9cb-469f-a165-70867728950e";
  std::string upper = "0F8FAD5B-D9CB-469F-A165-70867728950E";
  std::string last_differs = "0f8fad5b-d9cb-469f-a165-70867728950f";
  std::string dash_moved = "0f8fad5bd-9cb-469f-a165-70867728950e";
  table.insert_or_assign(unit_key(lower), control);
  table.insert_or_assign(unit_key(upper), treatment);
  EXPECT_EQ(variant_of(table, lower), control);
  EXPECT_EQ(variant_of(table, upper), treatment);
  EXPECT_EQ(variant_of(table, last_differs), uuid{});
  EXPECT_EQ(variant_of(table, dash_moved), uuid{});
  table.insert_or_assign(unit_key(dash_moved), treatment);
  EXPECT_EQ(variant_of(table, dash_moved), treatment);
  EXPECT_EQ(variant_of(table, lower), control);
  EXPECT_EQ(table.size(), 3u);
}

TEST(sticky_table, equal_hashes_still_compare_the_ids) {
  // Forged collisions, one pair per form: inline, packed uuid, arena.
  std::vector<std::pair<std::string, std::string>> pairs{
    {"alice", "bob"},
    {"0f8fad5b-d9cb-469f-a165-70867728950e", "1f8fad5b-d9cb-469f-a165-70867728950e"},
    {std::string(40, 'a'), std::string(40, 'b')}};
  for (auto& [first, second] : pairs) {
    sticky_table table;
    unit_key a(first);
    unit_key b(second);
    b.hash = a.hash;
    EXPECT_TRUE(table.insert_or_assign(a, control));
    EXPECT_EQ(table.find(b), sticky_table::none) << second;
    EXPECT_TRUE(table.insert_or_assign(b, treatment));
    EXPECT_EQ(table.variant_ids().at(table.find(a)), control) << first;
    EXPECT_EQ(table.variant_ids().at(table.find(b)), treatment) << second;
  }
}

TEST(sticky_table, empty_string_is_an_id) {
  sticky_table table;
  EXPECT_EQ(table.find(unit_key("")), sticky_table::none);
  table.insert_or_assign(unit_key(""), control);
  EXPECT_EQ(variant_of(table, ""), control);
  EXPECT_EQ(variant_of(table, std::string(1, '\0')), uuid{});
  table.insert_or_assign(unit_key(std::string(1, '\0')), treatment);
  EXPECT_EQ(variant_of(table, ""), control);
  EXPECT_EQ(variant_of(table, std::string(1, '\0')), treatment);
}

TEST(sticky_table, clear_forgets_everything) {
  sticky_table table;
  for (int i = 0; i < 1000; ++i)
    table.insert_or_assign(unit_key("u" + std::to_string(i) + std::string(30, '-')), control);
  EXPECT_GT(table.memory_bytes(), 1000u * 32);
  table.clear();
  EXPECT_EQ(table.size(), 0u);
  EXPECT_EQ(table.memory_bytes(), 0u);
  EXPECT_TRUE(table.variant_ids().empty());
  EXPECT_EQ(variant_of(table, "u1" + std::string(30, '-')), uuid{});
  EXPECT_TRUE(table.insert_or_assign(unit_key("u1"), treatment));
  EXPECT_EQ(variant_of(table, "u1"), treatment);
}
