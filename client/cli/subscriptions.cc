// partnerctl subscriptions ...
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/cli/app.h"
#include "client/cli/output.h"
#include "google/protobuf/util/time_util.h"

namespace partner::cli {
namespace {

std::vector<std::string> Row(const v1::Subscription& s) {
  return {s.subscription_id(),
          s.friendly_name().empty() ? s.offer_name() : s.friendly_name(),
          s.offer_id(),
          absl::StrCat(s.quantity()),
          EnumLabel(v1::SubscriptionStatus_Name(s.status()), "SUBSCRIPTION_STATUS_"),
          EnumLabel(v1::SubscriptionKind_Name(s.kind()), "SUBSCRIPTION_KIND_")};
}

const std::vector<std::string> kHeaders = {"SUBSCRIPTION ID", "NAME",   "OFFER",
                                           "QUANTITY",        "STATUS", "KIND"};

}  // namespace

void AddSubscriptionCommands(CLI::App& app, Context& context) {
  CLI::App* subs = app.add_subcommand("subscriptions", "A customer's subscriptions");
  subs->require_subcommand(1);

  auto customer = std::make_shared<std::string>();
  CLI::App* list = subs->add_subcommand("list", "List the customer's Partner Center subscriptions");
  list->add_option("--customer", *customer, "The customer's tenant id")->required();
  list->footer(
      "\nExample:\n  partnerctl subscriptions list "
      "--customer 0f3e6a51-7c1b-4c53-9b6d-2a4f7e1d9c10");
  list->callback([&context, customer] {
    absl::StatusOr<client::SubscriptionClient> client = context.Subscriptions();
    if (!client.ok()) return context.Finish(client.status());
    v1::ListSubscriptionsRequest request;
    request.set_customer_id(*customer);
    auto response = client->ListSubscriptions(request, context.Call());
    if (!response.ok()) return context.Finish(response.status());
    if (context.json()) {
      context.out() << ToJson(*response, true) << '\n';
    } else {
      Table table(kHeaders);
      for (const v1::Subscription& s : response->subscriptions()) table.AddRow(Row(s));
      table.Print(context.out(), "subscriptions");
    }
    context.Finish(absl::OkStatus());
  });

  struct GetFlags {
    std::string customer, subscription;
  };
  auto get_flags = std::make_shared<GetFlags>();
  CLI::App* get = subs->add_subcommand("get", "Show one Partner Center subscription");
  get->add_option("--customer", get_flags->customer, "The customer's tenant id")->required();
  get->add_option("SUBSCRIPTION_ID", get_flags->subscription, "Partner Center subscription id")
      ->required();
  get->footer(
      "\nExample:\n  partnerctl subscriptions get --customer C "
      "9240CAD7-D3AE-4DF6-BEEF-8D05D9B8169F");
  get->callback([&context, get_flags] {
    absl::StatusOr<client::SubscriptionClient> client = context.Subscriptions();
    if (!client.ok()) return context.Finish(client.status());
    v1::GetSubscriptionRequest request;
    request.set_customer_id(get_flags->customer);
    request.set_subscription_id(get_flags->subscription);
    auto response = client->GetSubscription(request, context.Call());
    if (!response.ok()) return context.Finish(response.status());
    if (context.json()) {
      context.out() << ToJson(*response, true) << '\n';
    } else {
      const v1::Subscription& s = response->subscription();
      const std::vector<std::string> row = Row(s);
      Table table({"FIELD", "VALUE"});
      for (size_t i = 0; i < kHeaders.size(); ++i) table.AddRow({kHeaders[i], row[i]});
      table.AddRow({"OFFER NAME", s.offer_name()});
      if (s.has_create_time()) {
        table.AddRow({"CREATED", google::protobuf::util::TimeUtil::ToString(s.create_time())});
      }
      table.Print(context.out(), "fields");
    }
    context.Finish(absl::OkStatus());
  });

  auto azure_customer = std::make_shared<std::string>();
  auto arm_state = std::make_shared<bool>(false);
  CLI::App* azure = subs->add_subcommand(
      "azure", "List the customer's Azure subscriptions (targets of role assignments)");
  azure->add_option("--customer", *azure_customer, "The customer's tenant id")->required();
  azure->add_flag("--arm-state", *arm_state,
                  "Also ask Azure Resource Manager, in the customer's tenant, for each subscription's "
                  "state (Enabled, Warned, PastDue, Disabled, Deleted); '-' when the gateway's app "
                  "cannot see it there, so role assignments on it will fail");
  azure->footer(
      "\nExamples:\n  partnerctl subscriptions azure "
      "--customer 0f3e6a51-7c1b-4c53-9b6d-2a4f7e1d9c10\n"
      "  partnerctl subscriptions azure --customer 0f3e6a51-7c1b-4c53-9b6d-2a4f7e1d9c10 --arm-state");
  azure->callback([&context, azure_customer, arm_state] {
    absl::StatusOr<client::SubscriptionClient> client = context.Subscriptions();
    if (!client.ok()) return context.Finish(client.status());
    v1::ListAzureSubscriptionsRequest request;
    request.set_customer_id(*azure_customer);
    request.set_include_arm_state(*arm_state);
    auto response = client->ListAzureSubscriptions(request, context.Call());
    if (!response.ok()) return context.Finish(response.status());
    if (context.json()) {
      context.out() << ToJson(*response, true) << '\n';
    } else {
      std::vector<std::string> columns = {"AZURE SUBSCRIPTION ID", "DISPLAY NAME", "SOURCE", "STATUS",
                                          "PARTNER CENTER SUBSCRIPTION"};
      // Without --arm-state the gateway asks ARM nothing: an empty column would read as "not visible".
      if (*arm_state) columns.push_back("ARM STATE");
      Table table(columns);
      for (const v1::AzureSubscription& a : response->azure_subscriptions()) {
        std::vector<std::string> row = {
            a.azure_subscription_id(), a.display_name(),
            EnumLabel(v1::AzureSubscriptionSource_Name(a.source()), "AZURE_SUBSCRIPTION_SOURCE_"),
            a.status(), a.subscription_id()};
        if (*arm_state) row.push_back(a.arm_state().empty() ? "-" : a.arm_state());
        table.AddRow(row);
      }
      table.Print(context.out(), "Azure subscriptions");
    }
    context.Finish(absl::OkStatus());
  });
  // Set after its subcommands: a subcommand inherits its parent's footer.
  subs->footer(
      "\nExamples:\n  partnerctl subscriptions list --customer C\n"
      "  partnerctl subscriptions azure --customer C\n"
      "  partnerctl subscriptions azure --customer C --arm-state");
}

}  // namespace partner::cli
