#include <gtest/gtest.h>

#include "tools/cli_errors.hpp"
#include "tools/load_config.hpp"

using namespace expd::tools;
using namespace std::chrono_literals;

namespace {

std::vector<option_spec> specs() {
  std::vector<option_spec> out;
  for (auto name : load_option_names)
    out.push_back({name, 0, true});
  return out;
}

load_config parse(std::vector<const char*> args, const std::string& server = "http://127.0.0.1:8080") {
  args.insert(args.begin(), {"expctl", "load"});
  auto line = parse_command_line(static_cast<int>(args.size()), args.data(), specs());
  return parse_load_config(line, server);
}

std::string error_of(std::vector<const char*> args, const std::string& server = "http://127.0.0.1:8080") {
  try {
    parse(std::move(args), server);
  } catch (const usage_error& e) {
    return e.what();
  }
  return "no error";
}

} // namespace

TEST(load_config, defaults_and_every_flag) {
  auto closed = parse({"--concurrency=8"});
  EXPECT_EQ(closed.concurrency, 8u);
  EXPECT_FALSE(closed.rate);
  EXPECT_EQ(closed.connections, 8u); // one request in flight per connection
  EXPECT_EQ(closed.threads, 1u);
  EXPECT_EQ(closed.duration, 10s);
  EXPECT_EQ(closed.warmup, 2s);
  EXPECT_EQ(closed.dist, unit_distribution::uniform);
  EXPECT_EQ(closed.context, "{}");
  EXPECT_TRUE(closed.experiments.empty());
  ASSERT_EQ(closed.servers.size(), 1u);
  EXPECT_EQ(closed.servers[0].host, "127.0.0.1");
  EXPECT_EQ(closed.servers[0].port, "8080");

  auto open = parse({"--rate=250.5", "--connections=64", "--threads=4", "--duration=1.5s", "--warmup=0",
                     "--timeout=500ms", "--units=1000", "--dist=zipf:1.25", "--seed=9", "--unit-type=household",
                     "--experiments=a,b", "--context", R"({ "country" : "US" })"},
                    "http://a:1,http://[::1]:2/");
  EXPECT_EQ(open.rate, 250.5);
  EXPECT_EQ(open.connections, 64u);
  EXPECT_EQ(open.threads, 4u);
  EXPECT_EQ(open.duration, 1500ms);
  EXPECT_EQ(open.warmup, 0s);
  EXPECT_EQ(open.timeout, 500ms);
  EXPECT_EQ(open.units, 1000u);
  EXPECT_EQ(open.dist, unit_distribution::zipf);
  EXPECT_DOUBLE_EQ(open.zipf_s, 1.25);
  EXPECT_EQ(open.seed, 9u);
  EXPECT_EQ(open.unit_type, "household");
  EXPECT_EQ(open.experiments, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(open.context, R"({"country":"US"})");
  ASSERT_EQ(open.servers.size(), 2u);
  EXPECT_EQ(open.servers[1].host, "::1");
  EXPECT_EQ(open.servers[1].host_header, "[::1]:2");
  EXPECT_EQ(open.servers[1].url, "http://[::1]:2");
  EXPECT_EQ(parse({"--rate=5"}).connections, 10u);
  EXPECT_DOUBLE_EQ(parse({"--rate=5", "--dist=zipf"}).zipf_s, 1.0);
}

TEST(load_config, errors_name_the_flag) {
  EXPECT_EQ(error_of({"--rate=10", "--concurrency=2"}),
            "--rate (open loop) and --concurrency (closed loop) exclude each other");
  EXPECT_EQ(error_of({}), "expctl load needs --rate=R (open loop) or --concurrency=C (closed loop)");
  EXPECT_EQ(error_of({"--concurrency=2", "--dist=zipf:abc"}),
            "--dist=zipf:abc: the Zipf exponent must be a number above 0, like zipf:1.1");
  EXPECT_EQ(error_of({"--concurrency=2", "--dist=zipf:0"}),
            "--dist=zipf:0: the Zipf exponent must be a number above 0, like zipf:1.1");
  EXPECT_EQ(error_of({"--concurrency=2", "--dist=zipfian"}), "--dist=zipfian: expected uniform, zipf or zipf:S");
  EXPECT_EQ(error_of({"--rate=0"}), "--rate=0: expected requests per second, a number above 0");
  EXPECT_EQ(error_of({"--rate=fast"}), "--rate=fast: expected requests per second, a number above 0");
  EXPECT_EQ(error_of({"--concurrency=0"}), "--concurrency=0: expected a whole number >= 1");
  EXPECT_EQ(error_of({"--concurrency=-1"}), "--concurrency=-1: expected a whole number >= 1");
  EXPECT_EQ(error_of({"--concurrency=8", "--connections=4"}),
            "--concurrency=8 needs at least as many --connections (4): HTTP/1.1 has one request in flight per connection");
  EXPECT_EQ(error_of({"--concurrency=2", "--threads=3"}), "--threads=3 is more than the 2 --connections");
  EXPECT_EQ(error_of({"--concurrency=2", "--duration=0s"}),
            "--duration=0s: expected a duration above 0 like 10s, 500ms or 2m");
  EXPECT_EQ(error_of({"--concurrency=2", "--warmup=soon"}), "--warmup=soon: expected a duration like 10s, 500ms or 2m");
  EXPECT_EQ(error_of({"--concurrency=2", "--units=1e6"}), "--units=1e6: expected a whole number >= 1");
  EXPECT_EQ(error_of({"--concurrency=2", "--experiments=a,,b"}),
            "--experiments=a,,b: expected experiment names separated by commas");
  EXPECT_EQ(error_of({"--concurrency=2", "--context=[1]"}),
            "--context=[1]: expected a JSON object, like '{\"country\":\"US\"}'");
  EXPECT_EQ(error_of({"--concurrency=2", "--unit-type="}), "--unit-type is empty");
  EXPECT_EQ(error_of({"--concurrency=2"}, "http://a:1,localhost:2"),
            "--server=http://a:1,localhost:2: \"localhost:2\": expected http://HOST[:PORT]");
}

TEST(load_config, server_urls) {
  std::string why;
  auto plain = parse_server_url("http://example.com", &why);
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->host, "example.com");
  EXPECT_EQ(plain->port, "80");
  EXPECT_EQ(plain->host_header, "example.com");
  const std::pair<const char*, const char*> refused[] = {
    {"https://a", "https is not supported; give the node's plain HTTP address"},
    {"http://", "the host is empty"},
    {"http://:80", "the host is empty"},
    {"http://a:", "the port is empty"},
    {"http://a:x", "the port must be a number in 1..65535"},
    {"http://a:65536", "the port must be a number in 1..65535"},
    {"http://a/v1", "expected http://HOST[:PORT] with no path, query or user"},
    {"http://u@a", "expected http://HOST[:PORT] with no path, query or user"},
    {"http://[::1", "an IPv6 address needs its closing ]"},
    {"http://[::1]x", "expected :PORT after the IPv6 address"},
    {"a:80", "expected http://HOST[:PORT]"},
  };
  for (auto [url, reason] : refused) {
    EXPECT_FALSE(parse_server_url(url, &why)) << url;
    EXPECT_EQ(why, reason) << url;
  }
}

TEST(load_config, durations) {
  const std::pair<const char*, std::chrono::nanoseconds> good[] = {
    {"10s", 10s}, {"1.5s", 1500ms}, {"250ms", 250ms}, {"20us", 20us},
    {"2m", 120s}, {"1h", 3600s},    {"3", 3s},        {"0", 0s},
  };
  for (auto [text, value] : good)
    EXPECT_EQ(parse_duration(text), value) << text;
  for (const char* bad : {"", "s", "-1s", "10x", "ten", "inf", "nan", " 1s", "1e30s"})
    EXPECT_FALSE(parse_duration(bad)) << bad;
}

TEST(load_config, the_open_loop_schedule_interleaves_connections_at_the_rate) {
  open_loop_schedule schedule{1000, 4}; // 1 ms apart overall, 4 ms apart per connection
  EXPECT_EQ(schedule.due(0, 0), 0);
  EXPECT_EQ(schedule.due(1, 0), 1'000'000);
  EXPECT_EQ(schedule.due(3, 0), 3'000'000);
  EXPECT_EQ(schedule.due(0, 1), 4'000'000);
  EXPECT_EQ(schedule.due(2, 5), 22'000'000);
  // Every request of the run exactly once, in order: j -> (j mod 4, j / 4).
  std::int64_t previous = -1;
  for (std::uint64_t j = 0; j < 1000; ++j) {
    std::int64_t due = schedule.due(j % 4, j / 4);
    EXPECT_GT(due, previous);
    previous = due;
  }
  EXPECT_EQ(schedule.due_between(0, 1'000'000'000), 1000u);
  EXPECT_EQ(schedule.due_between(2'000'000'000, 4'000'000'000), 2000u);
  EXPECT_EQ(schedule.due_between(500'000, 1'500'000), 1u); // only the one at 1 ms
  EXPECT_EQ(schedule.due_between(5, 5), 0u);
  open_loop_schedule odd{200, 7};
  EXPECT_EQ(odd.due_between(2'000'000'000, 4'000'000'000), 400u);
  open_loop_schedule fractional{3, 2}; // due at 0, 333.33.., 666.66.. ms
  EXPECT_EQ(fractional.due_between(0, 1'000'000'000), 3u);
  EXPECT_EQ(fractional.due_between(333'333'334, 1'000'000'000), 1u);
}
