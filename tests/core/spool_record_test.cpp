#include <gtest/gtest.h>

#include "core/spool_record.hpp"

using namespace expd::core;

TEST(spool_record, a_frame_reads_back) {
  std::string buf;
  append_frame(buf, 7, "hello");
  append_frame(buf, 8, "world!");
  auto f = read_frame(buf);
  ASSERT_EQ(f.what, frame::kind::record);
  EXPECT_EQ(f.seq, 7u);
  EXPECT_EQ(f.payload, "hello");
  auto g = read_frame(std::string_view{buf}.substr(f.size));
  ASSERT_EQ(g.what, frame::kind::record);
  EXPECT_EQ(g.seq, 8u);
  EXPECT_EQ(g.payload, "world!");
  EXPECT_EQ(f.size + g.size, buf.size());
}

TEST(spool_record, zeros_are_the_end) {
  std::string zeros(64, '\0');
  EXPECT_EQ(read_frame(zeros).what, frame::kind::end);
  EXPECT_EQ(read_frame("").what, frame::kind::end);
}

TEST(spool_record, a_torn_frame_asks_for_more_or_reads_as_the_end) {
  std::string buf;
  append_frame(buf, 1, std::string(100, 'x'));
  auto torn = std::string_view{buf}.substr(0, buf.size() - 10);
  auto f = read_frame(torn);
  EXPECT_EQ(f.what, frame::kind::incomplete);
  EXPECT_EQ(f.size, buf.size());
  // The same torn bytes followed by the zeros of preallocated space: the checksum
  // fails, so it is the end, not a record.
  std::string on_disk{torn};
  on_disk.append(10, '\0');
  EXPECT_EQ(read_frame(on_disk).what, frame::kind::end);
}

TEST(spool_record, any_flipped_bit_is_caught) {
  std::string buf;
  append_frame(buf, 42, "payload bytes");
  for (std::size_t i = 4; i < buf.size(); ++i) // past the size field
    for (int bit = 0; bit < 8; ++bit) {
      auto bad = buf;
      bad[i] = static_cast<char>(bad[i] ^ (1 << bit));
      auto f = read_frame(bad);
      EXPECT_NE(f.what, frame::kind::record) << "byte " << i << " bit " << bit;
    }
}

TEST(spool_record, the_same_payload_under_another_seq_does_not_verify) {
  std::string a, b;
  append_frame(a, 1, "same");
  append_frame(b, 2, "same");
  // Splice b's seq into a's frame: the checksum is bound to the seq.
  auto spliced = a.substr(0, 8) + b.substr(8, 8) + a.substr(16);
  EXPECT_EQ(read_frame(spliced).what, frame::kind::end);
}

TEST(spool_record, oversized_sizes_are_refused) {
  std::string buf(frame_header_bytes, '\0');
  auto size = static_cast<std::uint32_t>(max_frame_payload + 1);
  for (int i = 0; i < 4; ++i)
    buf[static_cast<std::size_t>(i)] = static_cast<char>((size >> (8 * i)) & 0xff);
  EXPECT_EQ(read_frame(buf).what, frame::kind::end);
}

TEST(spool_record, an_event_payload_round_trips) {
  valid_event e;
  e.event_id = *uuid::parse("0b9d3f5e-2c1a-4f7e-9b8d-1a2b3c4d5e6f");
  e.client_event_id = true;
  e.occurred_at = 1735725600000000;
  e.received_at = 1735725601000000;
  e.event_type = "plan_generated";
  e.unit_type = "user";
  e.unit_id = "user-123";
  e.metrics_json = R"({"latency_ms":450})";
  std::string payload;
  append_spooled_event(payload, e);
  auto back = read_spooled_event(payload);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->event_id, e.event_id);
  EXPECT_TRUE(back->client_event_id);
  EXPECT_EQ(back->occurred_at, e.occurred_at);
  std::string copy, json;
  append_copy_line(copy, e);
  append_json_line(json, e);
  EXPECT_EQ(back->copy_line, copy);
  EXPECT_EQ(back->json_line, json);
  EXPECT_FALSE(read_spooled_event(std::string_view{payload}.substr(0, 10)));
}

TEST(spool_record, a_segment_header_reads_back_and_any_flipped_bit_is_caught) {
  std::string h;
  append_segment_header(h, {16u << 20, 12345});
  ASSERT_EQ(h.size(), segment_header_bytes);
  auto start = read_segment_start(h, 12345);
  ASSERT_EQ(start.what, segment_start::kind::header);
  EXPECT_EQ(start.header.segment_bytes, 16u << 20);
  EXPECT_EQ(start.header.first_seq, 12345u);
  // Every bit, the magic's too: a broken magic is damage, not a segment without header.
  for (std::size_t bit = 0; bit < h.size() * 8; ++bit) {
    auto bad = h;
    bad[bit / 8] = static_cast<char>(bad[bit / 8] ^ (1 << (bit % 8)));
    EXPECT_EQ(read_segment_start(bad, 12345).what, segment_start::kind::damaged) << bit;
  }
  EXPECT_EQ(read_segment_start(h.substr(0, 20), 12345).what, segment_start::kind::damaged);
}

TEST(spool_record, a_segment_without_a_header_starts_with_a_frame_or_zeros) {
  std::string frames;
  append_frame(frames, 1, "first");
  EXPECT_EQ(read_segment_start(frames, 1).what, segment_start::kind::headless);
  EXPECT_EQ(read_segment_start(frames, 2).what, segment_start::kind::damaged)
    << "the first frame of segment 2 is record 2";
  EXPECT_EQ(read_segment_start(std::string(64, '\0'), 1).what, segment_start::kind::headless);
  EXPECT_EQ(read_segment_start("", 1).what, segment_start::kind::headless);
}

TEST(spool_record, a_journal_record_round_trips_any_bytes) {
  static constexpr char unit[] = "u\0\xff-ユーザー";
  assignment_record row{*uuid::parse("0190a1b2-c3d4-4e5f-8a9b-0c1d2e3f4a5b"),
                        *uuid::parse("ffffffff-0000-4e5f-8a9b-0c1d2e3f4a5c"), "user",
                        std::string{unit, sizeof(unit) - 1},
                        std::make_shared<const std::string>("planner_policy_exp")};
  std::string payload;
  append_journal_record(payload, row);
  auto back = read_journal_record(payload);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->experiment_id, row.experiment_id);
  EXPECT_EQ(back->variant_id, row.variant_id);
  EXPECT_EQ(back->unit_type, row.unit_type);
  EXPECT_EQ(back->unit_id, row.unit_id);
  EXPECT_EQ(*back->salt, *row.salt);
  // Cut short or with bytes past its end, a payload is not a record.
  for (auto size : {std::size_t{0}, std::size_t{31}, std::size_t{40}, payload.size() - 1})
    EXPECT_FALSE(read_journal_record(std::string_view{payload}.substr(0, size))) << size;
  EXPECT_FALSE(read_journal_record(payload + "x"));
}
