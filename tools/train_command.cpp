// expctl train: send a training job (a YAML file, jobs/*.yml), watch it, cancel it
// (/admin/v1/training-jobs, docs/api.md).

#include <chrono>
#include <cmath>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <thread>

#include "tools/cli_errors.hpp"
#include "tools/expctl_command.hpp"
#include "tools/http_client.hpp"
#include "tools/yaml_json.hpp"

namespace expd::tools::expctl {

using nlohmann::json;

namespace {

const std::string synopsis = "train -f FILE [--dry-run] | train status JOB | train logs [-f] JOB"
                             " | train cancel JOB | train list";

std::string number(const json& x, const char* key, int precision, bool scientific = false) {
  if (!x.is_object() || !x.contains(key) || !x[key].is_number())
    return "-";
  std::ostringstream out;
  out << (scientific ? std::scientific : std::fixed) << std::setprecision(precision)
      << x[key].get<double>();
  return out.str();
}

// "1h02m03s" from seconds.
std::string duration(const json& x, const char* key) {
  if (!x.is_object() || !x.contains(key) || !x[key].is_number())
    return "-";
  auto total = static_cast<long long>(std::llround(x[key].get<double>()));
  std::ostringstream out;
  if (total >= 3600)
    out << total / 3600 << 'h' << std::setw(2) << std::setfill('0');
  if (total >= 60)
    out << (total / 60) % 60 << 'm' << std::setw(2) << std::setfill('0');
  out << total % 60 << 's';
  return out.str();
}

// "[#########...........]  45/100  45%", or the step alone while the total is unknown.
std::string progress_bar(const json& job) {
  auto step = job.value("step", std::uint64_t{0});
  if (!job.contains("total_steps") || !job["total_steps"].is_number_unsigned()
      || job["total_steps"].get<std::uint64_t>() == 0)
    return "step " + std::to_string(step) + " of ?";
  auto total = job["total_steps"].get<std::uint64_t>();
  constexpr int width = 30;
  auto done = std::min(step, total);
  auto filled = static_cast<int>(done * width / total);
  std::ostringstream out;
  out << '[' << std::string(filled, '#') << std::string(width - filled, '.') << "] " << step
      << '/' << total << "  " << done * 100 / total << '%';
  return out.str();
}

std::string job_path(const std::string& id, const char* what = "") {
  return "/admin/v1/training-jobs/" + escape_segment(id) + what;
}

bool finished(const json& job) {
  auto status = job.value("status", "");
  return status == "succeeded" || status == "failed" || status == "cancelled";
}

int submit(const settings& s, const command_line& line) {
  expect(line, {"file", "dry-run"}, 1, synopsis);
  auto file = *line.value("file");
  json doc = yaml_file_to_json(file);
  if (!doc.is_object())
    throw input_error(file + ": expected a mapping (a training job, as jobs/planner-lora.example.yml)");
  bool dry_run = line.has("dry-run");
  json answer = call(s, std::string{"/admin/v1/training-jobs"} + (dry_run ? "?dry_run=true" : ""),
                     doc, credential::admin);
  if (s.json_output) {
    print_json(answer);
  } else if (dry_run) {
    std::cout << "dry run: the job is valid; nothing stored\n";
  } else {
    std::cout << text(answer, "id") << '\n';
  }
  return 0;
}

void print_status(const json& job) {
  print_table({{"ID", "NAME", "STATUS", "STEP", "LOSS", "LR", "TOKENS/S", "LEFT", "FAILURES"},
               {text(job, "id"), text(job, "name"), text(job, "status"), text(job, "step"),
                number(job, "loss", 4), number(job, "learning_rate", 2, true),
                number(job, "tokens_per_second", 0), duration(job, "eta_seconds"),
                text(job, "failures") + "/" + text(job, "max_failures")}});
  std::cout << progress_bar(job) << '\n';
  if (job.contains("reason") && job["reason"].is_string())
    std::cout << "waiting: " << job["reason"].get<std::string>() << '\n';
  if (job.value("cancel_requested", false) && !finished(job))
    std::cout << "cancel requested\n";
  if (job.contains("error") && job["error"].is_string())
    std::cout << "last error: " << job["error"].get<std::string>() << '\n';
}

void print_log_row(const json& row) {
  std::cout << text(row, "at") << "  step " << text(row, "step");
  if (row.contains("message") && row["message"].is_string()) {
    std::cout << "  " << row["message"].get<std::string>() << '\n';
    return;
  }
  std::cout << "  loss " << number(row, "loss", 4) << "  lr " << number(row, "learning_rate", 2, true)
            << "  grad_norm " << number(row, "grad_norm", 3) << "  tokens/s "
            << number(row, "tokens_per_second", 0) << '\n';
}

// Prints the job's log from the start; following, polls for more until the job ended.
int logs(const settings& s, const std::string& id, bool follow) {
  constexpr std::size_t page = 1000;
  std::uint64_t after = 0;
  for (;;) {
    json answer = call(s, job_path(id, "/logs") + "?after=" + std::to_string(after)
                            + "&limit=" + std::to_string(page),
                       std::nullopt, credential::admin);
    const json& rows = list(answer, "logs");
    for (const json& row : rows) {
      if (s.json_output)
        std::cout << row.dump() << '\n';
      else
        print_log_row(row);
    }
    after = answer.value("next_after", after);
    if (rows.size() == page)
      continue; // more than one page waits: no pause
    const json& job = answer.contains("job") ? answer["job"] : json::object();
    if (!follow || finished(job)) {
      if (follow && !s.json_output)
        std::cout << "job " << text(job, "status") << '\n';
      return 0;
    }
    std::this_thread::sleep_for(std::chrono::seconds{1});
  }
}

} // namespace

int train_command(const settings& s, const command_line& line) {
  auto verb = line.words.size() > 1 ? line.words[1] : std::string{};
  if (verb.empty() && line.has("file"))
    return submit(s, line);
  if (verb == "list") {
    expect(line, {}, 2, synopsis);
    json answer = call(s, "/admin/v1/training-jobs", std::nullopt, credential::admin);
    if (s.json_output) {
      print_json(answer);
      return 0;
    }
    std::vector<std::vector<std::string>> rows = {
        {"ID", "NAME", "STATUS", "STEP", "TOTAL", "LOSS", "FAILURES", "CREATED"}};
    for (const json& j : list(answer, "jobs"))
      rows.push_back({text(j, "id"), text(j, "name"), text(j, "status"), text(j, "step"),
                      text(j, "total_steps"), number(j, "loss", 4), text(j, "failures"),
                      text(j, "created_at")});
    print_table(rows);
    return 0;
  }
  if (verb == "logs") {
    // `train logs -f JOB`: -f is --file on every other command, so here its value is the job.
    if (line.words.size() == 2 && line.has("file")) {
      expect(line, {"file"}, 2, synopsis);
      return logs(s, *line.value("file"), true);
    }
    expect(line, {"follow"}, 3, synopsis);
    return logs(s, line.words[2], line.has("follow"));
  }
  if (verb == "status" || verb == "cancel") {
    expect(line, {}, 3, synopsis);
    auto& id = line.words[2];
    json job = verb == "status" ? call(s, job_path(id), std::nullopt, credential::admin)
                                : call(s, job_path(id, "/cancel"), json::object(), credential::admin);
    if (s.json_output) {
      print_json(job);
      return 0;
    }
    if (verb == "cancel") {
      std::cout << text(job, "id") << ": "
                << (finished(job) ? text(job, "status") : "cancel requested") << '\n';
      return 0;
    }
    print_status(job);
    return 0;
  }
  throw usage_error("usage: expctl " + synopsis);
}

} // namespace expd::tools::expctl
