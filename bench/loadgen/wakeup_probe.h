// The machine's side of a gateway's latency: how long a sleeping thread takes to run again once
// another thread wakes it. Every call through the gateway hands work from thread to thread several
// times (gRPC's pollers, the transport loop, the emulator, the client), and each hand-off waits
// for the woken thread to be scheduled; this measures one such wait, with nothing else running.
#ifndef PARTNER_BENCH_LOADGEN_WAKEUP_PROBE_H_
#define PARTNER_BENCH_LOADGEN_WAKEUP_PROBE_H_

#include "absl/status/status.h"
#include "bench/loadgen/stats.h"

namespace partner::bench {

// Open loop: `rate` times a second one thread writes an eventfd that another thread sleeps on,
// and each wake-up is recorded in `window` with its latency, from the write to the sleeper
// running. Fails only when the eventfd cannot be made.
absl::Status RunWakeupProbe(double rate, const RunLimits& limits, MeasuredWindow* window);

}  // namespace partner::bench

#endif  // PARTNER_BENCH_LOADGEN_WAKEUP_PROBE_H_
