// Child processes for tests that run the real binaries: a long-running server whose stdout lines
// are read as it starts, and one-shot commands whose exit code, stdout and stderr are collected.
// Shared by tests/integration and tests/reliability.
#ifndef PARTNER_TESTS_TESTING_SUBPROCESS_H_
#define PARTNER_TESTS_TESTING_SUBPROCESS_H_

#include <sys/types.h>

#include <string>
#include <vector>

namespace partner::testing {

struct CommandResult {
  int exit_code = -1;  // 128 + signal when killed
  std::string out;
  std::string err;  // empty when stderr went to a file; why the child did not start, if it did not
};

struct SubprocessOptions {
  // "NAME=value" entries added to this process's environment.
  std::vector<std::string> env;
  // Empty: stderr goes to a pipe that Wait() collects. Otherwise the file stderr is appended to
  // (created if missing; "/dev/null" discards it). A long-running child nobody reads stderr from
  // needs a file, or it blocks once the pipe is full.
  std::string stderr_file;
};

// A child process, killed (SIGKILL) and reaped on destruction unless Wait() already reaped it.
class Subprocess {
 public:
  Subprocess(const std::string& binary, const std::vector<std::string>& args, const SubprocessOptions& options = {});
  ~Subprocess();
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  // The next stdout line (without '\n'), waiting up to `timeout_ms` for all of it; empty on
  // timeout or EOF.
  std::string ReadLine(int timeout_ms = 20000);
  void Signal(int sig);
  // Reads stdout and stderr to their end and waits for the exit.
  CommandResult Wait();

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  int err_ = -1;
  bool exited_ = false;
  std::string out_buffer_;
  std::string start_error_;
};

// Runs a command to completion.
CommandResult RunCommand(const std::string& binary, const std::vector<std::string>& args,
                         const std::vector<std::string>& env = {});

}  // namespace partner::testing

#endif  // PARTNER_TESTS_TESTING_SUBPROCESS_H_
