// A minimal lazy coroutine task for the operations' internals, so each use case reads top to
// bottom. server/common's Task<T> was not in the tree when ops was written; OpTask keeps ops
// free of that dependency, and its awaiter accepts any coroutine, so an OpTask coroutine can
// await other awaitables and vice versa.
#ifndef PARTNER_SERVER_OPS_OP_TASK_H_
#define PARTNER_SERVER_OPS_OP_TASK_H_

#include <coroutine>
#include <exception>
#include <optional>
#include <utility>

namespace partner::ops {

template <class T>
class [[nodiscard]] OpTask {
 public:
  struct promise_type {
    std::coroutine_handle<> continuation = std::noop_coroutine();
    std::optional<T> value;

    OpTask get_return_object() { return OpTask(Handle::from_promise(*this)); }
    std::suspend_always initial_suspend() noexcept { return {}; }
    struct FinalAwaiter {
      bool await_ready() noexcept { return false; }
      std::coroutine_handle<> await_suspend(std::coroutine_handle<promise_type> h) noexcept {
        return h.promise().continuation;
      }
      void await_resume() noexcept {}
    };
    FinalAwaiter final_suspend() noexcept { return {}; }
    void return_value(T v) { value.emplace(std::move(v)); }
    // Operations never throw (absl::Status everywhere); an exception here is a bug.
    void unhandled_exception() { std::terminate(); }
  };
  using Handle = std::coroutine_handle<promise_type>;

  // An already computed result, for fakes and short cuts.
  static OpTask Ready(T value) { co_return std::move(value); }

  OpTask(OpTask&& other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
  OpTask& operator=(OpTask&& other) noexcept {
    if (this != &other) {
      if (handle_) handle_.destroy();
      handle_ = std::exchange(other.handle_, nullptr);
    }
    return *this;
  }
  OpTask(const OpTask&) = delete;
  OpTask& operator=(const OpTask&) = delete;
  ~OpTask() {
    if (handle_) handle_.destroy();
  }

  bool await_ready() const noexcept { return false; }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> caller) noexcept {
    handle_.promise().continuation = caller;
    return handle_;
  }
  T await_resume() { return std::move(*handle_.promise().value); }

 private:
  explicit OpTask(Handle handle) : handle_(handle) {}
  Handle handle_;
};

namespace internal {

// A coroutine that starts at once and frees itself when done.
struct Detached {
  struct promise_type {
    Detached get_return_object() { return {}; }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() {}
    void unhandled_exception() { std::terminate(); }
  };
};

template <class T, class Done>
Detached RunDetached(OpTask<T> task, Done done) {
  done(co_await std::move(task));
}

}  // namespace internal

// Runs `task` and hands its result to `done` (on whichever thread completes the last await).
template <class T, class Done>
void StartOpTask(OpTask<T> task, Done done) {
  internal::RunDetached(std::move(task), std::move(done));
}

}  // namespace partner::ops

#endif  // PARTNER_SERVER_OPS_OP_TASK_H_
