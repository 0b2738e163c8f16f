// partnerctl's command tree: the global flags every command reads, and one function per command
// group adding its subcommands. Each command's callback sets Context::exit_code.
#ifndef PARTNER_CLIENT_CLI_APP_H_
#define PARTNER_CLIENT_CLI_APP_H_

#include <CLI/CLI.hpp>
#include <iostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "partner/client/access_client.h"
#include "partner/client/client_options.h"
#include "partner/client/customer_client.h"
#include "partner/client/subscription_client.h"

namespace partner::cli {

struct GlobalFlags {
  std::string target = "127.0.0.1:50051";
  std::string output = "table";
  std::string timeout;
  bool tls = false;
  std::string tls_ca_file;
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string token;
  std::string correlation_id;
};

class Context {
 public:
  Context(std::ostream& out, std::ostream& err) : out_(out), err_(err) {}

  GlobalFlags flags;
  int exit_code = 0;

  std::ostream& out() { return out_; }
  std::ostream& err() { return err_; }
  bool json() const { return flags.output == "json"; }
  client::CallOptions Call() const;

  // `fallback` is the timeout when --timeout is not given.
  absl::StatusOr<client::ClientOptions> Options(std::chrono::milliseconds fallback) const;
  absl::StatusOr<client::CustomerClient> Customers() const;
  absl::StatusOr<client::SubscriptionClient> Subscriptions() const;
  absl::StatusOr<client::AccessClient> Access(
      std::chrono::milliseconds fallback = std::chrono::seconds(30)) const;

  // Records the outcome of a command: the error on stderr and its exit code.
  void Finish(const absl::Status& status);

 private:
  std::ostream& out_;
  std::ostream& err_;
};

// Parses "30s", "2m", "1m30s", "500ms", "1h"; a positive duration.
absl::StatusOr<std::chrono::milliseconds> ParseTimeout(const std::string& text);

void AddCustomerCommands(CLI::App& app, Context& context);
void AddSubscriptionCommands(CLI::App& app, Context& context);
void AddRoleCommands(CLI::App& app, Context& context);

// Builds the whole tree, parses `args` (without the program name) and runs the command.
// Returns the process exit code.
int RunPartnerctl(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace partner::cli

#endif  // PARTNER_CLIENT_CLI_APP_H_
