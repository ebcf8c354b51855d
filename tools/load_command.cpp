// expctl load: assignment load through one or more nodes (tools/load_generator).

#include <fstream>
#include <iostream>

#include "tools/cli_errors.hpp"
#include "tools/expctl_command.hpp"
#include "tools/http_client.hpp"
#include "tools/load_config.hpp"
#include "tools/load_generator.hpp"

namespace expd::tools::expctl {

using nlohmann::json;

int load_command(const settings& s, const command_line& line) {
  expect(line, load_option_names, 1, "load (--rate=R | --concurrency=C) [options]; see expctl help");
  load_config config = parse_load_config(line, s.server);
  config.token = client_token(s);
  std::optional<std::string> json_path = line.value("json");
  load_result result = run_load(config);
  json report = load_report_json(config, result);
  if (json_path) {
    std::ofstream out(*json_path);
    out << dump(report, 2) << '\n';
    if (!out.flush())
      throw input_error("cannot write " + *json_path);
  }
  std::cout << (s.json_output ? dump(report, 2) + "\n" : load_report_text(report));
  if (report["succeeded"] == 0) {
    std::cerr << "error: no request succeeded"
              << (result.connected_once ? "" : ": no connection to any server was established") << '\n';
    return result.connected_once ? 1 : 3;
  }
  return 0;
}

} // namespace expd::tools::expctl
