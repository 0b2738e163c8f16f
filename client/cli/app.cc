#include "client/cli/app.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "client/cli/output.h"
#include "partner/client/access_connection.h"
#include "partner/client/customer_connection.h"
#include "partner/client/subscription_connection.h"

namespace partner::cli {
namespace {

constexpr char kFooter[] = R"(
Environment:
  PARTNERCTL_TARGET   default of --target
  PARTNERCTL_TOKEN    default of --token (a bearer token for the gateway)

Exit codes:
  0  success
  1  any other failure
  2  usage error: bad flags or arguments, or the gateway said INVALID_ARGUMENT
  3  not found (NOT_FOUND)
  4  permission denied (PERMISSION_DENIED, UNAUTHENTICATED)
  5  unavailable: try again later (UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED)
  6  roles batch-assign: some items failed

Examples:
  partnerctl customers list --name-prefix Fabrikam
  partnerctl subscriptions azure --customer 0f3e6a51-7c1b-4c53-9b6d-2a4f7e1d9c10
  partnerctl --output json roles assignments --customer C --subscription S --user mila@contoso.com)";

// Subcommand help lists only the subcommand's own flags; say where the rest is documented.
void AddHelpPointers(CLI::App& app) {
  static const std::string kPointer =
      "Global flags (--target, --output table|json, --timeout, --tls*, --token), environment\n"
      "and exit codes: partnerctl --help";
  for (CLI::App* sub : app.get_subcommands({})) {
    if (dynamic_cast<CLI::Option_group*>(sub) != nullptr) continue;
    const std::string footer = sub->get_footer();
    sub->footer(footer.empty() ? kPointer : footer + "\n\n" + kPointer);
    AddHelpPointers(*sub);
  }
}

}  // namespace

absl::StatusOr<std::chrono::milliseconds> ParseTimeout(const std::string& text) {
  absl::Duration d;
  if (!absl::ParseDuration(text, &d) || d <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("timeout \"", text, "\": expected a positive duration such as 30s or 2m"));
  }
  return std::chrono::milliseconds(absl::ToInt64Milliseconds(d));
}

client::CallOptions Context::Call() const {
  client::CallOptions call;
  call.correlation_id = flags.correlation_id;
  return call;
}

absl::StatusOr<client::ClientOptions> Context::Options(std::chrono::milliseconds fallback) const {
  client::ClientOptions options;
  options.target = flags.target;
  options.use_tls = flags.tls;
  options.tls_root_file = flags.tls_ca_file;
  options.tls_cert_file = flags.tls_cert_file;
  options.tls_key_file = flags.tls_key_file;
  options.bearer_token = flags.token;
  options.default_timeout = fallback;
  if (!flags.timeout.empty()) {
    absl::StatusOr<std::chrono::milliseconds> timeout = ParseTimeout(flags.timeout);
    if (!timeout.ok()) return timeout.status();
    options.default_timeout = *timeout;
  }
  return options;
}

absl::StatusOr<client::CustomerClient> Context::Customers() const {
  absl::StatusOr<client::ClientOptions> options = Options(std::chrono::seconds(30));
  if (!options.ok()) return options.status();
  auto connection = client::MakeCustomerConnection(*options);
  if (!connection.ok()) return connection.status();
  return client::CustomerClient(*std::move(connection));
}

absl::StatusOr<client::SubscriptionClient> Context::Subscriptions() const {
  absl::StatusOr<client::ClientOptions> options = Options(std::chrono::seconds(30));
  if (!options.ok()) return options.status();
  auto connection = client::MakeSubscriptionConnection(*options);
  if (!connection.ok()) return connection.status();
  return client::SubscriptionClient(*std::move(connection));
}

absl::StatusOr<client::AccessClient> Context::Access(std::chrono::milliseconds fallback) const {
  absl::StatusOr<client::ClientOptions> options = Options(fallback);
  if (!options.ok()) return options.status();
  auto connection = client::MakeAccessConnection(*options);
  if (!connection.ok()) return connection.status();
  return client::AccessClient(*std::move(connection));
}

void Context::Finish(const absl::Status& status) {
  if (!status.ok()) PrintError(err_, status);
  exit_code = ExitCodeFor(status);
}

int RunPartnerctl(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  Context context(out, err);
  CLI::App app(
      "partnerctl: manage a partner's customers, subscriptions and Azure role "
      "assignments through partner-gateway.",
      "partnerctl");
  // Global flags are accepted after the subcommand too (partnerctl customers list -o json).
  app.fallthrough();
  app.require_subcommand(1);
  GlobalFlags& f = context.flags;
  app.option_defaults()->always_capture_default();
  app.add_option("--target", f.target, "Gateway address HOST:PORT")->envname("PARTNERCTL_TARGET");
  app.add_option("-o,--output", f.output, "Output format")->check(CLI::IsMember({"table", "json"}));
  app.add_option("--timeout", f.timeout,
                 "Deadline of each call, e.g. 30s, 2m (default 30s; "
                 "roles batch-assign: 10m)")
      ->check([](const std::string& text) {
        absl::StatusOr<std::chrono::milliseconds> parsed = ParseTimeout(text);
        return parsed.ok() ? std::string() : std::string(parsed.status().message());
      });
  app.add_flag("--tls", f.tls, "Connect with TLS (implied by the --tls-* files)");
  app.add_option("--tls-ca", f.tls_ca_file, "PEM file of the CA certificates to trust")
      ->check(CLI::ExistingFile);
  app.add_option("--tls-cert", f.tls_cert_file, "PEM client certificate for mutual TLS")
      ->check(CLI::ExistingFile);
  app.add_option("--tls-key", f.tls_key_file, "PEM private key of --tls-cert")
      ->check(CLI::ExistingFile);
  app.add_option("--token", f.token, "Bearer token sent to the gateway")
      ->envname("PARTNERCTL_TOKEN");
  app.add_option("--correlation-id", f.correlation_id,
                 "Correlation id sent with every call (x-correlation-id), to find it in the "
                 "gateway's logs");

  AddCustomerCommands(app, context);
  AddSubscriptionCommands(app, context);
  AddRoleCommands(app, context);
  // Set last: a subcommand inherits the footer its parent has when it is added.
  app.footer(kFooter);
  AddHelpPointers(app);

  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e, out, err);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e, out, err);
  } catch (const CLI::ParseError& e) {
    // CLI11 has an exit code per parse error; a script only needs to know "usage error".
    app.exit(e, out, err);
    return kExitUsage;
  }
  return context.exit_code;
}

}  // namespace partner::cli
