#include "server/api/line_writer.h"

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
