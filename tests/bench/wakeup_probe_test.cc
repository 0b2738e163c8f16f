#include "bench/loadgen/wakeup_probe.h"

#include <gtest/gtest.h>

#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace partner::bench {
namespace {

TEST(WakeupProbeTest, RecordsEveryWakeUpOfACountedRunAtItsPace) {
  MeasuredWindow window([] {}, [] {});
  RunLimits limits;
  limits.total_calls = 200;
  ASSERT_TRUE(RunWakeupProbe(2000, limits, &window).ok());
  const nlohmann::json summary = window.Summary();
  EXPECT_EQ(summary["completed"], 200);
  EXPECT_EQ(summary["ok"], 200);
  // The 200th wake-up is due 199 / 2000 s after the first.
  EXPECT_GE(summary["seconds"].get<double>(), 0.099);
  EXPECT_GT(summary["latency_ms"]["max"].get<double>(), 0.0);
}

TEST(WakeupProbeTest, ARunOfADurationEndsWithEveryWakeUpAccountedFor) {
  MeasuredWindow window([] {}, [] {});
  RunLimits limits;
  limits.warm_up = absl::Milliseconds(50);
  limits.duration = absl::Milliseconds(200);
  ASSERT_TRUE(RunWakeupProbe(1000, limits, &window).ok());
  const nlohmann::json summary = window.Summary();
  const std::int64_t warm_up = summary["unmeasured"]["warm_up"]["completed"].get<std::int64_t>();
  const std::int64_t drain = summary["unmeasured"]["drain"]["completed"].get<std::int64_t>();
  // 50 wake-ups are due in the warm-up and 200 in the window, which closes 200 ms after it opened,
  // a moment after the 50th: one more may be due by then. A late one may be recorded in the next
  // phase, but none is lost.
  const std::int64_t sent = warm_up + summary["completed"].get<std::int64_t>() + drain;
  EXPECT_GE(sent, 250);
  EXPECT_LE(sent, 251);
  EXPECT_GT(summary["completed"].get<std::int64_t>(), 100);
}

}  // namespace
}  // namespace partner::bench
