// The emulator on a loopback socket: libevent's evhttp on one event-loop thread (thousands of
// delayed responses cost timers, not threads), plain HTTP or HTTPS, with fault injection.
#ifndef PARTNER_EMULATOR_EMULATOR_H_
#define PARTNER_EMULATOR_EMULATOR_H_

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "emulator/services.h"

namespace partner::emulator {

// Applied to every upstream route (token endpoint included); never to /_emulator admin routes.
struct FaultOptions {
  double unavailable_rate = 0;  // 503 with the service's error body
  double throttle_rate = 0;     // 429 with Retry-After (fractional seconds on Graph)
  absl::Duration throttle_retry_after = absl::Seconds(1);
  double reset_rate = 0;  // connection closed with RST and no response
  // Hostile responses, for the gateway's parsing and deadline handling:
  double malformed_rate = 0;  // 200 with a JSON body cut off mid-object (Content-Length matches)
  double truncated_rate = 0;  // the real response, Content-Length larger than sent, then close
  double oversized_rate = 0;  // 200 with a well-formed JSON body of oversized_bytes
  double slow_body_rate = 0;  // the real response's headers, then one body byte per interval
  std::size_t oversized_bytes = 20 << 20;
  absl::Duration slow_body_interval = absl::Milliseconds(100);
  absl::Duration latency = absl::ZeroDuration();
  absl::Duration latency_jitter = absl::ZeroDuration();
  std::uint64_t seed = 7;
};

struct EmulatorOptions {
  std::string host = "127.0.0.1";
  int port = 0;  // 0: an ephemeral port
  // HTTPS with the given PEM files, or with a generated self-signed certificate for the host when
  // they are empty (its PEM is then available from ca_certificate_pem()).
  bool https = false;
  std::string tls_cert_file;
  std::string tls_key_file;
  ServiceOptions services;
  FaultOptions faults;
};

class Emulator {
 public:
  static absl::StatusOr<std::unique_ptr<Emulator>> Start(EmulatorOptions options);
  ~Emulator();
  Emulator(const Emulator&) = delete;
  Emulator& operator=(const Emulator&) = delete;

  // "http://127.0.0.1:PORT": the base URL of all four services.
  const std::string& base_url() const;
  int port() const;
  // The PEM certificate clients must trust when https is on.
  const std::string& ca_certificate_pem() const;
  Services& services();

  void SetFaults(const FaultOptions& faults);
  FaultOptions faults() const;

  class Impl;

 private:
  explicit Emulator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace partner::emulator

#endif  // PARTNER_EMULATOR_EMULATOR_H_
