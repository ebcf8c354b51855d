#include <cstdio>
#include <fstream>

#include <gtest/gtest.h>

#include "runtime/web_assets.hpp"

using namespace expd::runtime;

namespace {

const std::vector<web_file> files{{"index.html", "<html></html>"},
                                  {"app.js", "console.log(1)"},
                                  {"style.css", "body{}"}};

std::string scratch_chartjs() {
  auto path = ::testing::TempDir() + "web_assets_chart.js";
  std::ofstream{path} << "/* chart */";
  return path;
}

} // namespace

TEST(web_assets, serves_its_files_with_their_content_type) {
  web_assets web{files, scratch_chartjs()};
  auto index = web.find("/dashboard");
  EXPECT_EQ(index.status, 200);
  EXPECT_STREQ(index.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(*index.body, "<html></html>");
  EXPECT_EQ(*web.find("/dashboard/").body, "<html></html>");
  EXPECT_STREQ(web.find("/dashboard/app.js").content_type, "text/javascript; charset=utf-8");
  EXPECT_STREQ(web.find("/dashboard/style.css").content_type, "text/css; charset=utf-8");
  auto chart = web.find("/dashboard/vendor/chart.js");
  EXPECT_EQ(chart.status, 200);
  EXPECT_EQ(*chart.body, "/* chart */");
}

TEST(web_assets, refuses_traversal_and_unknown_names) {
  web_assets web{files, scratch_chartjs()};
  for (auto path : {"/dashboard/../etc/passwd", "/dashboard/..%2f..%2fetc%2fpasswd",
                    "/dashboard/%2e%2e/CMakeLists.txt", "/dashboard/vendor/../app.js",
                    "/dashboard//app.js", "/dashboard/vendor/", "/dashboard/nothing.js",
                    "/dashboardapp.js", "/dashboard/app.js/", "/dashboard/./app.js",
                    "/dashboard/web_assets_chart.js", "/etc/passwd"}) {
    auto r = web.find(path);
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_STREQ(r.content_type, "application/json") << path;
    EXPECT_NE(r.body->find("\"not_found\""), std::string::npos) << path;
  }
}

TEST(web_assets, a_missing_chartjs_says_what_to_install) {
  web_assets web{files, "/nonexistent/chart.min.js"};
  EXPECT_FALSE(web.has_chartjs());
  auto r = web.find("/dashboard/vendor/chart.js");
  EXPECT_EQ(r.status, 500);
  EXPECT_NE(r.body->find("libjs-chart.js"), std::string::npos);
  EXPECT_NE(r.body->find("/nonexistent/chart.min.js"), std::string::npos);
  EXPECT_EQ(web.find("/dashboard").status, 200);
}

TEST(web_assets, the_embedded_dashboard_is_complete) {
  std::vector<std::string> names;
  for (auto& f : embedded_web_files())
    names.emplace_back(f.name);
  for (auto want : {"app.js", "index.html", "style.css"})
    EXPECT_NE(std::find(names.begin(), names.end(), want), names.end()) << want;
}
