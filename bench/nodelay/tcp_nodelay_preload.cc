// LD_PRELOAD shim for partner-emulator under bench/run: sets TCP_NODELAY on every accepted socket.
// The emulator's HTTPS replies leave in more than one TLS record; without TCP_NODELAY the second
// segment waits for the client's delayed ACK (~40 ms on Linux), so every upstream call, direct or
// through the gateway, took 44 ms instead of 0.1 ms and the benchmarks measured that stall.
// Real upstreams do not stall this way. Remove once the emulator sets TCP_NODELAY itself.
#include <dlfcn.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

namespace {

int NoDelay(int fd) {
  if (fd >= 0) {
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  }
  return fd;
}

template <typename Fn>
Fn Next(const char* name) {
  return reinterpret_cast<Fn>(::dlsym(RTLD_NEXT, name));
}

}  // namespace

extern "C" int accept(int fd, sockaddr* addr, socklen_t* len) {
  static const auto real = Next<int (*)(int, sockaddr*, socklen_t*)>("accept");
  return NoDelay(real(fd, addr, len));
}

extern "C" int accept4(int fd, sockaddr* addr, socklen_t* len, int flags) {
  static const auto real = Next<int (*)(int, sockaddr*, socklen_t*, int)>("accept4");
  return NoDelay(real(fd, addr, len, flags));
}
