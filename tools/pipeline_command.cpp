// expctl pipelines: list the pipelines, their runs, trigger one now
// (/admin/v1/pipelines, /admin/v1/pipeline-runs, docs/api.md; docs/lifecycle.md, "Pipelines").

#include <iostream>

#include "tools/cli_errors.hpp"
#include "tools/expctl_command.hpp"
#include "tools/http_client.hpp"

namespace expd::tools::expctl {

using nlohmann::json;

namespace {

const std::string synopsis = "pipelines list | pipelines runs [NAME] | pipelines trigger NAME | pipelines show RUN";

// "build:succeeded,train:running"
std::string steps_summary(const json& run) {
  std::string out;
  if (run.contains("steps") && run["steps"].is_array())
    for (const json& s : run["steps"])
      out += (out.empty() ? "" : ",") + text(s, "name") + ":" + text(s, "status");
  return out.empty() ? "-" : out;
}

void print_runs(const json& runs) {
  std::vector<std::vector<std::string>> rows = {
    {"RUN", "PIPELINE", "SCHEDULED_FOR", "TRIGGER", "STATUS", "STEPS", "ERROR"}};
  for (const json& r : runs)
    rows.push_back({text(r, "id"), text(r, "pipeline"), text(r, "scheduled_for"), text(r, "trigger"),
                    text(r, "status"), steps_summary(r), r.value("error", "").empty() ? "-" : text(r, "error")});
  print_table(rows);
}

} // namespace

int pipelines_command(const settings& s, const command_line& line) {
  auto verb = line.words.size() > 1 ? line.words[1] : std::string{};
  json answer;
  if (verb == "list") {
    expect(line, {}, 2, synopsis);
    answer = call(s, "/admin/v1/pipelines", std::nullopt, credential::admin);
    if (!s.json_output) {
      std::vector<std::vector<std::string>> rows = {{"PIPELINE", "SCHEDULE", "ENABLED", "STEPS", "NEXT_RUN", "LAST_RUN"}};
      for (const json& p : list(answer, "pipelines")) {
        std::string steps;
        for (const json& st : p.value("steps", json::array()))
          steps += (steps.empty() ? "" : ",") + text(st, "name") + "(" + text(st, "kind") + ")";
        const json& last = p.contains("last_run") ? p["last_run"] : json(nullptr);
        rows.push_back({text(p, "name"), text(p, "schedule"), text(p, "enabled"), steps.empty() ? "-" : steps,
                        text(p, "next_run_at"),
                        last.is_object() ? text(last, "status") + " " + text(last, "scheduled_for") : "-"});
      }
      print_table(rows);
      return 0;
    }
  } else if (verb == "runs") {
    if (line.words.size() == 2)
      expect(line, {}, 2, synopsis);
    else
      expect(line, {}, 3, synopsis);
    auto path = line.words.size() == 3 ? "/admin/v1/pipelines/" + escape_segment(line.words[2]) + "/runs"
                                       : std::string{"/admin/v1/pipeline-runs"};
    answer = call(s, path, std::nullopt, credential::admin);
    if (!s.json_output) {
      print_runs(list(answer, "runs"));
      return 0;
    }
  } else if (verb == "trigger") {
    expect(line, {}, 3, synopsis);
    answer = call(s, "/admin/v1/pipelines/" + escape_segment(line.words[2]) + "/trigger", json::object(),
                  credential::admin);
    if (!s.json_output) {
      std::cout << "queued run " << text(answer, "id") << " of " << text(answer, "pipeline")
                << " (expctl pipelines show " << text(answer, "id") << ")\n";
      return 0;
    }
  } else if (verb == "show") {
    expect(line, {}, 3, synopsis);
    answer = call(s, "/admin/v1/pipeline-runs/" + escape_segment(line.words[2]), std::nullopt, credential::admin);
    if (!s.json_output) {
      print_runs(json::array({answer}));
      std::vector<std::vector<std::string>> rows = {{"STEP", "KIND", "STATUS", "STARTED", "FINISHED", "OUTPUTS"}};
      for (const json& st : answer.value("steps", json::array()))
        rows.push_back({text(st, "name"), text(st, "kind"), text(st, "status"), text(st, "started_at"),
                        text(st, "finished_at"), st.value("error", "").empty() ? text(st, "outputs") : text(st, "error")});
      print_table(rows);
      return 0;
    }
  } else {
    throw usage_error("usage: expctl " + synopsis);
  }
  print_json(answer);
  return 0;
}

} // namespace expd::tools::expctl
