// The gateway's own log lines (one per finished RPC, one per upstream attempt), gathered and
// written in batches. Written one write(2) each, they cost two system calls per RPC: about 13 us of
// the gateway's CPU per GetCustomer at 1 500/s on the 2-core bench machine, where a system call is
// expensive (perf; bench/README). A batch is written once it is full or when Flush() runs; the
// gateway flushes from its admin loop every 50 ms and at exit, so a crash loses at most the lines
// of the last period. Library logs and fatal messages do not come through here: they stay
// unbuffered on stderr.
#ifndef PARTNER_SERVER_API_LINE_WRITER_H_
#define PARTNER_SERVER_API_LINE_WRITER_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace partner::api {

class BatchedLineWriter {
 public:
  // Writes to `fd`, which it does not own. A batch is written once it holds `batch_bytes`.
  explicit BatchedLineWriter(int fd, std::size_t batch_bytes = 64 * 1024);
  // Flushes.
  ~BatchedLineWriter();
  BatchedLineWriter(const BatchedLineWriter&) = delete;
  BatchedLineWriter& operator=(const BatchedLineWriter&) = delete;

  // Any thread. `line` comes without its newline. Lines reach the file whole and in the order
  // their Write() calls took the lock. A Write that fills the batch writes it, so a slow reader
  // slows the writers as it did when each line was written at once.
  void Write(absl::string_view line);
  // Any thread: writes what has been gathered. A write error drops the rest of the batch, as
  // stdio would, and counts its lines.
  void Flush();

  // Lines lost to write errors so far (a full disk, a closed stderr): a gap in the logs can then
  // be told from a quiet gateway.
  std::uint64_t dropped_lines() const { return dropped_lines_.load(std::memory_order_relaxed); }
  // dropped_lines() as Prometheus exposition text, for the admin port's /metrics.
  std::string RenderMetrics() const;

 private:
  const int fd_;
  const std::size_t batch_bytes_;
  // Held while a batch is written, so that batches reach the file in the order they were taken.
  absl::Mutex writing_;
  std::string being_written_ ABSL_GUARDED_BY(writing_);
  absl::Mutex mu_ ABSL_ACQUIRED_AFTER(writing_);
  std::string gathered_ ABSL_GUARDED_BY(mu_);
  std::atomic<std::uint64_t> dropped_lines_ = 0;
};

}  // namespace partner::api

#endif  // PARTNER_SERVER_API_LINE_WRITER_H_
