// The emulator's hostile responses on the wire, as a raw HTTP client sees them: the gateway's
// upstream-hostility tests are only as good as these faults are real.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "emulator/emulator.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace partner::emulator {
namespace {

using ::testing::HasSubstr;

struct Exchange {
  std::string headers;
  std::string body;
  bool closed = false;  // the server closed the connection
};

// One HTTP/1.1 request; reads until the server closes or `wait` passes.
Exchange Send(int port, const std::string& request, absl::Duration wait) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string raw;
  Exchange out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    (void)!::write(fd, request.data(), request.size());
    const absl::Time until = absl::Now() + wait;
    while (true) {
      const int left = static_cast<int>(absl::ToInt64Milliseconds(until - absl::Now()));
      pollfd p{fd, POLLIN, 0};
      if (left <= 0 || ::poll(&p, 1, left) <= 0) break;
      char buf[65536];
      const ssize_t n = ::read(fd, buf, sizeof(buf));
      if (n <= 0) {
        out.closed = true;
        break;
      }
      raw.append(buf, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  const std::size_t end = raw.find("\r\n\r\n");
  out.headers = raw.substr(0, end);
  if (end != std::string::npos) out.body = raw.substr(end + 4);
  return out;
}

std::size_t ContentLength(const std::string& headers) {
  const std::size_t at = headers.find("Content-Length: ");
  std::size_t length = 0;
  if (at == std::string::npos) return 0;
  const std::size_t eol = headers.find("\r\n", at);
  EXPECT_TRUE(absl::SimpleAtoi(headers.substr(at + 16, eol - at - 16), &length));
  return length;
}

// "Connection: close" so that a whole response ends the read at once; the truncated fault's
// request keeps the connection alive, so only the fault can close it.
constexpr char kList[] = "GET /v1/customers HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
constexpr char kKeepAliveList[] = "GET /v1/customers HTTP/1.1\r\nHost: x\r\n\r\n";

std::unique_ptr<Emulator> StartWith(FaultOptions faults) {
  EmulatorOptions options;
  options.faults = faults;
  absl::StatusOr<std::unique_ptr<Emulator>> emulator = Emulator::Start(options);
  EXPECT_TRUE(emulator.ok()) << emulator.status();
  return emulator.ok() ? *std::move(emulator) : nullptr;
}

TEST(EmulatorHostileTest, MalformedIsA200WhoseWholeBodyIsNotJson) {
  auto emulator = StartWith({.malformed_rate = 1});
  const Exchange got = Send(emulator->port(), kList, absl::Seconds(2));
  EXPECT_THAT(got.headers, HasSubstr("HTTP/1.1 200"));
  EXPECT_EQ(got.body.size(), ContentLength(got.headers));
  EXPECT_TRUE(nlohmann::json::parse(got.body, nullptr, false).is_discarded()) << got.body;
}

TEST(EmulatorHostileTest, TruncatedDeclaresMoreThanItSendsThenCloses) {
  auto emulator = StartWith({.truncated_rate = 1});
  const Exchange got = Send(emulator->port(), kKeepAliveList, absl::Seconds(5));
  EXPECT_TRUE(got.closed);
  EXPECT_GT(ContentLength(got.headers), got.body.size()) << got.headers;
  EXPECT_GT(got.body.size(), 0u);
}

TEST(EmulatorHostileTest, OversizedSendsTheConfiguredSizeOfValidJson) {
  auto emulator = StartWith({.oversized_rate = 1, .oversized_bytes = 3 << 20});
  const Exchange got = Send(emulator->port(), kList, absl::Seconds(5));
  EXPECT_THAT(got.headers, HasSubstr("HTTP/1.1 200"));
  EXPECT_GT(got.body.size(), std::size_t{3} << 20);
  EXPECT_EQ(got.body.size(), ContentLength(got.headers));
  EXPECT_TRUE(nlohmann::json::parse(got.body, nullptr, false).is_object());
}

TEST(EmulatorHostileTest, SlowBodySendsHeadersThenTrickles) {
  auto emulator = StartWith({.slow_body_rate = 1, .slow_body_interval = absl::Milliseconds(50)});
  const Exchange got = Send(emulator->port(), kList, absl::Milliseconds(600));
  EXPECT_FALSE(got.closed);
  EXPECT_GT(ContentLength(got.headers), got.body.size());
  EXPECT_GE(got.body.size(), 3u);
  EXPECT_LE(got.body.size(), 14u);
  // A client that goes away mid-trickle costs the emulator nothing: it still answers.
  emulator->SetFaults({});
  EXPECT_THAT(Send(emulator->port(), kList, absl::Seconds(2)).headers, HasSubstr("HTTP/1.1 401"));
}

TEST(EmulatorHostileTest, FaultsRouteSetsAndReportsTheHostileRates) {
  auto emulator = StartWith({});
  const std::string body =
      R"({"malformedRate":0.1,"truncatedRate":0.2,"oversizedRate":0.3,"slowBodyRate":0.4,"oversizedBytes":1024,"slowBodyIntervalMs":20})";
  const Exchange got = Send(emulator->port(),
                            absl::StrCat("POST /_emulator/faults HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\n",
                                         "Content-Length: ", body.size(), "\r\n\r\n", body),
                            absl::Seconds(1));
  const nlohmann::json reported = nlohmann::json::parse(got.body, nullptr, false);
  EXPECT_EQ(reported.value("slowBodyRate", 0.0), 0.4) << got.body;
  const FaultOptions faults = emulator->faults();
  EXPECT_EQ(faults.malformed_rate, 0.1);
  EXPECT_EQ(faults.truncated_rate, 0.2);
  EXPECT_EQ(faults.oversized_rate, 0.3);
  EXPECT_EQ(faults.oversized_bytes, 1024u);
  EXPECT_EQ(faults.slow_body_interval, absl::Milliseconds(20));
}

}  // namespace
}  // namespace partner::emulator
