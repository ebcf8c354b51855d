// expctl: the operator's command line for expd. It speaks the node's HTTP/JSON API:
// the admin endpoints (with a bearer token) and the public /v1/assign.

#include <iostream>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <curl/curl.h>
#include <nlohmann/json.hpp>

#include "tools/cli_errors.hpp"
#include "tools/client_key.hpp"
#include "tools/command_line.hpp"
#include "tools/expctl_command.hpp"
#include "tools/http_client.hpp"
#include "tools/yaml_json.hpp"

namespace {

using namespace expd::tools;
using namespace expd::tools::expctl;
using nlohmann::json;

constexpr const char* usage_text = R"(usage: expctl [--server=URL] [--token=TOKEN] [-o json] COMMAND ...

commands:
  apply -f FILE [--dry-run]   create or update the event types, policies, saved groups,
                              experiments and pipelines in a YAML file (keys: event_types,
                              policies, saved_groups, experiments, pipelines)
  get experiments             list experiments
  get event-types             list event types and the metrics each may carry
  get policies                list policies, their versions and the MLflow model each serves
  get saved-groups            list saved groups: id lists (attribute, how many ids) and
                              conditions
  results NAME|ID [--confidence C] [--control VARIANT] [--correction holm|bh] [--power [--effect E] [--target-power P]]
                              an experiment's results: per variant and metric the mean,
                              its interval, the lift against control, p-values
                              (fixed-horizon, Holm- or BH-adjusted, always-valid), chance
                              to beat control, the sample-ratio check, and the
                              CUPED-adjusted comparisons when a pre-period is set
  events tail (--unit-id ID | --experiment-id UUID) [--event-type T] [--limit N]
              [--follow]      recent events, oldest first; --follow keeps polling
  start NAME                  set an experiment running
  pause NAME                  pause an experiment
  stop NAME                   stop an experiment
  set-status NAME STATUS      set an experiment's status (draft, running, paused, stopped)
                              (start, pause, stop, set-status take --reason TEXT: why,
                              shown by get experiments)
  assign --unit-type T --unit-id ID [--context JSON] [--experiment NAME]...
                              assign a unit to variants, as an SDK would
  aggregate --from TIME --to TIME
                              recompute the hourly, daily and cumulative aggregates of
                              [from, to) (RFC 3339, widened to whole UTC days) now
  keys new NAME --environment ENV --scopes SCOPE,...
                              make a client key: prints the key (once) and the line for
                              expd's --client-keys file (scopes: assign, events:write,
                              events:read, experiments:read)
  load (--rate=R | --concurrency=C) [--connections=N] [--duration=10s] [--warmup=2s]
       [--threads=N] [--timeout=2s] [--units=N] [--dist=uniform|zipf[:S]] [--seed=N]
       [--unit-type=T] [--experiments=A,B] [--context=JSON] [--json=FILE]
                              drive POST /v1/assign load through every --server (a
                              comma-separated list; connections go round-robin) and print
                              requests sent and completed, throughput, latency
                              percentiles (p50 to p99.9, max) and statuses and errors per
                              server. --rate: open loop, latency from each request's due
                              time; --concurrency: closed loop, C requests in flight.
                              --connections defaults to C, or 10 with --rate. Unit ids are
                              "T-K", K in 1..N (default 100000) drawn uniformly or by
                              Zipf's law (exponent S, default 1). --json writes the report
                              as JSON (docs/operations.md); exit 1 when nothing succeeded,
                              3 when no connection was made
  cluster nodes               the cluster's nodes: state, addresses, slots owned, ring
                              version, HTTP and assign requests/s, assignments/s, events
                              accepted/s, queue depths (spool, loader, writer), the
                              figures' age, build
  cluster drain NODE          move NODE's slots to the other nodes (it keeps answering
                              as a gateway; SIGTERM does the same before it stops)
  cluster forget NODE         remove a node that is down for good (its journal is lost
                              with it); until then allocation changes wait for it
  train -f FILE [--dry-run]   send a training job (YAML, as jobs/planner-lora.example.yml)
                              to the trainer workers; prints its id
  train status JOB            a job's state, step, loss, learning rate, tokens/s, time
                              left and a progress bar
  train logs [-f] JOB         a job's log: its progress reports, starts, retries and end;
                              -f (--follow) keeps polling until the job ends
  train cancel JOB            cancel a job (a running one once its workers stop)
  train list                  the newest training jobs
  replay MODEL/VERSION --baseline MODEL/VERSION|MODEL@ALIAS --dataset NAME/VERSION
          [--split validation|train|all] [--rows 1000] [--max-new-tokens 160]
          [--max-violations 0] [--tolerance METRIC=X]... [--no-wait]
                              offline replay: both models plan the dataset's rows, scored
                              against the accepted plans; accepted, the candidate gets
                              stage=candidate and @candidate; follows it to its verdict
  replay status ID            a replay's state, scores, intervals and failed criteria
  replay list                 the newest replays
  promote MODEL/VERSION --experiment E --allocation A [--steps A2,A3] [--hold 24h]
          [--min-exposures N] [--guardrail EVENT.METRIC:must_not_decrease|must_not_increase[:TOL]]...
          [--baseline V] [--variant V] [--policy P]
                              start a candidate's promotion: a new policy version and a
                              variant at A (at most 0.1), raised by steps while the
                              guardrails hold, rolled back on a breach or an SRM
  promote status [ID]         the active promotions, or one with its guardrails and steps
  promote list                every recent promotion
  dataset build NAME --from T --to T [--validation 0.1]
                              build a dataset version from the events of [T, T) (dates
                              or RFC 3339) joined with the domain tables: Parquet and a
                              manifest under datasets/NAME/VERSION/; prints the manifest
  dataset list                every dataset version, newest first
  dataset show NAME/VERSION   a version's manifest: rows, split, window, hash, file
  pipelines list              the pipelines: schedule, steps, next and last run
  pipelines runs [NAME]       the newest runs (of one pipeline) with each step's status
  pipelines trigger NAME      queue a run of the pipeline now
  pipelines show RUN          one run: its steps, their outputs and errors
  help                        show this text

options:
  --server=URL    expd server (load: URL,URL,... for several); default $EXPD_SERVER,
                  else http://127.0.0.1:8080
  --token=TOKEN   admin token; default $EXPD_ADMIN_TOKEN, else the first line of the
                  file named by $EXPD_ADMIN_TOKEN_FILE, else of ./var/admin.token
                  (results, events, assign and load send $EXPD_CLIENT_KEY when set,
                  else the admin token when there is one)
  -o json         print the server's JSON instead of a table

exit status: 0 ok; 1 the server answered with an error (or another failure);
2 usage error or invalid input file; 3 the server could not be reached.
)";

// A recompute of a long window runs for minutes; every other call answers at once.
constexpr long long_call_timeout_seconds = 3600;

// ---- command line ---------------------------------------------------------------

// Every command's options in one table: the names do not clash, so one pass parses
// the line and each command then rejects the ones it does not take.
const std::vector<option_spec> option_specs = {
    {"server", 0, true},      {"token", 0, true},   {"output", 'o', true},
    {"help", 'h', false},     {"file", 'f', true},  {"dry-run", 0, false},
    {"unit-type", 0, true},   {"unit-id", 0, true}, {"context", 0, true},
    {"experiment", 0, true},  {"experiment-id", 0, true}, {"event-type", 0, true},
    {"limit", 0, true},       {"follow", 0, false},
    {"from", 0, true},        {"to", 0, true},
    {"confidence", 0, true},  {"control", 0, true}, {"correction", 0, true},
    {"power", 0, false},      {"reason", 0, true},      {"effect", 0, true},  {"target-power", 0, true},
    {"environment", 0, true}, {"scopes", 0, true},
    {"connections", 0, true}, {"threads", 0, true}, {"duration", 0, true}, {"warmup", 0, true},
    {"timeout", 0, true},     {"rate", 0, true},    {"concurrency", 0, true}, {"units", 0, true},
    {"dist", 0, true},        {"seed", 0, true},    {"experiments", 0, true}, {"json", 0, true},
    {"allocation", 0, true},  {"steps", 0, true},   {"hold", 0, true},  {"min-exposures", 0, true},
    {"guardrail", 0, true},   {"baseline", 0, true}, {"variant", 0, true}, {"policy", 0, true},
    {"validation", 0, true},
    {"dataset", 0, true},     {"split", 0, true},   {"rows", 0, true},  {"max-new-tokens", 0, true},
    {"max-violations", 0, true}, {"tolerance", 0, true}, {"no-wait", 0, false},
};

// ---- commands ---------------------------------------------------------------------

// Sends one part of an apply document to its endpoint and prints what happened.
void apply_part(const settings& s, const std::string& path, const std::string& key,
                const json& items, bool dry_run) {
  json answer = call(s, path + (dry_run ? "?dry_run=true" : ""), json{{key, items}}, credential::admin);
  if (s.json_output) {
    print_json(answer);
    return;
  }
  bool with_ids = key == "experiments";
  bool versioned = with_ids || key == "saved_groups"; // both make a new snapshot
  std::vector<std::vector<std::string>> rows;
  if (key == "policies") {
    rows = {{"POLICY", "VERSION", "MLFLOW_MODEL", "ID", "ACTION"}};
    for (const json& p : list(answer, "policies")) {
      if (!p.contains("versions") || !p["versions"].is_array() || p["versions"].empty())
        rows.push_back({text(p, "name"), "-", "-", "-", text(p, "action")});
      else
        for (const json& v : p["versions"])
          rows.push_back({text(p, "name"), text(v, "version"), text(v, "mlflow_model"), text(v, "id"),
                          text(v, "action")});
    }
  } else if (key == "saved_groups") {
    rows = {{"SAVED_GROUP", "KIND", "ACTION"}};
    for (const json& g : list(answer, "saved_groups"))
      rows.push_back({text(g, "name"), text(g, "kind"), text(g, "action")});
  } else {
    rows = {with_ids              ? std::vector<std::string>{"NAME", "ID", "ACTION"}
            : key == "pipelines" ? std::vector<std::string>{"PIPELINE", "ACTION"}
                                  : std::vector<std::string>{"EVENT_TYPE", "ACTION"}};
    for (const json& e : list(answer, key.c_str())) {
      if (with_ids)
        rows.push_back({text(e, "name"), text(e, "id"), text(e, "action")});
      else
        rows.push_back({text(e, "name"), text(e, "action")});
    }
  }
  print_table(rows);
  // The server's word, not the flag: a server that ignored dry_run did change things.
  bool was_dry_run = answer.contains("dry_run") ? answer["dry_run"] == true : dry_run;
  if (was_dry_run) {
    std::cout << "dry run: nothing changed\n";
  } else if (versioned) {
    std::cout << "applied version " << text(answer, "version") << '\n';
  }
}

int apply(const settings& s, const command_line& line) {
  expect(line, {"file", "dry-run"}, 1, "apply -f FILE [--dry-run]");
  std::optional<std::string> file = line.value("file");
  if (!file) {
    throw usage_error("usage: expctl apply -f FILE [--dry-run]");
  }
  json document = expd::tools::yaml_file_to_json(*file);
  // Only these keys are sent, so a misspelt top-level key must not pass unnoticed.
  bool known = document.is_object() && !document.empty();
  for (auto it = known ? document.begin() : json::iterator{}; known && it != document.end(); ++it)
    known = (it.key() == "experiments" || it.key() == "event_types" || it.key() == "policies"
             || it.key() == "saved_groups" || it.key() == "pipelines")
            && it.value().is_array();
  if (!known) {
    throw input_error(*file + ": expected a mapping with event_types, policies, saved_groups, experiments"
                              " and/or pipelines, each a list");
  }
  bool dry_run = line.has("dry-run");
  // Event types first: events of a new experiment may name them at once; policies and
  // saved groups before experiments, whose variants may name the policies' new versions
  // and whose conditions the new groups.
  if (document.contains("event_types")) {
    apply_part(s, "/admin/v1/event-types/apply", "event_types", document["event_types"], dry_run);
  }
  if (document.contains("policies")) {
    apply_part(s, "/admin/v1/policies/apply", "policies", document["policies"], dry_run);
  }
  if (document.contains("saved_groups")) {
    apply_part(s, "/admin/v1/saved-groups/apply", "saved_groups", document["saved_groups"], dry_run);
  }
  if (document.contains("experiments")) {
    apply_part(s, "/admin/v1/experiments/apply", "experiments", document["experiments"], dry_run);
  }
  // Pipelines last: their steps run what the parts above define.
  if (document.contains("pipelines")) {
    apply_part(s, "/admin/v1/pipelines/apply", "pipelines", document["pipelines"], dry_run);
  }
  return 0;
}

// "control:0.5,leftovers_v2:0.5"
std::string variants_summary(const json& experiment) {
  std::string summary;
  if (experiment.contains("variants") && experiment["variants"].is_array()) {
    for (const json& v : experiment["variants"]) {
      summary += (summary.empty() ? "" : ",") + text(v, "name") + ":" + text(v, "allocation");
    }
  }
  return summary.empty() ? "-" : summary;
}

int get_event_types(const settings& s) {
  json answer = call(s, "/admin/v1/event-types", std::nullopt, credential::admin);
  if (s.json_output) {
    print_json(answer);
    return 0;
  }
  std::vector<std::vector<std::string>> rows = {{"NAME", "METRICS", "DESCRIPTION"}};
  for (const json& t : list(answer, "event_types")) {
    std::string metrics;
    if (t.contains("metrics") && t["metrics"].is_object())
      for (auto it = t["metrics"].begin(); it != t["metrics"].end(); ++it)
        metrics += (metrics.empty() ? "" : ",") + it.key() + ":" + text(it.value(), "type");
    rows.push_back({text(t, "name"), metrics.empty() ? "-" : metrics, text(t, "description")});
  }
  print_table(rows);
  return 0;
}

int get_policies(const settings& s) {
  json answer = call(s, "/admin/v1/policies", std::nullopt, credential::admin);
  if (s.json_output) {
    print_json(answer);
    return 0;
  }
  std::vector<std::vector<std::string>> rows = {{"POLICY", "VERSION", "MLFLOW_MODEL", "ID", "CREATED_AT"}};
  for (const json& p : list(answer, "policies")) {
    if (!p.contains("versions") || !p["versions"].is_array() || p["versions"].empty())
      rows.push_back({text(p, "name"), "-", "-", "-", text(p, "created_at")});
    else
      for (const json& v : p["versions"])
        rows.push_back({text(p, "name"), text(v, "version"),
                        text(v, "mlflow_model_name") + "/" + text(v, "mlflow_model_version"), text(v, "id"),
                        text(v, "created_at")});
  }
  print_table(rows);
  return 0;
}

int get_saved_groups(const settings& s) {
  json answer = call(s, "/admin/v1/saved-groups", std::nullopt, credential::admin);
  if (s.json_output) {
    print_json(answer);
    return 0;
  }
  std::vector<std::vector<std::string>> rows = {{"NAME", "KIND", "ATTRIBUTE", "IDS", "DESCRIPTION"}};
  for (const json& g : list(answer, "saved_groups")) {
    bool ids = g.contains("values") && g["values"].is_array();
    rows.push_back({text(g, "name"), ids ? "id_list" : "condition", ids ? text(g, "attribute_key") : "-",
                    ids ? std::to_string(g["values"].size()) : "-", text(g, "description")});
  }
  print_table(rows);
  return 0;
}

int get(const settings& s, const command_line& line) {
  expect(line, {}, 2, "get experiments|event-types|policies|saved-groups");
  if (line.words[1] == "event-types") {
    return get_event_types(s);
  }
  if (line.words[1] == "policies") {
    return get_policies(s);
  }
  if (line.words[1] == "saved-groups") {
    return get_saved_groups(s);
  }
  if (line.words[1] != "experiments") {
    throw usage_error("cannot get \"" + line.words[1]
                      + "\"; expctl can get: experiments, event-types, policies, saved-groups");
  }
  json answer = call(s, "/admin/v1/experiments", std::nullopt, credential::admin);
  if (s.json_output) {
    print_json(answer);
    return 0;
  }
  // REASON: why the status last changed (a stopping rule's words, or an operator's).
  std::vector<std::vector<std::string>> rows = {{"NAME", "STATUS", "UNIT_TYPE", "VARIANTS", "ID", "REASON"}};
  for (const json& e : list(answer, "experiments")) {
    rows.push_back({text(e, "name"), text(e, "status"), text(e, "unit_type"), variants_summary(e),
                    text(e, "id"), e.value("status_reason", "")});
  }
  print_table(rows);
  return 0;
}

int set_status(const settings& s, const command_line& line, const std::string& name,
               const std::string& status) {
  json body{{"status", status}};
  if (auto reason = line.value("reason"))
    body["reason"] = *reason;
  json answer = call(s, "/admin/v1/experiments/" + escape_segment(name) + "/status", body,
                     credential::admin);
  if (s.json_output) {
    print_json(answer);
    return 0;
  }
  std::cout << text(answer, "name") << ": " << text(answer, "previous_status") << " -> "
            << text(answer, "status") << '\n';
  return 0;
}

// start, pause and stop: set-status with the status implied by the verb.
int status_verb(const settings& s, const command_line& line, const std::string& status) {
  expect(line, {"reason"}, 2, line.words[0] + " NAME [--reason TEXT]");
  return set_status(s, line, line.words[1], status);
}

int set_status_command(const settings& s, const command_line& line) {
  expect(line, {"reason"}, 3, "set-status NAME STATUS [--reason TEXT]");
  return set_status(s, line, line.words[1], line.words[2]);
}

int assign(const settings& s, const command_line& line) {
  const std::string synopsis =
      "assign --unit-type T --unit-id ID [--context JSON] [--experiment NAME]...";
  expect(line, {"unit-type", "unit-id", "context", "experiment"}, 1, synopsis);
  std::optional<std::string> unit_type = line.value("unit-type");
  std::optional<std::string> unit_id = line.value("unit-id");
  if (!unit_type || !unit_id) {
    throw usage_error("usage: expctl " + synopsis);
  }
  json context = json::object();
  if (std::optional<std::string> raw = line.value("context")) {
    context = json::parse(*raw, nullptr, false);
    if (!context.is_object()) {
      throw usage_error("--context must be a JSON object, like '{\"country\":\"US\"}'");
    }
  }
  json request = {{"unit_type", *unit_type}, {"unit_id", *unit_id}, {"context", context}};
  if (std::vector<std::string> experiments = line.values("experiment"); !experiments.empty()) {
    request["requested_experiments"] = experiments;
  }
  json answer = call(s, "/v1/assign", request, credential::client);
  if (s.json_output) {
    print_json(answer);
    return 0;
  }
  for (const json& a : list(answer, "assignments")) {
    std::cout << text(a, "experiment_id") << ' ' << text(a, "variant_name") << ' '
              << (a.contains("config") ? dump(a["config"]) : "null") << '\n';
  }
  return 0;
}

// One line per event: time, type, unit, variants, metrics.
void print_event(const json& e) {
  std::string variants;
  if (e.contains("experiments") && e["experiments"].is_array())
    for (const json& x : e["experiments"])
      variants += (variants.empty() ? "" : ",") + text(x, "variant_id");
  std::cout << text(e, "timestamp") << ' ' << text(e, "event_type") << ' ' << text(e, "unit_type")
            << ':' << text(e, "unit_id") << ' ' << (variants.empty() ? "-" : variants) << ' '
            << (e.contains("metrics") ? dump(e["metrics"]) : "{}") << '\n';
}

int events(const settings& s, const command_line& line) {
  const std::string synopsis = "events tail (--unit-id ID | --experiment-id UUID) [--event-type T] "
                               "[--limit N] [--follow]";
  expect(line, {"unit-id", "experiment-id", "event-type", "limit", "follow"}, 2, synopsis);
  if (line.words[1] != "tail") {
    throw usage_error("usage: expctl " + synopsis);
  }
  std::string query = query_of(line, {"unit-id", "experiment-id", "event-type", "limit"});
  std::set<std::string> shown;
  for (;;) {
    json answer = call(s, "/v1/events" + query, std::nullopt, credential::client);
    if (s.json_output && !line.has("follow")) {
      print_json(answer);
      return 0;
    }
    std::vector<json> fresh;
    for (const json& e : list(answer, "events"))
      if (shown.insert(text(e, "event_id")).second)
        fresh.push_back(e);
    for (auto it = fresh.rbegin(); it != fresh.rend(); ++it) // the server sends newest first
      s.json_output ? print_json(*it) : print_event(*it);
    std::cout.flush();
    if (!line.has("follow"))
      return 0;
    std::this_thread::sleep_for(std::chrono::seconds{1});
  }
}

// POST /admin/v1/aggregate: the server checks the times and names the field at fault.
int aggregate(const settings& s, const command_line& line) {
  const std::string synopsis = "aggregate --from TIME --to TIME";
  expect(line, {"from", "to"}, 1, synopsis);
  std::optional<std::string> from = line.value("from"), to = line.value("to");
  if (!from || !to) {
    throw usage_error("usage: expctl " + synopsis);
  }
  json answer = call(s, "/admin/v1/aggregate", json{{"from", *from}, {"to", *to}}, credential::admin,
                     long_call_timeout_seconds);
  if (s.json_output) {
    print_json(answer);
    return 0;
  }
  std::cout << "aggregated " << text(answer, "from") << " .. " << text(answer, "to") << ": "
            << text(answer, "experiments") << " experiments, " << text(answer, "metric_rows")
            << " metric rows, " << text(answer, "exposure_rows") << " exposure rows in "
            << text(answer, "seconds") << " s\n";
  return 0;
}

// keys new NAME --environment E --scopes S: nothing is sent; the key is printed once.
int keys(const command_line& line) {
  expect(line, {"environment", "scopes"}, 3, "keys new NAME --environment ENV --scopes SCOPE,...");
  if (line.words[1] != "new") {
    throw usage_error("usage: expctl keys new NAME --environment ENV --scopes SCOPE,...");
  }
  auto environment = line.value("environment"), scopes = line.value("scopes");
  if (!environment || !scopes) {
    throw usage_error("keys new needs --environment and --scopes");
  }
  print_new_client_key(line.words[2], *environment, *scopes, std::cout);
  return 0;
}

int run(const settings& s, const command_line& line) {
  const std::string& command = line.words[0];
  if (command == "apply") {
    return apply(s, line);
  }
  if (command == "get") {
    return get(s, line);
  }
  if (command == "results") {
    return results_command(s, line);
  }
  if (command == "start") {
    return status_verb(s, line, "running");
  }
  if (command == "pause") {
    return status_verb(s, line, "paused");
  }
  if (command == "stop") {
    return status_verb(s, line, "stopped");
  }
  if (command == "set-status") {
    return set_status_command(s, line);
  }
  if (command == "assign") {
    return assign(s, line);
  }
  if (command == "events") {
    return events(s, line);
  }
  if (command == "aggregate") {
    return aggregate(s, line);
  }
  if (command == "keys") {
    return keys(line);
  }
  if (command == "load") {
    return load_command(s, line);
  }
  if (command == "cluster") {
    return cluster_command(s, line);
  }
  if (command == "train") {
    return train_command(s, line);
  }
  if (command == "replay") {
    return replay_command(s, line);
  }
  if (command == "promote") {
    return promote_command(s, line);
  }
  if (command == "dataset") {
    return dataset_command(s, line);
  }
  if (command == "pipelines") {
    return pipelines_command(s, line);
  }
  throw usage_error("unknown command \"" + command + "\"");
}

// libcurl's process-wide setup, for the lifetime of main's work.
struct curl_library {
  curl_library() {
    curl_global_init(CURL_GLOBAL_DEFAULT);
  }
  ~curl_library() {
    curl_global_cleanup();
  }
};

} // namespace

int main(int argc, char** argv) {
  try {
    command_line line = parse_command_line(argc, argv, option_specs);
    if (line.has("help") || line.words.empty() || line.words[0] == "help") {
      std::cout << usage_text;
      return 0;
    }
    settings s = make_settings(line);
    curl_library curl;
    return run(s, line);
  } catch (const usage_error& e) {
    std::cerr << "error: " << e.what() << "\nrun 'expctl help' for usage\n";
    return 2;
  } catch (const input_error& e) {
    std::cerr << "error: " << e.what() << '\n';
    return 2;
  } catch (const expd::tools::yaml_error& e) {
    std::cerr << "error: " << e.what() << '\n';
    return 2;
  } catch (const server_error& e) {
    std::cerr << "error: " << e.what() << '\n';
    return 1;
  } catch (const unreachable_error& e) {
    std::cerr << "error: " << e.what() << '\n';
    return 3;
  } catch (const std::exception& e) {
    // Unforeseen failures (out of memory, libcurl setup): a plain failure.
    std::cerr << "error: " << e.what() << '\n';
    return 1;
  }
}
