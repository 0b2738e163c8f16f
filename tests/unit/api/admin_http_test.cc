#include "server/api/admin_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace partner::api {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string Get(int port, const std::string& path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return "connect failed";
  }
  const std::string request = "GET " + path + " HTTP/1.0\r\nHost: x\r\n\r\n";
  (void)!::write(fd, request.data(), request.size());
  std::string response;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof(buf))) > 0) response.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return response;
}

TEST(AdminHttpTest, ServesMetricsHealthAndReadiness) {
  Metrics metrics;
  metrics.RpcStarted("AssignRole");
  metrics.RpcFinished("AssignRole", "OK", absl::Milliseconds(30));
  metrics.AddCollector([] { return std::string("partner_gateway_upstream_calls_total 7\n"); });
  absl::StatusOr<std::unique_ptr<AdminHttpServer>> server = AdminHttpServer::Bind("127.0.0.1:0", &metrics);
  ASSERT_THAT(server.status(), partner::testing::IsOk());
  const int port = (*server)->port();
  ASSERT_GT(port, 0);
  std::thread serving([&] { (*server)->Serve(-1, nullptr); });
  const std::string body = Get(port, "/metrics");
  EXPECT_THAT(body, StartsWith("HTTP/1.0 200") );
  EXPECT_THAT(body, HasSubstr("partner_gateway_rpcs_total{method=\"AssignRole\",code=\"OK\"} 1"));
  EXPECT_THAT(body, HasSubstr("partner_gateway_rpc_latency_seconds_bucket{method=\"AssignRole\",le=\"0.05\"} 1"));
  EXPECT_THAT(body, HasSubstr("partner_gateway_rpc_latency_seconds_bucket{method=\"AssignRole\",le=\"0.025\"} 0"));
  EXPECT_THAT(body, HasSubstr("partner_gateway_upstream_calls_total 7"));
  EXPECT_THAT(Get(port, "/healthz"), StartsWith("HTTP/1.0 200"));
  EXPECT_THAT(Get(port, "/readyz"), StartsWith("HTTP/1.0 503"));
  (*server)->SetReady(true);
  EXPECT_THAT(Get(port, "/readyz"), StartsWith("HTTP/1.0 200"));
  EXPECT_THAT(Get(port, "/nope"), StartsWith("HTTP/1.0 404"));
  (*server)->Stop();
  serving.join();
}

// The gateway's main thread serves the listener and learns of a stop signal through a pipe; the
// drain it starts stops the listener, even before the loop has run.
TEST(AdminHttpTest, ServeRunsTheWatchCallbackOnceAndReturnsAfterStop) {
  Metrics metrics;
  absl::StatusOr<std::unique_ptr<AdminHttpServer>> server = AdminHttpServer::Bind("127.0.0.1:0", &metrics);
  ASSERT_THAT(server.status(), partner::testing::IsOk());
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  int calls = 0;
  std::thread serving([&] {
    (*server)->Serve(pipe_fds[0], [&] {
      ++calls;
      (*server)->Stop();
    });
  });
  EXPECT_THAT(Get((*server)->port(), "/healthz"), StartsWith("HTTP/1.0 200"));
  ASSERT_EQ(::write(pipe_fds[1], "x", 1), 1);
  serving.join();
  EXPECT_EQ(calls, 1);
  ::close(pipe_fds[0]);
  ::close(pipe_fds[1]);
}

// The gateway flushes its log lines from this tick, on the thread that serves the listener.
TEST(AdminHttpTest, RunEveryTicksOnTheServingThreadWhileItServes) {
  Metrics metrics;
  absl::StatusOr<std::unique_ptr<AdminHttpServer>> server = AdminHttpServer::Bind("127.0.0.1:0", &metrics);
  ASSERT_THAT(server.status(), partner::testing::IsOk());
  int ticks = 0;
  std::thread::id ticked_on;
  ASSERT_THAT((*server)->RunEvery(absl::Milliseconds(5), [&] {
    ticked_on = std::this_thread::get_id();
    if (++ticks == 3) (*server)->Stop();
  }),
              partner::testing::IsOk());
  std::thread::id served_on;
  std::thread serving([&] {
    served_on = std::this_thread::get_id();
    (*server)->Serve(-1, nullptr);
  });
  serving.join();
  EXPECT_GE(ticks, 3);
  EXPECT_EQ(ticked_on, served_on);
}

TEST(AdminHttpTest, RunEveryRefusesASecondTick) {
  Metrics metrics;
  absl::StatusOr<std::unique_ptr<AdminHttpServer>> server = AdminHttpServer::Bind("127.0.0.1:0", &metrics);
  ASSERT_THAT(server.status(), partner::testing::IsOk());
  ASSERT_THAT((*server)->RunEvery(absl::Seconds(1), [] {}), partner::testing::IsOk());
  EXPECT_THAT((*server)->RunEvery(absl::Seconds(1), [] {}),
              partner::testing::StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(AdminHttpTest, StopBeforeServeStillEndsServe) {
  Metrics metrics;
  absl::StatusOr<std::unique_ptr<AdminHttpServer>> server = AdminHttpServer::Bind("127.0.0.1:0", &metrics);
  ASSERT_THAT(server.status(), partner::testing::IsOk());
  (*server)->Stop();
  (*server)->Serve(-1, nullptr);
}

}  // namespace
}  // namespace partner::api
