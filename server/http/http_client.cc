#include "server/http/http_client.h"

namespace partner::http {

void CancelToken::Cancel() {
  std::vector<absl::AnyInvocable<void()>> callbacks;
  {
    absl::MutexLock lock(&mu_);
    if (cancelled_) return;
    cancelled_ = true;
    callbacks.swap(callbacks_);
  }
  for (auto& callback : callbacks) callback();
}

bool CancelToken::cancelled() const {
  absl::MutexLock lock(&mu_);
  return cancelled_;
}

void CancelToken::OnCancel(absl::AnyInvocable<void()> callback) {
  {
    absl::MutexLock lock(&mu_);
    if (!cancelled_) {
      callbacks_.push_back(std::move(callback));
      return;
    }
  }
  callback();
}

std::optional<std::string_view> HttpResponse::FindHeader(std::string_view lower_case_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_case_name) return value;
  }
  return std::nullopt;
}

}  // namespace partner::http
