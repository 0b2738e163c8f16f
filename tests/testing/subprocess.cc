#include "tests/testing/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

extern char** environ;

namespace partner::testing {
namespace {

std::vector<char*> NullTerminated(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  for (std::string& s : strings) pointers.push_back(s.data());
  pointers.push_back(nullptr);
  return pointers;
}

}  // namespace

Subprocess::Subprocess(const std::string& binary, const std::vector<std::string>& args,
                       const SubprocessOptions& options) {
  // Everything the child needs is prepared before fork(): the tests that use this run threads,
  // and only async-signal-safe calls are sound between fork() and exec.
  std::vector<std::string> argv_storage = {binary};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<std::string> env_storage;
  for (char** e = environ; *e != nullptr; ++e) env_storage.emplace_back(*e);
  env_storage.insert(env_storage.end(), options.env.begin(), options.env.end());
  const std::vector<char*> argv = NullTerminated(argv_storage);
  const std::vector<char*> envp = NullTerminated(env_storage);

  // O_CLOEXEC keeps these descriptors out of children other threads start meanwhile: a stray
  // copy of a write end would hold the pipe open past this child's exit.
  int out[2] = {-1, -1};
  int err[2] = {-1, -1};
  if (::pipe2(out, O_CLOEXEC) != 0) {
    start_error_ = std::string("pipe: ") + std::strerror(errno);
    return;
  }
  int stderr_fd = -1;
  if (options.stderr_file.empty()) {
    if (::pipe2(err, O_CLOEXEC) != 0) {
      start_error_ = std::string("pipe: ") + std::strerror(errno);
      ::close(out[0]);
      ::close(out[1]);
      return;
    }
    stderr_fd = err[1];
  } else {
    // When the file cannot be opened the child keeps this process's stderr.
    stderr_fd = ::open(options.stderr_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  }

  pid_ = ::fork();
  if (pid_ == 0) {
    ::dup2(out[1], 1);
    if (stderr_fd >= 0) ::dup2(stderr_fd, 2);
    ::execve(binary.c_str(), argv.data(), envp.data());
    ::_exit(127);
  }
  if (pid_ < 0) start_error_ = std::string("fork: ") + std::strerror(errno);
  ::close(out[1]);
  if (stderr_fd >= 0) ::close(stderr_fd);
  out_ = out[0];
  err_ = err[0];
}

Subprocess::~Subprocess() {
  if (pid_ > 0 && !exited_) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  if (out_ >= 0) ::close(out_);
  if (err_ >= 0) ::close(err_);
}

std::string Subprocess::ReadLine(int timeout_ms) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (out_buffer_.find('\n') == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(give_up - std::chrono::steady_clock::now());
    pollfd p{out_, POLLIN, 0};
    if (out_ < 0 || left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) return "";
    char buf[512];
    const ssize_t n = ::read(out_, buf, sizeof(buf));
    if (n <= 0) return "";
    out_buffer_.append(buf, static_cast<size_t>(n));
  }
  const size_t end = out_buffer_.find('\n');
  std::string line = out_buffer_.substr(0, end);
  out_buffer_.erase(0, end + 1);
  return line;
}

// pid -1 would signal every process this user may signal.
void Subprocess::Signal(int sig) {
  if (pid_ > 0) ::kill(pid_, sig);
}

CommandResult Subprocess::Wait() {
  CommandResult result;
  if (pid_ <= 0) {
    result.err = start_error_;
    return result;
  }
  result.out = std::move(out_buffer_);
  // Both pipes are drained together: a child blocked writing one would never exit.
  pollfd fds[2] = {{out_, POLLIN, 0}, {err_, POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open = (out_ >= 0 ? 1 : 0) + (err_ >= 0 ? 1 : 0);
  while (open > 0 && ::poll(fds, 2, 60000) > 0) {
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buf[4096];
      const ssize_t n = ::read(fds[i].fd, buf, sizeof(buf));
      if (n <= 0) {
        fds[i].fd = -1;
        --open;
      } else {
        sinks[i]->append(buf, static_cast<size_t>(n));
      }
    }
  }
  int status = 0;
  ::waitpid(pid_, &status, 0);
  exited_ = true;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

CommandResult RunCommand(const std::string& binary, const std::vector<std::string>& args,
                         const std::vector<std::string>& env) {
  Subprocess process(binary, args, {.env = env});
  return process.Wait();
}

}  // namespace partner::testing
