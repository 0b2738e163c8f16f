#include "server/http/header_policies.h"

#include <utility>

#include "absl/strings/match.h"
#include "server/common/request_id.h"

namespace partner::http {

void SetHeader(std::vector<Header>& headers, absl::string_view name, std::string value) {
  std::erase_if(headers, [name](const Header& header) { return absl::EqualsIgnoreCase(header.first, name); });
  headers.emplace_back(std::string(name), std::move(value));
}

RequestIdPolicy::RequestIdPolicy(std::shared_ptr<HttpClient> next, std::function<std::string()> new_id)
    : next_(std::move(next)), new_id_(new_id ? std::move(new_id) : &NewRequestId) {}

void RequestIdPolicy::Send(std::shared_ptr<HttpRequest> request, HttpDone done) {
  request->request_id = new_id_();
  const IdHeaderNames names = request->id_headers;
  if (!names.request_id.empty()) SetHeader(request->headers, names.request_id, request->request_id);
  if (!names.correlation_id.empty() && !request->correlation_id.empty()) {
    SetHeader(request->headers, names.correlation_id, request->correlation_id);
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
