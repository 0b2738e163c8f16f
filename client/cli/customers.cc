// partnerctl customers ... and users ...
#include <memory>

#include "client/cli/app.h"
#include "client/cli/output.h"

namespace partner::cli {
namespace {

std::string Relationship(v1::CustomerRelationship r) {
  return EnumLabel(v1::CustomerRelationship_Name(r), "CUSTOMER_RELATIONSHIP_");
}

void PrintCustomers(Context& context, const v1::ListCustomersResponse& response) {
  if (context.json()) {
    context.out() << ToJson(response, true) << '\n';
    return;
  }
  Table table({"CUSTOMER ID", "COMPANY NAME", "DOMAIN", "RELATIONSHIP"});
  for (const v1::Customer& c : response.customers()) {
    table.AddRow({c.customer_id(), c.company_name(), c.domain(), Relationship(c.relationship())});
  }
  table.Print(context.out(), "customers");
  if (!response.next_page_token().empty()) {
    context.err() << "(more customers: add --all to list every page)\n";
  }
}

void PrintUser(Context& context, const v1::CustomerUser& user, const std::string& password) {
  Table table({"FIELD", "VALUE"});
  table.AddRow({"object id", user.object_id()});
  table.AddRow({"user principal name", user.user_principal_name()});
  table.AddRow({"display name", user.display_name()});
  if (!user.mail().empty()) table.AddRow({"mail", user.mail()});
  if (!password.empty()) table.AddRow({"one-time password", password});
  table.Print(context.out(), "fields");
}

}  // namespace

void AddCustomerCommands(CLI::App& app, Context& context) {
  CLI::App* customers = app.add_subcommand("customers", "Customers of the partner");
  customers->require_subcommand(1);

  struct ListFlags {
    std::string name_prefix, domain_prefix;
    int page_size = 0;
    bool all = false;
  };
  auto list_flags = std::make_shared<ListFlags>();
  CLI::App* list = customers->add_subcommand("list", "List customers, one page or --all");
  auto* name = list->add_option("--name-prefix", list_flags->name_prefix,
                                "Only customers whose company name starts with this");
  list->add_option("--domain-prefix", list_flags->domain_prefix,
                   "Only customers whose domain starts with this")
      ->excludes(name);
  list->add_option("--page-size", list_flags->page_size, "Customers per page (1-500)")
      ->check(CLI::Range(1, 500));
  list->add_flag("--all", list_flags->all, "Walk every page; one document holding every item");
  list->footer(
      "\nExamples:\n  partnerctl customers list --all\n"
      "  partnerctl customers list --name-prefix Fabrikam --output json");
  list->callback([&context, list_flags] {
    absl::StatusOr<client::CustomerClient> client = context.Customers();
    if (!client.ok()) return context.Finish(client.status());
    v1::ListCustomersRequest request;
    if (!list_flags->name_prefix.empty()) request.set_company_name_prefix(list_flags->name_prefix);
    if (!list_flags->domain_prefix.empty()) request.set_domain_prefix(list_flags->domain_prefix);
    request.set_page_size(list_flags->page_size);
    v1::ListCustomersResponse response;
    if (list_flags->all) {
      auto all = client->ListAllCustomers(request, context.Call());
      if (!all.ok()) return context.Finish(all.status());
      for (v1::Customer& c : *all) *response.add_customers() = std::move(c);
    } else {
      auto page = client->ListCustomers(request, context.Call());
      if (!page.ok()) return context.Finish(page.status());
      response = *std::move(page);
    }
    PrintCustomers(context, response);
    context.Finish(absl::OkStatus());
  });

  auto customer_id = std::make_shared<std::string>();
  CLI::App* get = customers->add_subcommand("get", "Show one customer");
  get->add_option("CUSTOMER_ID", *customer_id, "The customer's tenant id")->required();
  get->footer("\nExample:\n  partnerctl customers get 0f3e6a51-7c1b-4c53-9b6d-2a4f7e1d9c10");
  get->callback([&context, customer_id] {
    absl::StatusOr<client::CustomerClient> client = context.Customers();
    if (!client.ok()) return context.Finish(client.status());
    v1::GetCustomerRequest request;
    request.set_customer_id(*customer_id);
    auto response = client->GetCustomer(request, context.Call());
    if (!response.ok()) return context.Finish(response.status());
    if (context.json()) {
      context.out() << ToJson(*response, true) << '\n';
    } else {
      const v1::Customer& c = response->customer();
      Table table({"FIELD", "VALUE"});
      table.AddRow({"customer id", c.customer_id()});
      table.AddRow({"company name", c.company_name()});
      table.AddRow({"domain", c.domain()});
      table.AddRow({"relationship", Relationship(c.relationship())});
      table.AddRow({"delegated access", !c.has_allow_delegated_access() ? "-"
                                        : c.allow_delegated_access()    ? "yes"
                                                                        : "no"});
      table.Print(context.out(), "fields");
    }
    context.Finish(absl::OkStatus());
  });
  // Group footers are set after their subcommands: a subcommand inherits its parent's footer.
  customers->footer(
      "\nExamples:\n  partnerctl customers list --name-prefix Fabrikam\n"
      "  partnerctl customers get 0f3e6a51-7c1b-4c53-9b6d-2a4f7e1d9c10");

  CLI::App* users = app.add_subcommand("users", "Users of a customer's tenant");
  users->require_subcommand(1);

  struct UsersListFlags {
    std::string customer, search;
  };
  auto users_list_flags = std::make_shared<UsersListFlags>();
  CLI::App* users_list = users->add_subcommand("list", "List every user of the customer, or those matching --search");
  users_list->add_option("--customer", users_list_flags->customer, "The customer's tenant id")->required();
  users_list->add_option("--search", users_list_flags->search,
                         "Only users whose display name or user principal name starts with this prefix "
                         "(case-insensitive)");
  users_list->footer(
      "\nExamples:\n  partnerctl users list --customer 0f3e6a51-7c1b-4c53-9b6d-2a4f7e1d9c10\n"
      "  partnerctl users list --customer 0f3e6a51-7c1b-4c53-9b6d-2a4f7e1d9c10 --search mila --output json");
  users_list->callback([&context, users_list_flags] {
    absl::StatusOr<client::CustomerClient> client = context.Customers();
    if (!client.ok()) return context.Finish(client.status());
    v1::ListCustomerUsersRequest request;
    request.set_customer_id(users_list_flags->customer);
    request.set_search_prefix(users_list_flags->search);
    auto all = client->ListAllCustomerUsers(request, context.Call());
    if (!all.ok()) return context.Finish(all.status());
    if (context.json()) {
      v1::ListCustomerUsersResponse response;
      for (v1::CustomerUser& u : *all) *response.add_users() = std::move(u);
      context.out() << ToJson(response, true) << '\n';
    } else {
      Table table({"OBJECT ID", "USER PRINCIPAL NAME", "DISPLAY NAME", "MAIL"});
      for (const v1::CustomerUser& u : *all) {
        table.AddRow({u.object_id(), u.user_principal_name(), u.display_name(), u.mail()});
      }
      table.Print(context.out(), "users");
    }
    context.Finish(absl::OkStatus());
  });

  struct CreateFlags {
    std::string customer, upn, display_name;
  };
  auto create_flags = std::make_shared<CreateFlags>();
  CLI::App* create = users->add_subcommand("create", "Create a user in the customer's tenant");
  create->add_option("--customer", create_flags->customer, "The customer's tenant id")->required();
  create->add_option("--upn", create_flags->upn, "User principal name, e.g. mila@fabrikam.com")
      ->required();
  create->add_option("--display-name", create_flags->display_name, "Display name")->required();
  create->footer(
      "\nExample:\n  partnerctl users create --customer C "
      "--upn mila.berg@fabrikamtoys.onmicrosoft.com --display-name \"Mila Berg\"");
  create->callback([&context, create_flags] {
    absl::StatusOr<client::CustomerClient> client = context.Customers();
    if (!client.ok()) return context.Finish(client.status());
    v1::CreateCustomerUserRequest request;
    request.set_customer_id(create_flags->customer);
    request.set_user_principal_name(create_flags->upn);
    request.set_display_name(create_flags->display_name);
    auto response = client->CreateCustomerUser(request, context.Call());
    if (!response.ok()) return context.Finish(response.status());
    if (context.json()) {
      context.out() << ToJson(*response, true) << '\n';
    } else {
      PrintUser(context, response->user(), response->one_time_password());
    }
    context.Finish(absl::OkStatus());
  });
  users->footer(
      "\nExamples:\n  partnerctl users list --customer C\n"
      "  partnerctl users list --customer C --search mila\n"
      "  partnerctl users create --customer C --upn mila.berg@fabrikamtoys.onmicrosoft.com "
      "--display-name \"Mila Berg\"");
}

}  // namespace partner::cli
