#include <gtest/gtest.h>

#include "tools/cli_errors.hpp"
#include "tools/http_client.hpp"

using namespace expd::tools;

TEST(http_client, describes_the_apis_errors_and_anything_else) {
  EXPECT_EQ(describe_error({422, R"({"error":{"code":"invalid_experiment","message":"allocation must lie in [0, 1]","field":"experiments[0].variants[1].allocation"}})"}),
            "allocation must lie in [0, 1] (field: experiments[0].variants[1].allocation) [HTTP 422 invalid_experiment]");
  EXPECT_EQ(describe_error({401, R"({"error":{"message":"no token"}})"}), "no token [HTTP 401]");
  EXPECT_EQ(describe_error({502, "<html>Bad Gateway</html>"}), "HTTP 502: <html>Bad Gateway</html>");
  EXPECT_EQ(describe_error({500, ""}), "HTTP 500 with an empty body");
  EXPECT_EQ(describe_error({500, std::string(1000, 'x')}).size(), std::string("HTTP 500: ").size() + 200);
}

TEST(http_client, escapes_path_segments) {
  EXPECT_EQ(escape_segment("planner_policy_exp-1.0~"), "planner_policy_exp-1.0~");
  EXPECT_EQ(escape_segment("a b/c?d&e%"), "a%20b%2Fc%3Fd%26e%25");
  EXPECT_EQ(escape_segment("\xc3\xa9"), "%C3%A9");
}

TEST(http_client, an_unreachable_server_is_its_own_error) {
  // Port 1 on loopback: refused at once.
  EXPECT_THROW(perform("http://127.0.0.1:1/health", std::nullopt, "", 5), unreachable_error);
  EXPECT_EQ(dump(nlohmann::json(std::string("\xff"))), "\"\xEF\xBF\xBD\"");
}
