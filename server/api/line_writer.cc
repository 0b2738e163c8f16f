#include "server/api/line_writer.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <utility>

#include "absl/strings/str_cat.h"

namespace partner::api {

BatchedLineWriter::BatchedLineWriter(int fd, std::size_t batch_bytes) : fd_(fd), batch_bytes_(batch_bytes) {}

BatchedLineWriter::~BatchedLineWriter() { Flush(); }

void BatchedLineWriter::Write(absl::string_view line) {
  bool full;
  {
    absl::MutexLock lock(&mu_);
    gathered_.append(line.data(), line.size());
    gathered_.push_back('\n');
    full = gathered_.size() >= batch_bytes_;
  }
  if (full) Flush();
}

void BatchedLineWriter::Flush() {
  absl::MutexLock writing(&writing_);
  {
    absl::MutexLock lock(&mu_);
    // The two buffers trade places, so each keeps its capacity and a steady stream of lines
    // allocates nothing.
    std::swap(gathered_, being_written_);
  }
  std::size_t written = 0;
  while (written < being_written_.size()) {
    const ssize_t n = ::write(fd_, being_written_.data() + written, being_written_.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      // A line cut short by the failed write is lost too: its newline lies after `written`.
      dropped_lines_.fetch_add(std::count(being_written_.begin() + static_cast<std::ptrdiff_t>(written),
                                          being_written_.end(), '\n'),
                               std::memory_order_relaxed);
      break;
    }
    written += static_cast<std::size_t>(n);
  }
  being_written_.clear();
}

std::string BatchedLineWriter::RenderMetrics() const {
  return absl::StrCat(
      "# HELP partner_gateway_log_lines_dropped_total Request and upstream log lines lost to write errors.\n"
      "# TYPE partner_gateway_log_lines_dropped_total counter\n"
      "partner_gateway_log_lines_dropped_total ",
      dropped_lines(), "\n");
}

}  // namespace partner::api
