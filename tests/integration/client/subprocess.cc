#include "tests/integration/client/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace partner::testing {

Subprocess::Subprocess(const std::string& binary, const std::vector<std::string>& args,
                       const std::vector<std::string>& env, bool discard_stderr) {
  int out[2], err[2];
  if (::pipe(out) != 0 || ::pipe(err) != 0) return;
  std::vector<std::string> argv_storage = {binary};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<std::string> env_storage;
  for (char** e = environ; *e != nullptr; ++e) env_storage.emplace_back(*e);
  env_storage.insert(env_storage.end(), env.begin(), env.end());
  pid_ = ::fork();
  if (pid_ == 0) {
    ::dup2(out[1], 1);
    if (discard_stderr) {
      const int null_fd = ::open("/dev/null", O_WRONLY);
      ::dup2(null_fd, 2);
    } else {
      ::dup2(err[1], 2);
    }
    ::close(out[0]);
    ::close(err[0]);
    ::close(out[1]);
    ::close(err[1]);
    std::vector<char*> argv, envp;
    for (std::string& a : argv_storage) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (std::string& e : env_storage) envp.push_back(e.data());
    envp.push_back(nullptr);
    ::execve(binary.c_str(), argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(out[1]);
  ::close(err[1]);
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
  while (out_buffer_.find('\n') == std::string::npos) {
    pollfd p{out_, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) return "";
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

void Subprocess::Signal(int sig) { ::kill(pid_, sig); }

CommandResult Subprocess::Wait() {
  CommandResult result;
  result.out = std::move(out_buffer_);
  // Both pipes are drained together: a child blocked writing one would never exit.
  pollfd fds[2] = {{out_, POLLIN, 0}, {err_, POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open = 2;
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
  Subprocess process(binary, args, env);
  return process.Wait();
}

}  // namespace partner::testing
