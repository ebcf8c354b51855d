// The HTTP request parser on arbitrary bytes: whole, one byte at a time and in chunks
// cut where the input says, with the default limits and with small ones. However the
// stream is cut, the parser must yield the same requests and fail or not alike, and
// what it yields must keep its documented shape.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/http_codec.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using namespace expd::runtime;

namespace {

struct outcome {
  std::vector<http_request> requests;
  bool ok = true;
  http_error error;
};

// Feeds `stream` in pieces of the sizes `next_piece` returns.
template <class Pieces>
outcome parse(std::string_view stream, http_limits limits, Pieces next_piece) {
  http_request_parser parser{limits};
  outcome out;
  while (!stream.empty() && out.ok) {
    auto n = std::min(stream.size(), next_piece());
    out.ok = parser.feed(stream.substr(0, n), out.requests);
    stream.remove_prefix(n);
  }
  if (!out.ok)
    out.error = parser.error();
  return out;
}

bool same(const http_request& a, const http_request& b) {
  return a.method == b.method && a.path == b.path && a.query == b.query
         && a.headers == b.headers && a.body == b.body && a.keep_alive == b.keep_alive;
}

void check_shape(const outcome& o, const http_limits& limits) {
  for (std::size_t i = 0; i < o.requests.size(); ++i) {
    const auto& r = o.requests[i];
    FUZZ_CHECK(!r.method.empty());
    FUZZ_CHECK(r.path == "*" || (!r.path.empty() && r.path[0] == '/'));
    FUZZ_CHECK(r.body.size() <= limits.max_body_bytes);
    for (const auto& [name, value] : r.headers) {
      for (char c : name)
        FUZZ_CHECK(!(c >= 'A' && c <= 'Z') && c != ' ' && c != '\t');
      FUZZ_CHECK(value.empty() || (value.back() != ' ' && value.back() != '\t'));
    }
    // Nothing is parsed behind a request that closes the connection.
    FUZZ_CHECK(r.keep_alive || i + 1 == o.requests.size());
  }
  if (!o.ok) {
    FUZZ_CHECK(o.error.status >= 400 && o.error.status < 600);
    FUZZ_CHECK(!o.error.message.empty());
  }
}

// The error itself may differ: http-parser reports a bad byte when it reaches it but
// calls back with a partial header at a piece's end, where our checks (whitespace in a
// name, the size limits) run, so which fault of a request with two is seen first
// depends on where the pieces end.
void check_same(const outcome& a, const outcome& b) {
  FUZZ_CHECK(a.ok == b.ok);
  FUZZ_CHECK(a.requests.size() == b.requests.size());
  for (std::size_t i = 0; i < a.requests.size(); ++i)
    FUZZ_CHECK(same(a.requests[i], b.requests[i]));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view stream{reinterpret_cast<const char*>(data), size};
  // A stand-in for the bytes of TCP segments: cut points derived from the input.
  std::uint32_t state = 2166136261u;
  for (std::size_t i = 0; i < std::min<std::size_t>(size, 16); ++i)
    state = (state ^ data[i]) * 16777619u;
  for (const http_limits limits : {http_limits{}, http_limits{200, 64}}) {
    const auto whole = parse(stream, limits, [&] { return stream.size(); });
    check_shape(whole, limits);
    check_same(whole, parse(stream, limits, [] { return std::size_t{1}; }));
    auto rng = state;
    check_same(whole, parse(stream, limits, [&] {
                 rng = rng * 1103515245u + 12345u;
                 return std::size_t{1} + (rng >> 16) % 64;
               }));
  }
  return 0;
}
