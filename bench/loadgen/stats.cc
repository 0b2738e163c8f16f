#include "bench/loadgen/stats.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

namespace partner::bench {

void LatencyRecorder::Record(int code, absl::Duration latency) {
  const std::int64_t us = absl::ToInt64Microseconds(latency);
  absl::MutexLock lock(&mu_);
  micros_.push_back(static_cast<std::uint32_t>(std::clamp<std::int64_t>(us, 0, UINT32_MAX)));
  ++codes_[code];
}

std::int64_t LatencyRecorder::completed() const {
  absl::MutexLock lock(&mu_);
  return static_cast<std::int64_t>(micros_.size());
}

std::int64_t LatencyRecorder::succeeded() const {
  absl::MutexLock lock(&mu_);
  std::int64_t ok = 0;
  for (const auto& [code, n] : codes_) {
    if (code == 0 || (code >= 200 && code < 300)) ok += n;
  }
  return ok;
}

nlohmann::json LatencyRecorder::Summary() const {
  std::vector<std::uint32_t> sorted;
  std::map<int, std::int64_t> codes;
  {
    absl::MutexLock lock(&mu_);
    sorted = micros_;
    codes = codes_;
  }
  std::sort(sorted.begin(), sorted.end());
  // Nearest-rank percentile: the smallest sample with at least q of the samples at or below it.
  auto at = [&](double q) {
    if (sorted.empty()) return 0.0;
    const std::size_t rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(sorted.size())));
    return sorted[std::min(sorted.size() - 1, rank == 0 ? 0 : rank - 1)] / 1000.0;
  };
  double sum = 0;
  for (std::uint32_t us : sorted) sum += us;
  nlohmann::json errors = nlohmann::json::object();
  std::int64_t ok = 0;
  for (const auto& [code, n] : codes) {
    if (code == 0 || (code >= 200 && code < 300)) ok += n;
    else errors[std::to_string(code)] = n;
  }
  return {{"completed", sorted.size()},
          {"ok", ok},
          {"errors", errors},
          {"latency_ms",
           {{"p50", at(0.50)},
            {"p90", at(0.90)},
            {"p99", at(0.99)},
            {"p999", at(0.999)},
            {"max", sorted.empty() ? 0.0 : sorted.back() / 1000.0},
            {"mean", sorted.empty() ? 0.0 : sum / static_cast<double>(sorted.size()) / 1000.0}}}};
}

void MeasuredWindow::Open() {
  opening_();
  opened_at_ = absl::Now();
  phase_ = Phase::kOpen;
}

void MeasuredWindow::Close() {
  phase_ = Phase::kClosed;
  closed_at_ = absl::Now();
  closed_();
}

void MeasuredWindow::Record(int code, absl::Duration latency) {
  switch (phase_.load()) {
    case Phase::kWarmUp:
      warm_up_.Record(code, latency);
      return;
    case Phase::kOpen:
      measured_.Record(code, latency);
      return;
    case Phase::kClosed:
      drain_.Record(code, latency);
      return;
  }
}

nlohmann::json MeasuredWindow::Summary() const {
  nlohmann::json out = measured_.Summary();
  const double seconds = closed() ? absl::ToDoubleSeconds(closed_at_ - opened_at_) : 0.0;
  out["seconds"] = seconds;
  out["throughput_rps"] = seconds > 0 ? static_cast<double>(measured_.completed()) / seconds : 0.0;
  auto calls = [](const LatencyRecorder& recorder) {
    nlohmann::json summary = recorder.Summary();
    summary.erase("latency_ms");
    return summary;
  };
  out["unmeasured"] = {{"warm_up", calls(warm_up_)}, {"drain", calls(drain_)}};
  return out;
}

void HoldWindow(const RunLimits& limits, absl::Time start, MeasuredWindow* window) {
  if (!window->opened()) {
    absl::SleepFor(start + limits.warm_up - absl::Now());
    window->Open();
  }
  absl::SleepFor(window->opened_at() + limits.duration - absl::Now());
  window->Close();
}

void RunInWindow(const RunLimits& limits, MeasuredWindow* window, absl::FunctionRef<void(absl::Time start)> launch,
                 absl::FunctionRef<void()> wait_for_calls) {
  const absl::Time start = absl::Now();
  if (limits.OpensAtFirstCall()) window->Open();
  launch(start);
  if (!limits.counted()) HoldWindow(limits, start, window);
  wait_for_calls();
  if (limits.counted()) window->Close();
}

void PaceAtRate(double rate, const RunLimits& limits, absl::Time start, MeasuredWindow* window,
                absl::FunctionRef<void(std::uint64_t sequence, absl::Time due)> call) {
  for (std::uint64_t sequence = 0;; ++sequence) {
    const absl::Time due = start + absl::Seconds(static_cast<double>(sequence) / rate);
    if (limits.counted() && sequence >= static_cast<std::uint64_t>(limits.total_calls)) return;
    if (!window->opened() && due >= start + limits.warm_up) {
      absl::SleepFor(start + limits.warm_up - absl::Now());
      window->Open();
    }
    if (!limits.counted() && window->opened() && due >= window->opened_at() + limits.duration) return;
    absl::SleepFor(due - absl::Now());
    call(sequence, due);
  }
}

double OwnCpuSeconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  const auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

std::int64_t OwnContextSwitches() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return usage.ru_nvcsw + usage.ru_nivcsw;
}

std::map<pid_t, ProcessSampler::Scheduling> ProcessSampler::ReadScheduling() const {
  std::map<pid_t, Scheduling> threads;
  std::error_code error;
  for (std::filesystem::directory_iterator it(absl::StrCat("/proc/", pid_, "/task"), error), end; !error && it != end;
       it.increment(error)) {
    const std::filesystem::path& thread = it->path();
    pid_t tid = 0;
    if (!absl::SimpleAtoi(thread.filename().string(), &tid)) continue;
    Scheduling s;
    std::ifstream status(thread / "status");
    std::string line;
    while (std::getline(status, line)) {
      std::vector<std::string> kv = absl::StrSplit(line, absl::MaxSplits(':', 1));
      if (kv.size() != 2) continue;
      std::int64_t value = 0;
      if (!absl::SimpleAtoi(kv[1], &value)) continue;
      if (kv[0] == "voluntary_ctxt_switches") s.voluntary_switches = value;
      else if (kv[0] == "nonvoluntary_ctxt_switches") s.involuntary_switches = value;
    }
    // schedstat: time on a CPU, time runnable but waiting for one (both ns), timeslices run.
    std::ifstream schedstat(thread / "schedstat");
    std::int64_t on_cpu_ns = 0;
    schedstat >> on_cpu_ns >> s.run_queue_wait_ns;
    // A thread that ended between the listing and these reads is left out, as one that ended earlier.
    if (!schedstat) continue;
    threads[tid] = s;
  }
  return threads;
}

ProcessSampler::Snapshot ProcessSampler::Read() const {
  Snapshot s;
  std::ifstream stat(absl::StrCat("/proc/", pid_, "/stat"));
  std::string line;
  if (std::getline(stat, line)) {
    // Fields after the parenthesised command name (which may hold spaces): state is field 3,
    // utime and stime are fields 14 and 15.
    const std::size_t close = line.rfind(')');
    std::vector<std::string> fields = absl::StrSplit(line.substr(close + 2), ' ');
    double utime = 0, stime = 0;
    if (fields.size() > 13 && absl::SimpleAtod(fields[11], &utime) && absl::SimpleAtod(fields[12], &stime)) {
      s.cpu_seconds = (utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
      s.readable = true;
    }
  }
  std::ifstream status(absl::StrCat("/proc/", pid_, "/status"));
  while (std::getline(status, line)) {
    std::vector<std::string> kv = absl::StrSplit(line, absl::MaxSplits(':', 1));
    if (kv.size() != 2) continue;
    std::int64_t value = 0;
    std::vector<std::string> words = absl::StrSplit(kv[1], ' ', absl::SkipWhitespace());
    if (words.empty() || !absl::SimpleAtoi(words[0], &value)) continue;
    if (kv[0] == "Threads") s.threads = value;
    else if (kv[0] == "VmRSS") s.rss_kib = value;
    else if (kv[0] == "VmHWM") s.hwm_kib = value;
  }
  return s;
}

namespace {

absl::Status Unreadable(pid_t pid) {
  return absl::NotFoundError(absl::StrCat("process ", pid, ": cannot read /proc/", pid, "/stat"));
}

}  // namespace

absl::Status ProcessSampler::Check() const {
  if (pid_ == 0 || Read().readable) return absl::OkStatus();
  return Unreadable(pid_);
}

absl::Status ProcessSampler::Start() {
  if (pid_ == 0) return absl::OkStatus();
  start_ = Read();
  if (!start_.readable) return Unreadable(pid_);
  max_threads_ = start_.threads;
  max_rss_kib_ = std::max(start_.rss_kib, start_.hwm_kib);
  scheduling_at_start_ = ReadScheduling();
  running_ = true;
  thread_ = std::thread([this] {
    while (running_) {
      const Snapshot s = Read();
      max_threads_ = std::max(max_threads_, s.threads);
      max_rss_kib_ = std::max({max_rss_kib_, s.rss_kib, s.hwm_kib});
      absl::SleepFor(absl::Milliseconds(100));
    }
  });
  return absl::OkStatus();
}

void ProcessSampler::Stop() {
  if (!running_) return;
  running_ = false;
  thread_.join();
  end_ = Read();
  scheduled_ = {};
  for (const auto& [tid, now] : ReadScheduling()) {
    // A thread started in the run counts from zero.
    const auto at_start = scheduling_at_start_.find(tid);
    const Scheduling before = at_start == scheduling_at_start_.end() ? Scheduling{} : at_start->second;
    scheduled_.voluntary_switches += now.voluntary_switches - before.voluntary_switches;
    scheduled_.involuntary_switches += now.involuntary_switches - before.involuntary_switches;
    scheduled_.run_queue_wait_ns += now.run_queue_wait_ns - before.run_queue_wait_ns;
  }
  max_threads_ = std::max(max_threads_, end_.threads);
  max_rss_kib_ = std::max({max_rss_kib_, end_.rss_kib, end_.hwm_kib});
}

nlohmann::json ProcessSampler::Summary() const {
  if (pid_ == 0) return nlohmann::json::object();
  return {{"pid", pid_},
          {"cpu_seconds", end_.cpu_seconds - start_.cpu_seconds},
          {"peak_rss_mib", static_cast<double>(max_rss_kib_) / 1024.0},
          {"max_threads", max_threads_},
          {"threads_at_end", end_.threads},
          {"context_switches",
           {{"voluntary", scheduled_.voluntary_switches}, {"involuntary", scheduled_.involuntary_switches}}},
          {"run_queue_wait_seconds", static_cast<double>(scheduled_.run_queue_wait_ns) / 1e9}};
}

}  // namespace partner::bench
