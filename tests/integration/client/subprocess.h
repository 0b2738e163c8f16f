// Child processes for the partnerctl end-to-end tests: a long-running gateway whose first stdout
// line is read, and one-shot commands whose exit code, stdout and stderr are collected.
#ifndef PARTNER_TESTS_INTEGRATION_CLIENT_SUBPROCESS_H_
#define PARTNER_TESTS_INTEGRATION_CLIENT_SUBPROCESS_H_

#include <sys/types.h>

#include <string>
#include <vector>

namespace partner::testing {

struct CommandResult {
  int exit_code = -1;  // 128 + signal when killed
  std::string out;
  std::string err;
};

class Subprocess {
 public:
  // Starts `binary` with `args`; `env` entries ("NAME=value") are added to this environment.
  // A long-running child nobody reads stderr from should `discard_stderr`, or it blocks once the
  // pipe is full.
  Subprocess(const std::string& binary, const std::vector<std::string>& args,
             const std::vector<std::string>& env = {}, bool discard_stderr = false);
  ~Subprocess();
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  // One stdout line (without '\n'), waiting up to `timeout_ms`; empty on timeout or EOF.
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
};

// Runs a command to completion.
CommandResult RunCommand(const std::string& binary, const std::vector<std::string>& args,
                         const std::vector<std::string>& env = {});

}  // namespace partner::testing

#endif  // PARTNER_TESTS_INTEGRATION_CLIENT_SUBPROCESS_H_
