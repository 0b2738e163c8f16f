#include "server/api/line_writer.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace partner::api {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// A file in memory standing in for stderr; Contents() reads everything written so far.
class MemoryFile {
 public:
  MemoryFile() : fd_(::memfd_create("line_writer_test", 0)) {}
  ~MemoryFile() { ::close(fd_); }
  int fd() const { return fd_; }
  std::string Contents() const {
    std::string contents;
    char buffer[4096];
    off_t offset = 0;
    ssize_t n;
    while ((n = ::pread(fd_, buffer, sizeof(buffer), offset)) > 0) {
      contents.append(buffer, static_cast<std::size_t>(n));
      offset += n;
    }
    return contents;
  }

 private:
  const int fd_;
};

TEST(BatchedLineWriterTest, HoldsLinesUntilFlushThenWritesThemInOrder) {
  MemoryFile file;
  ASSERT_GE(file.fd(), 0);
  BatchedLineWriter writer(file.fd());
  writer.Write(R"({"msg":"rpc","n":1})");
  writer.Write(R"({"msg":"rpc","n":2})");
  EXPECT_THAT(file.Contents(), IsEmpty());
  writer.Flush();
  EXPECT_EQ(file.Contents(), "{\"msg\":\"rpc\",\"n\":1}\n{\"msg\":\"rpc\",\"n\":2}\n");
  writer.Flush();
  EXPECT_EQ(file.Contents(), "{\"msg\":\"rpc\",\"n\":1}\n{\"msg\":\"rpc\",\"n\":2}\n");
}

TEST(BatchedLineWriterTest, WritesABatchOnceItIsFull) {
  MemoryFile file;
  BatchedLineWriter writer(file.fd(), /*batch_bytes=*/16);
  writer.Write("0123456");
  EXPECT_THAT(file.Contents(), IsEmpty());
  writer.Write("abcdefg");
  EXPECT_EQ(file.Contents(), "0123456\nabcdefg\n");
  writer.Write("tail");
  EXPECT_EQ(file.Contents(), "0123456\nabcdefg\n");
}

TEST(BatchedLineWriterTest, FlushesWhenDestroyed) {
  MemoryFile file;
  {
    BatchedLineWriter writer(file.fd());
    writer.Write("last words");
  }
  EXPECT_EQ(file.Contents(), "last words\n");
}

TEST(BatchedLineWriterTest, CountsTheLinesAFailedWriteLoses) {
  const int full = ::open("/dev/full", O_WRONLY | O_CLOEXEC);  // every write fails with ENOSPC
  ASSERT_GE(full, 0);
  BatchedLineWriter writer(full);
  writer.Write("one");
  writer.Write("two");
  writer.Write("three");
  EXPECT_EQ(writer.dropped_lines(), 0u) << "nothing is lost before a write is tried";
  writer.Flush();
  EXPECT_EQ(writer.dropped_lines(), 3u);
  writer.Write("four");
  writer.Flush();
  EXPECT_EQ(writer.dropped_lines(), 4u);
  EXPECT_THAT(writer.RenderMetrics(), HasSubstr("\npartner_gateway_log_lines_dropped_total 4\n"));
  EXPECT_THAT(writer.RenderMetrics(), HasSubstr("# TYPE partner_gateway_log_lines_dropped_total counter\n"));
  ::close(full);
}

TEST(BatchedLineWriterTest, ALineCutShortByAFailedWriteCountsAsLost) {
  // A one-page pipe that nobody reads: the batch's first write takes 4 096 bytes, the next fails.
  int ends[2];
  ASSERT_EQ(::pipe2(ends, O_NONBLOCK | O_CLOEXEC), 0);
  ASSERT_EQ(::fcntl(ends[1], F_SETPIPE_SZ, 4096), 4096);
  {
    BatchedLineWriter writer(ends[1]);
    for (int i = 0; i < 60; ++i) writer.Write(std::string(99, 'x'));  // 100 bytes with the newline
    writer.Flush();
    EXPECT_EQ(writer.dropped_lines(), 20u) << "40 whole lines fit; the 41st was cut at byte 4 096";
  }
  ::close(ends[0]);
  ::close(ends[1]);
}

// RPCs finish on gRPC's threads and upstream attempts on the transport's, all at once.
TEST(BatchedLineWriterTest, LinesFromManyThreadsArriveWholeAndEachOnce) {
  MemoryFile file;
  constexpr int kThreads = 4;
  constexpr int kLinesEach = 2000;
  {
    BatchedLineWriter writer(file.fd(), /*batch_bytes=*/1024);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&writer, t] {
        for (int i = 0; i < kLinesEach; ++i) {
          writer.Write(absl::StrCat("{\"thread\":", t, ",\"line\":", i, ",\"pad\":\"", std::string(40, 'x'), "\"}"));
          if (i % 500 == 0) writer.Flush();
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
  }
  std::vector<std::string> lines = absl::StrSplit(file.Contents(), '\n');
  ASSERT_EQ(lines.back(), "");
  lines.pop_back();
  ASSERT_EQ(lines.size(), static_cast<std::size_t>(kThreads * kLinesEach));
  std::vector<int> next_line(kThreads, 0);
  for (const std::string& line : lines) {
    int thread = -1;
    int number = -1;
    ASSERT_EQ(std::sscanf(line.c_str(), "{\"thread\":%d,\"line\":%d,", &thread, &number), 2) << line;
    ASSERT_EQ(line, absl::StrCat("{\"thread\":", thread, ",\"line\":", number, ",\"pad\":\"", std::string(40, 'x'), "\"}"));
    ASSERT_GE(thread, 0);
    ASSERT_LT(thread, kThreads);
    // Each thread's lines keep the order it wrote them in.
    EXPECT_EQ(number, next_line[thread]++);
  }
  EXPECT_THAT(next_line, ElementsAre(kLinesEach, kLinesEach, kLinesEach, kLinesEach));
}

}  // namespace
}  // namespace partner::api
