#include "server/ops/operations.h"

namespace partner::ops {

void CancelSignal::Cancel() {
  std::vector<absl::AnyInvocable<void()>> callbacks;
  {
    absl::MutexLock lock(&mu_);
    if (cancelled_) return;
    cancelled_ = true;
    callbacks.swap(callbacks_);
  }
  // Outside the lock: a callback may query or register on this signal.
  for (auto& callback : callbacks) callback();
}

bool CancelSignal::cancelled() const {
  absl::MutexLock lock(&mu_);
  return cancelled_;
}

void CancelSignal::OnCancel(absl::AnyInvocable<void()> callback) {
  {
    absl::MutexLock lock(&mu_);
    if (!cancelled_) {
      callbacks_.push_back(std::move(callback));
      return;
    }
  }
  callback();
}

}  // namespace partner::ops
