// partner-loadgen: drives the gateway (gRPC), the echo service (gRPC) or the emulator (REST) and
// prints one JSON object: throughput, latency percentiles, errors by code, the server process's
// CPU, RSS, threads and scheduling, the generator's own CPU and context switches, and the
// emulator's upstream counters over the measured window. Or, with --mode wakeup, measures this
// machine's thread wake-up latency in the same terms.
#include <sys/types.h>

#include <cmath>
#include <cstdio>
#include <iostream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "bench/loadgen/grpc_driver.h"
#include "bench/loadgen/rest_driver.h"
#include "bench/loadgen/stats.h"
#include "bench/loadgen/wakeup_probe.h"
#include "bench/loadgen/workload.h"
#include "nlohmann/json.hpp"

ABSL_FLAG(std::string, mode, "grpc",
          "grpc (closed or open loop), rest, batch, sequential, or wakeup (one thread waking another at --rate)");
ABSL_FLAG(std::string, target, "", "gRPC host:port of the gateway or echo service");
ABSL_FLAG(std::string, rest_url, "", "emulator base URL for --mode=rest");
ABSL_FLAG(std::string, emulator_url, "", "emulator base URL whose /_emulator/counters are read (optional)");
ABSL_FLAG(std::string, ca_file, "", "PEM CA trusted for the emulator's https");
ABSL_FLAG(int, server_pid, 0, "process whose CPU, RSS and threads are reported (0: none)");
ABSL_FLAG(int, emulator_pid, 0,
          "the emulator behind --target, whose CPU per upstream request is reported (0: none; needs --emulator_url)");
ABSL_FLAG(std::string, mix, "get=1", "calls and weights: get, list, subs, assign");
ABSL_FLAG(int, concurrency, 64, "closed loop: calls in flight; rest open loop: the most in flight");
ABSL_FLAG(double, rate, 0, "open loop: calls per second (0: closed loop)");
ABSL_FLAG(double, duration_s, 10, "seconds the measured window stays open");
ABSL_FLAG(double, warmup_s, 0, "seconds of the same calls before the window opens (not with --total_calls)");
ABSL_FLAG(int64_t, total_calls, 0, "stop after this many calls instead of after --duration_s");
ABSL_FLAG(int, customers, 50, "customers to spread calls over");
ABSL_FLAG(int, customer_offset, 0, "skip the first N listed customers (untouched tenants for token-storm)");
ABSL_FLAG(bool, users_from_emulator, false,
          "find AssignRole principals in Graph at --emulator_url, not through the target (token-storm)");
ABSL_FLAG(bool, skip_discovery, false, "grpc: use --customer_ids instead of asking the target");
ABSL_FLAG(std::string, customer_ids, "echo-customer", "with --skip_discovery: comma-separated ids");
ABSL_FLAG(int, channels, 4, "gRPC channels (HTTP/2 connections)");
ABSL_FLAG(double, deadline_s, 60, "per-call deadline");
ABSL_FLAG(int, page_size, 100, "ListCustomers page size");
ABSL_FLAG(int, items, 1000, "batch and sequential: AssignRole items");

namespace {

using nlohmann::json;
using partner::bench::GrpcDriver;
using partner::bench::MeasuredWindow;
using partner::bench::Method;
using partner::bench::Mix;
using partner::bench::ProcessSampler;
using partner::bench::RunLimits;

[[noreturn]] void Fail(const std::string& message) {
  std::cerr << "partner-loadgen: " << message << "\n";
  std::exit(1);
}

absl::StatusOr<json> Counters() {
  const std::string url = absl::GetFlag(FLAGS_emulator_url);
  if (url.empty()) return json::object();
  absl::StatusOr<std::string> body = partner::bench::HttpGet(url + "/_emulator/counters", absl::GetFlag(FLAGS_ca_file));
  if (!body.ok()) return body.status();
  json parsed = json::parse(*body, nullptr, false);
  if (!parsed.is_object()) return absl::UnavailableError(absl::StrCat(url, "/_emulator/counters: not a JSON object"));
  return parsed;
}

// after - before, for the numbers and the per-key maps of the counters.
json Delta(const json& before, const json& after) {
  json out = json::object();
  for (auto it = after.begin(); it != after.end(); ++it) {
    if (it->is_number()) {
      out[it.key()] = it->get<std::int64_t>() - before.value(it.key(), std::int64_t{0});
    } else if (it->is_object()) {
      json inner = json::object();
      const json empty = json::object();
      const json& prior = before.contains(it.key()) ? before[it.key()] : empty;
      for (auto kv = it->begin(); kv != it->end(); ++kv) {
        const std::int64_t d = kv->get<std::int64_t>() - prior.value(kv.key(), std::int64_t{0});
        if (d != 0) inner[kv.key()] = d;
      }
      out[it.key()] = inner;
    }
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  // gRPC's locks are Abseil Mutexes, which Debian's Abseil records in a lock-order graph (3-4 % of
  // this generator's CPU under the concurrency mix); the gateway and the echo turn it off too.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  const std::string mode = absl::GetFlag(FLAGS_mode);
  if (mode != "grpc" && mode != "rest" && mode != "batch" && mode != "sequential" && mode != "wakeup") {
    Fail(absl::StrCat("--mode: unknown '", mode, "' (grpc, rest, batch, sequential or wakeup)"));
  }
  const double rate = absl::GetFlag(FLAGS_rate);
  if (!std::isfinite(rate) || rate < 0) Fail(absl::StrCat("--rate: ", rate, " is not a rate (calls per second, >= 0)"));
  if (rate > 0 && mode != "grpc" && mode != "rest" && mode != "wakeup") {
    Fail(absl::StrCat("--rate: --mode ", mode, " has no open loop (grpc and rest have)"));
  }
  if (rate == 0 && mode == "wakeup") Fail("--rate: --mode wakeup needs one (wake-ups per second)");
  absl::StatusOr<Mix> mix = Mix::Parse(absl::GetFlag(FLAGS_mix));
  if (!mix.ok()) Fail(std::string(mix.status().message()));
  if (absl::GetFlag(FLAGS_emulator_pid) != 0 && absl::GetFlag(FLAGS_emulator_url).empty()) {
    Fail("--emulator_pid: needs --emulator_url, whose request counters divide its CPU");
  }
  const int concurrency = absl::GetFlag(FLAGS_concurrency);
  if (concurrency < 1) Fail(absl::StrCat("--concurrency: ", concurrency, " calls in flight (at least 1)"));
  const RunLimits limits{absl::Seconds(absl::GetFlag(FLAGS_warmup_s)), absl::Seconds(absl::GetFlag(FLAGS_duration_s)),
                         absl::GetFlag(FLAGS_total_calls)};
  if (limits.total_calls > 0 && limits.warm_up > absl::ZeroDuration()) {
    Fail("--warmup_s: a run of --total_calls measures every call, so it has no warm-up");
  }
  json out = {{"mode", mode}};
  if (mode != "wakeup") out["mix"] = absl::GetFlag(FLAGS_mix);

  std::unique_ptr<GrpcDriver> grpc_driver;
  std::unique_ptr<partner::bench::RestDriver> rest_driver;
  if (mode == "rest") {
    partner::bench::RestOptions options;
    options.base_url = absl::GetFlag(FLAGS_rest_url);
    options.ca_file = absl::GetFlag(FLAGS_ca_file);
    options.page_size = absl::GetFlag(FLAGS_page_size);
    rest_driver = std::make_unique<partner::bench::RestDriver>(options);
    if (absl::Status s = rest_driver->Prepare(absl::GetFlag(FLAGS_customers)); !s.ok()) Fail(std::string(s.message()));
  } else if (mode != "wakeup") {
    partner::bench::GrpcOptions options;
    options.target = absl::GetFlag(FLAGS_target);
    options.channels = absl::GetFlag(FLAGS_channels);
    options.deadline = absl::Seconds(absl::GetFlag(FLAGS_deadline_s));
    options.page_size = absl::GetFlag(FLAGS_page_size);
    grpc_driver = std::make_unique<GrpcDriver>(options);
    if (absl::GetFlag(FLAGS_skip_discovery)) {
      std::vector<partner::bench::CustomerTarget> customers;
      for (absl::string_view id : absl::StrSplit(absl::GetFlag(FLAGS_customer_ids), ',', absl::SkipEmpty())) {
        customers.push_back({std::string(id), {}, {}});
      }
      grpc_driver->SetCustomers(std::move(customers));
    } else {
      const bool details = mode == "batch" || mode == "sequential" || mix->Uses(Method::kAssignRole) ||
                           mix->Uses(Method::kListAzureSubscriptions);
      partner::bench::UsersLookup users;
      if (absl::GetFlag(FLAGS_users_from_emulator)) {
        partner::bench::RestOptions options;
        options.base_url = absl::GetFlag(FLAGS_emulator_url);
        options.ca_file = absl::GetFlag(FLAGS_ca_file);
        auto graph = std::make_shared<partner::bench::RestDriver>(options);
        users = [graph](const std::string& tenant) { return graph->UserPrincipalNames(tenant); };
      }
      if (absl::Status s = grpc_driver->Discover(absl::GetFlag(FLAGS_customers), details,
                                                 absl::GetFlag(FLAGS_customer_offset), users);
          !s.ok()) {
        Fail(absl::StrCat("discovery: ", s.message()));
      }
    }
    out["customers"] = grpc_driver->customers().size();
  }

  // Snapshots before and after the measured window; one that fails is reported after the run,
  // whose calls are still in flight when the window closes.
  ProcessSampler sampler(static_cast<pid_t>(absl::GetFlag(FLAGS_server_pid)));
  ProcessSampler emulator_sampler(static_cast<pid_t>(absl::GetFlag(FLAGS_emulator_pid)));
  if (absl::Status s = sampler.Check(); !s.ok()) Fail(absl::StrCat("--server_pid: ", s.message()));
  if (absl::Status s = emulator_sampler.Check(); !s.ok()) Fail(absl::StrCat("--emulator_pid: ", s.message()));
  if (absl::StatusOr<json> reachable = Counters(); !reachable.ok()) Fail(std::string(reachable.status().message()));
  absl::StatusOr<json> before;
  absl::StatusOr<json> after;
  absl::Status snapshots;
  auto keep_first_failure = [&snapshots](absl::string_view what, const absl::Status& status) {
    if (!status.ok() && snapshots.ok()) snapshots = absl::Status(status.code(), absl::StrCat(what, status.message()));
  };
  double own_cpu_at_open = 0;
  double own_cpu_seconds = 0;
  std::int64_t own_switches_at_open = 0;
  std::int64_t own_switches = 0;
  MeasuredWindow window(
      [&] {
        before = Counters();
        keep_first_failure("emulator counters: ", before.status());
        keep_first_failure("--server_pid: ", sampler.Start());
        keep_first_failure("--emulator_pid: ", emulator_sampler.Start());
        own_cpu_at_open = partner::bench::OwnCpuSeconds();
        own_switches_at_open = partner::bench::OwnContextSwitches();
      },
      [&] {
        own_cpu_seconds = partner::bench::OwnCpuSeconds() - own_cpu_at_open;
        own_switches = partner::bench::OwnContextSwitches() - own_switches_at_open;
        sampler.Stop();
        emulator_sampler.Stop();
        after = Counters();
        keep_first_failure("emulator counters: ", after.status());
      });

  std::int64_t rpcs = 0;
  if (mode == "wakeup") {
    if (absl::Status s = partner::bench::RunWakeupProbe(rate, limits, &window); !s.ok()) Fail(std::string(s.message()));
    out.update(window.Summary());
    rpcs = window.completed();
    out["target_rate"] = rate;
  } else if (mode == "grpc" || mode == "rest") {
    if (rest_driver != nullptr) {
      const absl::Status s = rate > 0 ? rest_driver->RunOpen(*mix, rate, concurrency, limits, &window)
                                      : rest_driver->RunClosed(*mix, concurrency, limits, &window);
      if (!s.ok()) Fail(std::string(s.message()));
    } else if (rate > 0) {
      grpc_driver->RunOpen(*mix, rate, limits, &window);
    } else {
      grpc_driver->RunClosed(*mix, concurrency, limits, &window);
    }
    out.update(window.Summary());
    rpcs = window.completed();
    out["concurrency"] = concurrency;
    if (rate > 0) out["target_rate"] = rate;
  } else if (mode == "batch") {
    window.Open();
    out["batch"] = grpc_driver->RunBatch(absl::GetFlag(FLAGS_items));
    window.Close();
    rpcs = 1;
  } else {
    window.Open();
    out["sequential"] = grpc_driver->RunSequential(absl::GetFlag(FLAGS_items));
    window.Close();
    rpcs = absl::GetFlag(FLAGS_items);
  }
  if (!snapshots.ok()) Fail(std::string(snapshots.message()));
  // The client side's cost of the same exchanges: in rest mode, what one HTTPS request costs a
  // libcurl client (the generator's own bookkeeping included, so an upper estimate of it).
  const auto per = [](double total, std::int64_t count) { return count > 0 ? total / static_cast<double>(count) : 0.0; };
  out["client"] = {{"cpu_seconds", own_cpu_seconds},
                   {"cpu_us_per_request", per(own_cpu_seconds * 1e6, rpcs)},
                   {"context_switches_per_request", per(static_cast<double>(own_switches), rpcs)}};
  // A sampled process's cost per call (or per upstream request): CPU, and how often its threads
  // slept and woke and how long they then waited for a CPU (each hand-off between threads is a
  // wake-up, with the latency --mode wakeup measures).
  const auto add_per = [&per](json& process, std::int64_t count, absl::string_view unit) {
    if (!process.contains("cpu_seconds")) return;
    if (count > 0) process[absl::StrCat("cpu_us_per_", unit)] = per(process["cpu_seconds"].get<double>() * 1e6, count);
    const json& switches = process["context_switches"];
    process[absl::StrCat("context_switches_per_", unit)] =
        per(static_cast<double>(switches["voluntary"].get<std::int64_t>() + switches["involuntary"].get<std::int64_t>()),
            count);
    process[absl::StrCat("run_queue_wait_us_per_", unit)] =
        per(process["run_queue_wait_seconds"].get<double>() * 1e6, count);
  };
  json server = sampler.Summary();
  add_per(server, rpcs, "rpc");
  out["server"] = server;
  if (!after->empty()) {
    json upstream = Delta(*before, *after);
    const std::int64_t requests = upstream.value("upstreamRequests", std::int64_t{0});
    if (rpcs > 0) upstream["per_rpc"] = static_cast<double>(requests) / static_cast<double>(rpcs);
    // What the upstream's own work costs under this very mix and load, which a separate direct run
    // of one route cannot tell: the mix's routes, tokens and connections cost it differently.
    json emulator = emulator_sampler.Summary();
    if (emulator.contains("cpu_seconds") && requests > 0) {
      add_per(emulator, requests, "request");
      upstream["emulator"] = emulator;
    }
    out["upstream"] = upstream;
  }
  std::cout << out.dump() << std::endl;
  return 0;
}
