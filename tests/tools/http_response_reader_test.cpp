#include <gtest/gtest.h>

#include <string>

#include "tools/http_response_reader.hpp"

using namespace expd::tools;
using result = http_response_reader::result;

namespace {

const std::string ok = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n"
                       "Connection: keep-alive\r\n\r\n{\"a\":[1,2]}";

// Feeds `bytes` in pieces of `step`; the last result and how many bytes it took.
std::pair<result, std::size_t> feed_in_pieces(http_response_reader& reader, const std::string& bytes,
                                              std::size_t step) {
  std::size_t taken = 0;
  result r = result::need_more;
  for (std::size_t at = 0; at < bytes.size() && r == result::need_more; at += step) {
    std::size_t used = 0;
    r = reader.feed(bytes.data() + at, std::min(step, bytes.size() - at), &used);
    taken += used;
  }
  return {r, taken};
}

std::string malformed_because(const std::string& bytes) {
  http_response_reader reader;
  auto [r, taken] = feed_in_pieces(reader, bytes, bytes.size());
  return r == result::malformed ? reader.error() : "not malformed";
}

} // namespace

TEST(http_response_reader, frames_by_content_length_in_any_pieces) {
  for (std::size_t step : {ok.size(), std::size_t{1}, std::size_t{2}, std::size_t{7}, std::size_t{60}}) {
    http_response_reader reader;
    auto [r, taken] = feed_in_pieces(reader, ok, step);
    EXPECT_EQ(r, result::complete) << step;
    EXPECT_EQ(taken, ok.size()) << step;
    EXPECT_EQ(reader.status(), 200);
    EXPECT_TRUE(reader.keep_alive());
  }
}

TEST(http_response_reader, keeps_alive_and_reads_the_next_response_after_reset) {
  http_response_reader reader;
  std::string two = ok + "HTTP/1.1 422 Unprocessable Entity\r\ncontent-length: 0\r\n\r\n";
  std::size_t used = 0;
  ASSERT_EQ(reader.feed(two.data(), two.size(), &used), result::complete);
  EXPECT_EQ(used, ok.size()); // the next response is not this one's
  reader.reset();
  EXPECT_FALSE(reader.started());
  std::size_t more = 0;
  ASSERT_EQ(reader.feed(two.data() + used, two.size() - used, &more), result::complete);
  EXPECT_EQ(used + more, two.size());
  EXPECT_EQ(reader.status(), 422);
  EXPECT_TRUE(reader.keep_alive());
}

TEST(http_response_reader, keep_alive_connection_close_and_bodiless_statuses) {
  struct framing {
    std::string bytes;
    int status;
    bool keep_alive;
  };
  const framing cases[] = {
    {"HTTP/1.1 503 Service Unavailable\r\nConnection: Close\r\nContent-Length: 2\r\n\r\nno", 503, false},
    {"HTTP/1.1 200 OK\r\nConnection: TE, close\r\nContent-Length: 0\r\n\r\n", 200, false},
    {"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", 200, false},
    {"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", 200, true},
    {"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", 204, true}, // interim skipped
    {"HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n", 304, true},       // no body
  };
  for (const framing& f : cases) {
    http_response_reader reader;
    std::size_t used = 0;
    EXPECT_EQ(reader.feed(f.bytes.data(), f.bytes.size(), &used), result::complete) << f.bytes;
    EXPECT_EQ(used, f.bytes.size()) << f.bytes;
    EXPECT_EQ(reader.status(), f.status) << f.bytes;
    EXPECT_EQ(reader.keep_alive(), f.keep_alive) << f.bytes;
  }
}

TEST(http_response_reader, a_body_without_length_runs_to_the_close) {
  http_response_reader reader;
  std::string unframed = "HTTP/1.1 200 OK\r\n\r\nall of it";
  std::size_t used = 0;
  EXPECT_EQ(reader.feed(unframed.data(), unframed.size(), &used), result::need_more);
  EXPECT_EQ(reader.feed_eof(), result::complete);
  EXPECT_FALSE(reader.keep_alive());
}

TEST(http_response_reader, an_early_close_is_malformed_once_a_response_began) {
  http_response_reader reader;
  EXPECT_EQ(reader.feed_eof(), result::need_more); // nothing had arrived
  std::size_t used = 0;
  reader.feed(ok.data(), 20, &used);
  EXPECT_TRUE(reader.started());
  EXPECT_EQ(reader.feed_eof(), result::malformed);
  EXPECT_EQ(reader.error(), "the connection closed inside the headers");
  reader.reset();
  reader.feed(ok.data(), ok.size() - 1, &used);
  EXPECT_EQ(reader.feed_eof(), result::malformed);
  EXPECT_EQ(reader.error(), "the connection closed inside the body");
}

TEST(http_response_reader, refuses_what_it_cannot_frame) {
  const std::pair<std::string, std::string> cases[] = {
    {"SSH-2.0-OpenSSH\r\n\r\n", "not an HTTP/1.x status line: \"SSH-2.0-OpenSSH\""},
    {"HTTP/2 200\r\n\r\n", "not an HTTP/1.x status line: \"HTTP/2 200\""},
    {"HTTP/1.1 200OK\r\n\r\n", "not an HTTP/1.x status line: \"HTTP/1.1 200OK\""},
    {"HTTP/1.1 2x0 OK\r\n\r\n", "the status code is not 3 digits"},
    {"HTTP/1.1 099 Low\r\n\r\n", "the status code is below 100"},
    {"HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n", "Content-Length is not a number"},
    {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", "two different Content-Length headers"},
    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "Transfer-Encoding is not supported"},
    {"HTTP/1.1 200 OK\r\nno colon\r\n\r\n", "a header line without a name and colon"},
    {"HTTP/1.1 200 OK\r\n" + std::string(70000, 'x'), "the status line and headers exceed 64 KiB"},
    // A reason phrase may be empty or absent.
    {"HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", "not malformed"},
    {"HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n", "not malformed"},
  };
  for (const auto& [bytes, why] : cases)
    EXPECT_EQ(malformed_because(bytes), why) << bytes.substr(0, 40);
}
