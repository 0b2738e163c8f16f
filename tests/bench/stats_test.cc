#include "bench/loadgen/stats.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"

namespace partner::bench {
namespace {

TEST(LatencyRecorderTest, PercentilesAreNearestRankOverEveryCall) {
  LatencyRecorder recorder;
  for (int ms = 1; ms <= 1000; ++ms) recorder.Record(0, absl::Milliseconds(ms));
  const nlohmann::json summary = recorder.Summary();
  EXPECT_EQ(summary["completed"], 1000);
  EXPECT_EQ(summary["ok"], 1000);
  EXPECT_DOUBLE_EQ(summary["latency_ms"]["p50"].get<double>(), 500.0);
  EXPECT_DOUBLE_EQ(summary["latency_ms"]["p90"].get<double>(), 900.0);
  EXPECT_DOUBLE_EQ(summary["latency_ms"]["p99"].get<double>(), 990.0);
  EXPECT_DOUBLE_EQ(summary["latency_ms"]["p999"].get<double>(), 999.0);
  EXPECT_DOUBLE_EQ(summary["latency_ms"]["max"].get<double>(), 1000.0);
  EXPECT_DOUBLE_EQ(summary["latency_ms"]["mean"].get<double>(), 500.5);
}

TEST(LatencyRecorderTest, GrpcOkAndHttp2xxSucceedEveryOtherCodeIsCountedAsAnError) {
  LatencyRecorder recorder;
  recorder.Record(0, absl::Milliseconds(1));
  recorder.Record(200, absl::Milliseconds(1));
  recorder.Record(204, absl::Milliseconds(1));
  recorder.Record(8, absl::Milliseconds(1));
  recorder.Record(8, absl::Milliseconds(1));
  recorder.Record(429, absl::Milliseconds(1));
  EXPECT_EQ(recorder.completed(), 6);
  EXPECT_EQ(recorder.succeeded(), 3);
  const nlohmann::json summary = recorder.Summary();
  EXPECT_EQ(summary["ok"], 3);
  EXPECT_EQ(summary["errors"], (nlohmann::json{{"8", 2}, {"429", 1}}));
}

TEST(LatencyRecorderTest, NoCallsGiveZerosNotGarbage) {
  const nlohmann::json summary = LatencyRecorder().Summary();
  EXPECT_EQ(summary["completed"], 0);
  EXPECT_DOUBLE_EQ(summary["latency_ms"]["p99"].get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(summary["latency_ms"]["mean"].get<double>(), 0.0);
}

TEST(MeasuredWindowTest, ACallCountsInThePhaseItCompletesIn) {
  MeasuredWindow window([] {}, [] {});
  window.Record(0, absl::Milliseconds(900));
  window.Record(14, absl::Milliseconds(900));
  window.Open();
  for (int ms = 1; ms <= 10; ++ms) window.Record(0, absl::Milliseconds(ms));
  window.Record(4, absl::Milliseconds(20));
  window.Close();
  window.Record(0, absl::Milliseconds(700));
  window.Record(0, absl::Milliseconds(800));
  window.Record(8, absl::Milliseconds(800));
  EXPECT_EQ(window.completed(), 11);
  const nlohmann::json summary = window.Summary();
  EXPECT_EQ(summary["completed"], 11);
  EXPECT_EQ(summary["ok"], 10);
  EXPECT_EQ(summary["errors"], (nlohmann::json{{"4", 1}}));
  // The warm-up's and the drain's slow calls stay out of the window's latency.
  EXPECT_DOUBLE_EQ(summary["latency_ms"]["max"].get<double>(), 20.0);
  EXPECT_EQ(summary["unmeasured"]["warm_up"], (nlohmann::json{{"completed", 2}, {"ok", 1}, {"errors", {{"14", 1}}}}));
  EXPECT_EQ(summary["unmeasured"]["drain"], (nlohmann::json{{"completed", 3}, {"ok", 2}, {"errors", {{"8", 1}}}}));
}

TEST(MeasuredWindowTest, TheRateIsTheWindowsCallsOverItsLengthBetweenTheHooks) {
  int opened = 0;
  int closed = 0;
  absl::Time hook_opened;
  absl::Time hook_closed;
  MeasuredWindow* self = nullptr;
  MeasuredWindow window(
      [&] {
        ++opened;
        EXPECT_FALSE(self->opened()) << "the opening snapshot is taken before the window opens";
        hook_opened = absl::Now();
      },
      [&] {
        ++closed;
        EXPECT_TRUE(self->closed()) << "the closing snapshot is taken after the window closes";
        hook_closed = absl::Now();
      });
  self = &window;
  EXPECT_FALSE(window.opened());
  window.Open();
  EXPECT_TRUE(window.opened());
  EXPECT_FALSE(window.closed());
  EXPECT_GE(window.opened_at(), hook_opened);
  for (int i = 0; i < 30; ++i) window.Record(0, absl::Milliseconds(1));
  absl::SleepFor(absl::Milliseconds(150));
  window.Close();
  EXPECT_EQ(opened, 1);
  EXPECT_EQ(closed, 1);
  const nlohmann::json summary = window.Summary();
  const double seconds = summary["seconds"].get<double>();
  EXPECT_GE(seconds, 0.15);
  EXPECT_LE(seconds, absl::ToDoubleSeconds(hook_closed - hook_opened));
  EXPECT_DOUBLE_EQ(summary["throughput_rps"].get<double>(), 30 / seconds);
}

TEST(MeasuredWindowTest, AWindowNeverClosedMeasuresNoRate) {
  MeasuredWindow window([] {}, [] {});
  window.Open();
  window.Record(0, absl::Milliseconds(1));
  const nlohmann::json summary = window.Summary();
  EXPECT_DOUBLE_EQ(summary["seconds"].get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(summary["throughput_rps"].get<double>(), 0.0);
}

TEST(RunLimitsTest, OnlyARunOfADurationWithAWarmUpOpensItsWindowLater) {
  EXPECT_TRUE((RunLimits{absl::ZeroDuration(), absl::Seconds(1), 0}).OpensAtFirstCall());
  EXPECT_TRUE((RunLimits{absl::ZeroDuration(), absl::Seconds(1), 5}).OpensAtFirstCall());
  EXPECT_FALSE((RunLimits{absl::Seconds(1), absl::Seconds(1), 0}).OpensAtFirstCall());
}

TEST(RunLimitsTest, ACountedRunStartsItsCallsAndNoMoreARunOfADurationStopsWhenItsWindowCloses) {
  MeasuredWindow window([] {}, [] {});
  const RunLimits counted{absl::ZeroDuration(), absl::Seconds(1), 3};
  const RunLimits timed{absl::ZeroDuration(), absl::Seconds(1), 0};
  window.Open();
  window.Close();
  EXPECT_TRUE(counted.MayStart(2, window));
  EXPECT_FALSE(counted.MayStart(3, window));
  EXPECT_FALSE(timed.MayStart(0, window));
  MeasuredWindow open([] {}, [] {});
  open.Open();
  EXPECT_TRUE(timed.MayStart(1000000, open));
}

TEST(HoldWindowTest, OpensAfterTheWarmUpAndClosesADurationLater) {
  MeasuredWindow window([] {}, [] {});
  const absl::Time start = absl::Now();
  HoldWindow(RunLimits{absl::Milliseconds(50), absl::Milliseconds(100), 0}, start, &window);
  EXPECT_TRUE(window.closed());
  EXPECT_GE(window.opened_at() - start, absl::Milliseconds(50));
  EXPECT_GE(window.Summary()["seconds"].get<double>(), 0.1);
}

TEST(HoldWindowTest, AWindowOpenAlreadyIsOnlyClosedADurationAfterItOpened) {
  int openings = 0;
  MeasuredWindow window([&] { ++openings; }, [] {});
  window.Open();
  const absl::Time opened = window.opened_at();
  HoldWindow(RunLimits{absl::Seconds(60), absl::Milliseconds(50), 0}, absl::Now(), &window);
  EXPECT_EQ(openings, 1);
  EXPECT_EQ(window.opened_at(), opened);
  EXPECT_TRUE(window.closed());
}

// A run of total_calls is measured from its first call to its last completion: the window is open
// before any call starts and closes only once every call has been waited for.
TEST(RunInWindowTest, ACountedRunIsMeasuredFromItsFirstCallToItsLastCompletion) {
  MeasuredWindow window([] {}, [] {});
  bool open_at_launch = false;
  bool closed_while_waiting = true;
  RunInWindow(
      RunLimits{absl::ZeroDuration(), absl::Seconds(60), 5}, &window, [&](absl::Time) { open_at_launch = window.opened(); },
      [&] { closed_while_waiting = window.closed(); });
  EXPECT_TRUE(open_at_launch);
  EXPECT_FALSE(closed_while_waiting);
  EXPECT_TRUE(window.closed());
}

// A run of a duration with a warm-up starts its calls before the window opens, and its window has
// closed, a duration after it opened, by the time its calls are waited for.
TEST(RunInWindowTest, ARunOfADurationHoldsItsWindowBeforeWaitingForItsCalls) {
  MeasuredWindow window([] {}, [] {});
  bool open_at_launch = true;
  bool closed_while_waiting = false;
  RunInWindow(
      RunLimits{absl::Milliseconds(20), absl::Milliseconds(50), 0}, &window,
      [&](absl::Time) { open_at_launch = window.opened(); }, [&] { closed_while_waiting = window.closed(); });
  EXPECT_FALSE(open_at_launch);
  EXPECT_TRUE(closed_while_waiting);
  EXPECT_GE(window.Summary()["seconds"].get<double>(), 0.05);
}

// Spins for `wall` of wall time on the calling thread.
void Spin(absl::Duration wall) {
  const absl::Time end = absl::Now() + wall;
  std::atomic<std::uint64_t> sink{0};
  while (absl::Now() < end) sink.fetch_add(1, std::memory_order_relaxed);
}

TEST(OwnCpuSecondsTest, CountsTheCpuEveryThreadSpends) {
  const double before = OwnCpuSeconds();
  std::thread other([] { Spin(absl::Milliseconds(200)); });
  Spin(absl::Milliseconds(200));
  other.join();
  // Two threads busy for 200 ms each; on a loaded machine either may have waited for a core.
  EXPECT_GE(OwnCpuSeconds() - before, 0.15);
}

TEST(ProcessSamplerTest, ReportsTheSampledProcessCpuThreadsAndRss) {
  ProcessSampler sampler(::getpid());
  ASSERT_TRUE(sampler.Start().ok());
  std::thread other([] { Spin(absl::Milliseconds(300)); });
  other.join();
  sampler.Stop();
  const nlohmann::json summary = sampler.Summary();
  EXPECT_EQ(summary["pid"], ::getpid());
  EXPECT_GT(summary["cpu_seconds"].get<double>(), 0.1);
  // This thread, the sampler's and the spinning one were alive together.
  EXPECT_GE(summary["max_threads"].get<std::int64_t>(), 3);
  EXPECT_GT(summary["peak_rss_mib"].get<double>(), 1.0);
}

TEST(ProcessSamplerTest, CountsTheContextSwitchesOfThreadsAliveAtTheEnd) {
  ProcessSampler sampler(::getpid());
  ASSERT_TRUE(sampler.Start().ok());
  absl::Notification sampled;
  std::thread sleeper([&] {
    for (int i = 0; i < 20; ++i) absl::SleepFor(absl::Milliseconds(2));
    sampled.WaitForNotification();
  });
  absl::SleepFor(absl::Milliseconds(150));
  sampler.Stop();
  sampled.Notify();
  sleeper.join();
  const nlohmann::json summary = sampler.Summary();
  // Each sleep gives up the CPU once: a voluntary switch.
  EXPECT_GE(summary["context_switches"]["voluntary"].get<std::int64_t>(), 20);
  EXPECT_GE(summary["context_switches"]["involuntary"].get<std::int64_t>(), 0);
  EXPECT_GE(summary["run_queue_wait_seconds"].get<double>(), 0.0);
}

TEST(ProcessSamplerTest, PidZeroMeansNothingToSample) {
  ProcessSampler sampler(0);
  ASSERT_TRUE(sampler.Start().ok());
  sampler.Stop();
  EXPECT_TRUE(sampler.Summary().empty());
}

TEST(ProcessSamplerTest, AProcessThatIsGoneIsNotFoundNamingItsPid) {
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ASSERT_GT(child, 0);
  ASSERT_EQ(::waitpid(child, nullptr, 0), child);
  ProcessSampler sampler(child);
  const absl::Status status = sampler.Start();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(status.message().find(absl::StrCat("process ", child, ":")), std::string::npos) << status;
  sampler.Stop();
}

}  // namespace
}  // namespace partner::bench
