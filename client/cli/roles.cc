// partnerctl roles ...
#include <unistd.h>

#include <fstream>
#include <memory>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "client/cli/app.h"
#include "client/cli/batch_file.h"
#include "client/cli/output.h"

namespace partner::cli {
namespace {

// Flags naming a scope and, optionally, a principal and a role.
struct ScopeFlags {
  std::string customer, subscription, resource_group;
  std::string user, object_id;
  std::string role, role_id;
};

void AddScope(CLI::App* cmd, ScopeFlags& f, bool subscription_required) {
  cmd->add_option("--customer", f.customer, "The customer's tenant id")->required();
  auto* sub = cmd->add_option("--subscription", f.subscription, "Azure subscription id");
  if (subscription_required) sub->required();
  cmd->add_option("--resource-group", f.resource_group,
                  "A resource group of the subscription (default: the whole subscription)");
}

void AddPrincipal(CLI::App* cmd, ScopeFlags& f, bool required) {
  CLI::Option_group* group = cmd->add_option_group("principal", "Who (one of)");
  group->add_option("--user", f.user, "User principal name");
  group->add_option("--object-id", f.object_id, "Object id of a user, group or service principal");
  if (required) {
    group->require_option(1);
  } else {
    group->require_option(0, 1);
  }
}

void AddRole(CLI::App* cmd, ScopeFlags& f) {
  CLI::Option_group* group = cmd->add_option_group("role", "Which role (one of)");
  group->add_option("--role", f.role, "Role name, e.g. Reader");
  group->add_option("--role-id", f.role_id, "Role definition id (GUID)");
  group->require_option(1);
}

void FillPrincipal(const ScopeFlags& f, v1::Principal* principal) {
  if (!f.user.empty()) principal->set_user_principal_name(f.user);
  if (!f.object_id.empty()) principal->set_object_id(f.object_id);
}

void FillRole(const ScopeFlags& f, v1::RoleRef* role) {
  if (!f.role.empty()) role->set_role_name(f.role);
  if (!f.role_id.empty()) role->set_role_definition_id(f.role_id);
}

std::string PrincipalType(v1::PrincipalType t) {
  return EnumLabel(v1::PrincipalType_Name(t), "PRINCIPAL_TYPE_");
}

void PrintAssignment(Context& context, const std::string& outcome, const v1::RoleAssignment& a) {
  Table table({"FIELD", "VALUE"});
  table.AddRow({"outcome", outcome});
  table.AddRow({"role", a.role_name().empty() ? a.role_definition_id() : a.role_name()});
  table.AddRow({"principal id", a.principal_id()});
  table.AddRow({"principal type", PrincipalType(a.principal_type())});
  table.AddRow({"scope", a.scope()});
  table.AddRow({"assignment id", a.role_assignment_id().empty() ? "-" : a.role_assignment_id()});
  if (!a.description().empty()) table.AddRow({"description", a.description()});
  table.Print(context.out(), "fields");
}

std::string Describe(const v1::AssignRoleRequest& item) {
  const v1::Principal& p = item.principal();
  const v1::RoleRef& r = item.role();
  std::string scope = absl::StrCat("/subscriptions/", item.azure_subscription_id());
  if (!item.resource_group().empty())
    absl::StrAppend(&scope, "/resourceGroups/", item.resource_group());
  return absl::StrCat(r.has_role_name() ? r.role_name() : r.role_definition_id(), " to ",
                      p.has_user_principal_name() ? p.user_principal_name() : p.object_id(), " at ",
                      scope, " (customer ", item.customer_id(), ")");
}

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat("cannot read ", path));
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

}  // namespace

void AddBatchAssign(CLI::App* roles, Context& context);

void AddRoleCommands(CLI::App& app, Context& context) {
  CLI::App* roles = app.add_subcommand("roles", "Azure role definitions and assignments");
  roles->require_subcommand(1);

  auto defs = std::make_shared<ScopeFlags>();
  CLI::App* definitions =
      roles->add_subcommand("definitions", "List the roles usable at an Azure subscription");
  definitions->add_option("--customer", defs->customer, "The customer's tenant id")->required();
  definitions->add_option("--subscription", defs->subscription, "Azure subscription id")
      ->required();
  definitions->footer(
      "\nExample:\n  partnerctl roles definitions --customer C "
      "--subscription 551e8a9d-3001-48db-ba41-b66def79d35f");
  definitions->callback([&context, defs] {
    absl::StatusOr<client::AccessClient> client = context.Access();
    if (!client.ok()) return context.Finish(client.status());
    v1::ListRoleDefinitionsRequest request;
    request.set_customer_id(defs->customer);
    request.set_azure_subscription_id(defs->subscription);
    auto response = client->ListRoleDefinitions(request, context.Call());
    if (!response.ok()) return context.Finish(response.status());
    if (context.json()) {
      context.out() << ToJson(*response, true) << '\n';
    } else {
      Table table({"ROLE", "TYPE", "ROLE DEFINITION ID"});
      for (const v1::RoleDefinition& d : response->role_definitions()) {
        table.AddRow({d.role_name(), EnumLabel(v1::RoleType_Name(d.role_type()), "ROLE_TYPE_"),
                      d.role_definition_id()});
      }
      table.Print(context.out(), "role definitions");
    }
    context.Finish(absl::OkStatus());
  });

  auto assign_flags = std::make_shared<ScopeFlags>();
  auto principal_type = std::make_shared<std::string>();
  auto description = std::make_shared<std::string>();
  auto dry_run = std::make_shared<bool>(false);
  CLI::App* assign = roles->add_subcommand(
      "assign", "Give a principal a role (idempotent: repeating it changes nothing)");
  AddScope(assign, *assign_flags, true);
  AddPrincipal(assign, *assign_flags, true);
  AddRole(assign, *assign_flags);
  assign->add_option("--principal-type", *principal_type, "Type of the principal (default user)")
      ->check(CLI::IsMember({"user", "group", "service-principal", "foreign-group"}));
  assign->add_option("--description", *description, "A note stored on the assignment");
  assign->add_flag("--dry-run", *dry_run, "Check everything, change nothing");
  assign->footer(
      "\nExample:\n  partnerctl roles assign --customer C --subscription S "
      "--user mila.berg@fabrikamtoys.onmicrosoft.com --role Reader");
  assign->callback([&context, assign_flags, principal_type, description, dry_run] {
    absl::StatusOr<client::AccessClient> client = context.Access();
    if (!client.ok()) return context.Finish(client.status());
    v1::AssignRoleRequest request;
    request.set_customer_id(assign_flags->customer);
    request.set_azure_subscription_id(assign_flags->subscription);
    request.set_resource_group(assign_flags->resource_group);
    FillPrincipal(*assign_flags, request.mutable_principal());
    FillRole(*assign_flags, request.mutable_role());
    if (!principal_type->empty()) request.set_principal_type(*ParsePrincipalType(*principal_type));
    request.set_description(*description);
    request.set_validate_only(*dry_run);
    auto response = client->AssignRole(request, context.Call());
    if (!response.ok()) return context.Finish(response.status());
    if (context.json()) {
      context.out() << ToJson(*response, true) << '\n';
    } else {
      const std::string outcome =
          *dry_run
              ? (response->already_existed() ? "dry run: already exists" : "dry run: would assign")
          : response->already_existed() ? "already existed"
                                        : "assigned";
      PrintAssignment(context, outcome, response->role_assignment());
    }
    context.Finish(absl::OkStatus());
  });

  auto list_flags = std::make_shared<ScopeFlags>();
  CLI::App* assignments = roles->add_subcommand(
      "assignments", "List the role assignments at a subscription or resource group");
  AddScope(assignments, *list_flags, true);
  AddPrincipal(assignments, *list_flags, false);
  assignments->footer(
      "\nExamples:\n  partnerctl roles assignments --customer C --subscription S\n"
      "  partnerctl roles assignments --customer C --subscription S --resource-group rg-web "
      "--user mila.berg@fabrikamtoys.onmicrosoft.com");
  assignments->callback([&context, list_flags] {
    absl::StatusOr<client::AccessClient> client = context.Access();
    if (!client.ok()) return context.Finish(client.status());
    v1::ListRoleAssignmentsRequest request;
    request.set_customer_id(list_flags->customer);
    request.set_azure_subscription_id(list_flags->subscription);
    request.set_resource_group(list_flags->resource_group);
    if (!list_flags->user.empty() || !list_flags->object_id.empty()) {
      FillPrincipal(*list_flags, request.mutable_principal());
    }
    auto all = client->ListAllRoleAssignments(request, context.Call());
    if (!all.ok()) return context.Finish(all.status());
    if (context.json()) {
      v1::ListRoleAssignmentsResponse response;
      for (v1::RoleAssignment& a : *all) *response.add_role_assignments() = std::move(a);
      context.out() << ToJson(response, true) << '\n';
    } else {
      Table table({"ROLE", "PRINCIPAL ID", "TYPE", "SCOPE", "ASSIGNMENT ID"});
      for (const v1::RoleAssignment& a : *all) {
        table.AddRow({a.role_name().empty() ? a.role_definition_id() : a.role_name(),
                      a.principal_id(), PrincipalType(a.principal_type()), a.scope(),
                      a.role_assignment_id()});
      }
      table.Print(context.out(), "role assignments");
    }
    context.Finish(absl::OkStatus());
  });

  auto revoke_flags = std::make_shared<ScopeFlags>();
  auto assignment_id = std::make_shared<std::string>();
  CLI::App* revoke = roles->add_subcommand(
      "revoke", "Remove one role assignment, by id or by its exact scope, principal and role");
  AddScope(revoke, *revoke_flags, false);
  revoke->add_option("--assignment-id", *assignment_id,
                     "Full ARM id of the assignment (see roles assignments)");
  revoke->add_option("--user", revoke_flags->user, "User principal name");
  revoke->add_option("--object-id", revoke_flags->object_id, "Object id of the principal");
  revoke->add_option("--role", revoke_flags->role, "Role name");
  revoke->add_option("--role-id", revoke_flags->role_id, "Role definition id");
  revoke->footer(
      "\nGive --assignment-id, or --subscription with one of --user/--object-id and "
      "one of --role/--role-id.\n\nExample:\n  partnerctl roles revoke --customer C "
      "--subscription S --user mila.berg@fabrikamtoys.onmicrosoft.com --role Reader");
  revoke->callback([&context, revoke_flags, assignment_id] {
    const ScopeFlags& f = *revoke_flags;
    const bool by_triple = !f.subscription.empty() || !f.resource_group.empty() ||
                           !f.user.empty() || !f.object_id.empty() || !f.role.empty() ||
                           !f.role_id.empty();
    if (assignment_id->empty() == !by_triple) {
      return context.Finish(absl::InvalidArgumentError(
          "give either --assignment-id, or --subscription with a principal and a role"));
    }
    if (by_triple && (f.subscription.empty() || f.user.empty() == f.object_id.empty() ||
                      f.role.empty() == f.role_id.empty())) {
      return context.Finish(absl::InvalidArgumentError(
          "revoking by scope needs --subscription, one of --user/--object-id and one of "
          "--role/--role-id"));
    }
    absl::StatusOr<client::AccessClient> client = context.Access();
    if (!client.ok()) return context.Finish(client.status());
    v1::RevokeRoleRequest request;
    request.set_customer_id(f.customer);
    if (!by_triple) {
      request.set_role_assignment_id(*assignment_id);
    } else {
      v1::RoleAssignmentTriple* triple = request.mutable_triple();
      triple->set_azure_subscription_id(f.subscription);
      triple->set_resource_group(f.resource_group);
      FillPrincipal(f, triple->mutable_principal());
      FillRole(f, triple->mutable_role());
    }
    auto response = client->RevokeRole(request, context.Call());
    if (!response.ok()) return context.Finish(response.status());
    if (context.json()) {
      context.out() << ToJson(*response, true) << '\n';
    } else if (response->already_absent()) {
      context.out() << "Nothing to revoke: no such role assignment.\n";
    } else {
      PrintAssignment(context, "revoked", response->role_assignment());
    }
    context.Finish(absl::OkStatus());
  });

  AddBatchAssign(roles, context);
  // Set after its subcommands: a subcommand inherits its parent's footer.
  roles->footer(
      "\nExamples:\n  partnerctl roles definitions --customer C --subscription S\n"
      "  partnerctl roles assign --customer C --subscription S "
      "--user mila.berg@fabrikamtoys.onmicrosoft.com --role Reader\n"
      "  partnerctl roles batch-assign --file assignments.csv");
}

void AddBatchAssign(CLI::App* roles, Context& context) {
  auto file = std::make_shared<std::string>();
  CLI::App* batch = roles->add_subcommand(
      "batch-assign", "Assign many roles from a file; rerunning the same file is safe");
  batch->add_option("--file", *file, "CSV with a header row, or JSON lines")
      ->required()
      ->check(CLI::ExistingFile);
  batch->footer(
      "\nCSV columns: customer, subscription, resource_group, user | object_id, role | role_id,\n"
      "principal_type, description. JSON lines: one AssignRoleRequest per line, e.g.\n"
      "  {\"customerId\":\"C\",\"azureSubscriptionId\":\"S\","
      "\"principal\":{\"userPrincipalName\":\"U\"},\"role\":{\"roleName\":\"Reader\"}}\n"
      "Assignments are idempotent: after an interruption, run the same file again; items done\n"
      "before report \"already existed\" and nothing is assigned twice. Exit code 6 when any\n"
      "item failed.\n\nExample:\n  partnerctl roles batch-assign --file assignments.csv");
  batch->callback([&context, file] {
    absl::StatusOr<std::string> content = ReadWholeFile(*file);
    if (!content.ok()) return context.Finish(content.status());
    absl::StatusOr<std::vector<v1::AssignRoleRequest>> items = ParseBatch(*content);
    if (!items.ok()) return context.Finish(items.status());
    absl::StatusOr<client::AccessClient> client = context.Access(std::chrono::minutes(10));
    if (!client.ok()) return context.Finish(client.status());

    v1::BatchAssignRolesRequest request;
    for (const v1::AssignRoleRequest& item : *items) *request.add_items() = item;
    const bool progress = !context.json() && ::isatty(STDERR_FILENO) == 1;
    const size_t total = items->size();
    size_t done = 0;
    v1::BatchAssignRolesSummary summary;
    auto clear_progress = [&] {
      if (progress) context.err() << "\r\033[K" << std::flush;
    };
    auto show_progress = [&] {
      if (!progress) return;
      constexpr size_t kWidth = 30;
      const size_t filled = total == 0 ? kWidth : done * kWidth / total;
      context.err() << "\r[" << std::string(filled, '#') << std::string(kWidth - filled, '.')
                    << "] " << done << "/" << total << std::flush;
    };
    show_progress();
    absl::Status status = client->BatchAssignRoles(
        request,
        [&](const v1::BatchAssignRolesResponse& message) {
          if (message.has_summary()) summary = message.summary();
          if (context.json()) {
            context.out() << ToJson(message, false) << '\n' << std::flush;
            return;
          }
          if (!message.has_item()) return;
          const v1::BatchAssignRoleResult& r = message.item();
          ++done;
          clear_progress();
          const std::string what = r.index() >= 0 && static_cast<size_t>(r.index()) < total
                                       ? Describe((*items)[static_cast<size_t>(r.index())])
                                       : "?";
          if (r.error_code() != 0) {
            context.out() << "failed           #" << r.index() << " " << what << ": "
                          << absl::StatusCodeToString(static_cast<absl::StatusCode>(r.error_code()))
                          << " " << r.error_reason() << ": " << r.error_message() << '\n';
          } else {
            context.out() << (r.response().already_existed() ? "already existed  #"
                                                             : "assigned         #")
                          << r.index() << " " << what << '\n';
          }
          context.out() << std::flush;
          show_progress();
        },
        context.Call());
    clear_progress();
    if (!status.ok()) return context.Finish(status);
    if (!context.json()) {
      context.out() << "Summary: " << summary.created() << " assigned, "
                    << summary.already_existed() << " already existed, " << summary.failed()
                    << " failed, " << summary.not_started() << " not started.\n";
    }
    context.Finish(absl::OkStatus());
    if (summary.failed() > 0 || summary.not_started() > 0) context.exit_code = kExitPartialFailure;
  });
}

}  // namespace partner::cli
