#include "server/http/header_policies.h"

#include <cstdint>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "absl/strings/str_format.h"

namespace partner::http {

void SetHeader(std::vector<Header>& headers, absl::string_view name, std::string value) {
  std::erase_if(headers, [name](const Header& header) { return absl::EqualsIgnoreCase(header.first, name); });
  headers.emplace_back(std::string(name), std::move(value));
}

std::string NewRequestId() {
  thread_local absl::BitGen random;
  const std::uint64_t high = absl::Uniform<std::uint64_t>(random);
  const std::uint64_t low = absl::Uniform<std::uint64_t>(random);
  // RFC 4122 section 4.4: version 4 in the high nibble of the third group, variant 10xx after it.
  return absl::StrFormat("%08x-%04x-4%03x-%04x-%012x", high >> 32, (high >> 16) & 0xffff, high & 0x0fff,
                         0x8000 | ((low >> 48) & 0x3fff), low & 0xffffffffffffULL);
}

RequestIdPolicy::RequestIdPolicy(std::shared_ptr<HttpClient> next, std::function<std::string()> new_id)
    : next_(std::move(next)), new_id_(new_id ? std::move(new_id) : &NewRequestId) {}

void RequestIdPolicy::Send(std::shared_ptr<HttpRequest> request, HttpDone done) {
  const std::string id = new_id_();
  SetHeader(request->headers, "MS-RequestId", id);
  SetHeader(request->headers, "x-ms-client-request-id", id);
  if (!request->correlation_id.empty()) {
    SetHeader(request->headers, "MS-CorrelationId", request->correlation_id);
    SetHeader(request->headers, "x-ms-correlation-request-id", request->correlation_id);
  }
  next_->Send(std::move(request), std::move(done));
}

UserAgentPolicy::UserAgentPolicy(std::shared_ptr<HttpClient> next, std::string user_agent)
    : next_(std::move(next)), user_agent_(std::move(user_agent)) {}

void UserAgentPolicy::Send(std::shared_ptr<HttpRequest> request, HttpDone done) {
  SetHeader(request->headers, "User-Agent", user_agent_);
  next_->Send(std::move(request), std::move(done));
}

}  // namespace partner::http
