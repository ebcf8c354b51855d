// expctl cluster: the cluster's nodes (GET /v1/cluster) and the operator's drain and forget.

#include <iomanip>
#include <iostream>
#include <sstream>

#include "tools/cli_errors.hpp"
#include "tools/expctl_command.hpp"
#include "tools/http_client.hpp"

namespace expd::tools::expctl {

using nlohmann::json;

namespace {

std::string number(const json& x, const char* key, int precision = 0) {
  if (!x.is_object() || !x.contains(key) || !x[key].is_number())
    return "-";
  std::ostringstream out;
  out << std::fixed << std::setprecision(precision) << x[key].get<double>();
  return out.str();
}

} // namespace

// cluster nodes | cluster drain NODE: GET /v1/cluster and the admin drain.
int cluster_command(const settings& s, const command_line& line) {
  const std::string synopsis = "cluster nodes | cluster drain NODE | cluster forget NODE";
  if (line.words.size() == 3 && (line.words[1] == "drain" || line.words[1] == "forget")) {
    expect(line, {}, 3, synopsis);
    json answer = call(s, "/admin/v1/cluster/nodes/" + escape_segment(line.words[2]) + "/"
                            + line.words[1],
                       json::object(), credential::admin);
    if (s.json_output) {
      print_json(answer);
      return 0;
    }
    std::cout << text(answer, "node") << ": " << text(answer, "was") << " -> "
              << text(answer, "state") << '\n';
    return 0;
  }
  expect(line, {}, 2, synopsis);
  if (line.words[1] != "nodes")
    throw usage_error("usage: expctl " + synopsis);
  json answer = call(s, "/v1/cluster", std::nullopt, credential::admin);
  if (s.json_output) {
    print_json(answer);
    return 0;
  }
  std::vector<std::vector<std::string>> rows = {
      {"NAME", "STATE", "HTTP", "CLUSTER", "SLOTS", "READY", "RING", "REQ/S", "ASSIGN_REQ/S",
       "ASSIGN/S", "EVENTS/S", "SPOOL", "LOADER", "WRITER", "STATS_AGE_S", "LEASE_S", "BUILD"}};
  for (const json& n : list(answer, "nodes")) {
    const json& stats = n.contains("stats") ? n["stats"] : json::object();
    rows.push_back({text(n, "name"), text(n, "state"), text(n, "http_address"),
                    text(n, "cluster_address"), number(n, "slots_owned"),
                    number(stats, "slots_ready"), number(stats, "ring_version"),
                    number(stats, "http_requests_per_second", 1),
                    number(stats, "assign_requests_per_second", 1),
                    number(stats, "assign_per_second", 1),
                    number(stats, "events_accepted_per_second", 1), number(stats, "spool_backlog"),
                    number(stats, "loader_queue"), number(stats, "writer_queue"),
                    number(n, "stats_age_seconds", 1), number(n, "lease_left_seconds", 2),
                    text(n, "build_version")});
  }
  print_table(rows);
  const json& ring = answer.contains("ring") ? answer["ring"] : json::object();
  std::cout << "ring version " << number(ring, "version") << ", " << number(ring, "slots")
            << " slots; answered by " << text(answer, "answered_by") << '\n';
  return 0;
}

} // namespace expd::tools::expctl
