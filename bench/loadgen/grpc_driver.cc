#include "bench/loadgen/grpc_driver.h"

#include <atomic>
#include <chrono>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"

namespace partner::bench {
namespace {

std::chrono::system_clock::time_point DeadlineIn(absl::Duration d) {
  return std::chrono::system_clock::now() + absl::ToChronoMilliseconds(d);
}

// One call on the callback API: owns its context and messages until the completion runs.
template <typename Request, typename Response, typename AsyncMethod>
void StartUnary(AsyncMethod async_method, Request request, absl::Duration deadline, std::function<void(int)> done) {
  struct Call {
    grpc::ClientContext context;
    Request request;
    Response response;
    std::function<void(int)> done;
  };
  auto* call = new Call;
  call->request = std::move(request);
  call->done = std::move(done);
  call->context.set_deadline(DeadlineIn(deadline));
  async_method(&call->context, &call->request, &call->response, [call](grpc::Status status) {
    // The context holds a reference to its channel, so it goes before the call is reported: once
    // the last call is, the driver's channels are the last references, and destroying them shuts
    // gRPC's callback threads down. Reported first, a context could outlive them, and its thread
    // still ran in gRPC when the process exited (4 crashes at exit in 60 runs).
    std::function<void(int)> done = std::move(call->done);
    delete call;
    done(static_cast<int>(status.error_code()));
  });
}

}  // namespace

GrpcDriver::GrpcDriver(const GrpcOptions& options) : options_(options) {
  for (int i = 0; i < std::max(1, options.channels); ++i) {
    grpc::ChannelArguments args;
    // A distinct argument per channel keeps gRPC from sharing one subchannel (one connection).
    args.SetInt("partner.bench.channel", i);
    args.SetMaxReceiveMessageSize(16 * 1024 * 1024);
    std::shared_ptr<grpc::Channel> channel =
        grpc::CreateCustomChannel(options.target, grpc::InsecureChannelCredentials(), args);
    customer_stubs_.push_back(v1::CustomerService::NewStub(channel));
    subscription_stubs_.push_back(v1::SubscriptionService::NewStub(channel));
    access_stubs_.push_back(v1::AccessService::NewStub(channel));
  }
}

absl::Status GrpcDriver::Discover(int customers, bool details, int offset, const UsersLookup& users) {
  customers_.clear();
  std::string page_token;
  std::vector<std::string> ids;
  do {
    grpc::ClientContext context;
    context.set_deadline(DeadlineIn(options_.deadline));
    v1::ListCustomersRequest request;
    request.set_page_size(100);
    request.set_page_token(page_token);
    v1::ListCustomersResponse response;
    const grpc::Status status = customer_stubs_[0]->ListCustomers(&context, request, &response);
    if (!status.ok()) return absl::UnavailableError(absl::StrCat("ListCustomers: ", status.error_message()));
    for (const v1::Customer& c : response.customers()) ids.push_back(c.customer_id());
    page_token = response.next_page_token();
  } while (!page_token.empty());
  if (offset > 0) ids.erase(ids.begin(), ids.begin() + std::min<std::size_t>(ids.size(), offset));
  std::vector<CustomerTarget> found(ids.size());
  std::vector<char> usable(ids.size(), details ? 0 : 1);  // not vector<bool>: workers write neighbours
  for (std::size_t i = 0; i < ids.size(); ++i) found[i].id = ids[i];
  if (details) {
    std::atomic<std::size_t> next{0};
    auto worker = [&] {
      for (std::size_t i = next++; i < ids.size(); i = next++) {
        CustomerTarget& target = found[i];
        grpc::ClientContext subs_context;
        subs_context.set_deadline(DeadlineIn(options_.deadline));
        v1::ListAzureSubscriptionsRequest subs_request;
        subs_request.set_customer_id(target.id);
        v1::ListAzureSubscriptionsResponse subs;
        // Customers that revoked access or never consented answer errors: they are skipped.
        if (!subscription_stubs_[0]->ListAzureSubscriptions(&subs_context, subs_request, &subs).ok()) continue;
        for (const v1::AzureSubscription& s : subs.azure_subscriptions()) {
          target.azure_subscriptions.push_back(s.azure_subscription_id());
        }
        if (users) {
          absl::StatusOr<std::vector<std::string>> names = users(target.id);
          if (!names.ok()) continue;
          target.user_principal_names = *std::move(names);
        } else {
          grpc::ClientContext users_context;
          users_context.set_deadline(DeadlineIn(options_.deadline));
          v1::ListCustomerUsersRequest users_request;
          users_request.set_customer_id(target.id);
          users_request.set_page_size(100);
          v1::ListCustomerUsersResponse page;
          if (!customer_stubs_[0]->ListCustomerUsers(&users_context, users_request, &page).ok()) continue;
          for (const v1::CustomerUser& u : page.users()) target.user_principal_names.push_back(u.user_principal_name());
        }
        usable[i] = !target.azure_subscriptions.empty() && !target.user_principal_names.empty();
      }
    };
    std::vector<std::thread> threads;
    for (int t = 0; t < 16; ++t) threads.emplace_back(worker);
    for (std::thread& t : threads) t.join();
  }
  for (std::size_t i = 0; i < ids.size() && static_cast<int>(customers_.size()) < customers; ++i) {
    if (usable[i]) customers_.push_back(std::move(found[i]));
  }
  if (static_cast<int>(customers_.size()) < customers) {
    return absl::FailedPreconditionError(
        absl::StrCat("found ", customers_.size(), " usable customers, wanted ", customers));
  }
  return absl::OkStatus();
}

void GrpcDriver::Start(Method method, std::uint64_t sequence, std::function<void(int)> done) {
  const CustomerTarget& customer = customers_[sequence % customers_.size()];
  switch (method) {
    case Method::kGetCustomer: {
      v1::GetCustomerRequest request;
      request.set_customer_id(customer.id);
      auto& stub = Pick(customer_stubs_, sequence);
      StartUnary<v1::GetCustomerRequest, v1::GetCustomerResponse>(
          [&stub](auto* c, auto* q, auto* r, auto cb) { stub.async()->GetCustomer(c, q, r, std::move(cb)); },
          std::move(request), options_.deadline, std::move(done));
      return;
    }
    case Method::kListCustomers: {
      v1::ListCustomersRequest request;
      request.set_page_size(options_.page_size);
      auto& stub = Pick(customer_stubs_, sequence);
      StartUnary<v1::ListCustomersRequest, v1::ListCustomersResponse>(
          [&stub](auto* c, auto* q, auto* r, auto cb) { stub.async()->ListCustomers(c, q, r, std::move(cb)); },
          std::move(request), options_.deadline, std::move(done));
      return;
    }
    case Method::kListAzureSubscriptions: {
      v1::ListAzureSubscriptionsRequest request;
      request.set_customer_id(customer.id);
      auto& stub = Pick(subscription_stubs_, sequence);
      StartUnary<v1::ListAzureSubscriptionsRequest, v1::ListAzureSubscriptionsResponse>(
          [&stub](auto* c, auto* q, auto* r, auto cb) { stub.async()->ListAzureSubscriptions(c, q, r, std::move(cb)); },
          std::move(request), options_.deadline, std::move(done));
      return;
    }
    case Method::kAssignRole: {
      auto& stub = Pick(access_stubs_, sequence);
      StartUnary<v1::AssignRoleRequest, v1::AssignRoleResponse>(
          [&stub](auto* c, auto* q, auto* r, auto cb) { stub.async()->AssignRole(c, q, r, std::move(cb)); },
          AssignItem(customers_, sequence), options_.deadline, std::move(done));
      return;
    }
  }
}

namespace {

// Calls outstanding; WaitForZero() returns when none is left.
class Outstanding {
 public:
  void Add(int n) {
    absl::MutexLock lock(&mu_);
    count_ += n;
  }
  void Done() {
    absl::MutexLock lock(&mu_);
    --count_;
  }
  // False when `timeout` passed first.
  bool WaitForZero(absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    return mu_.AwaitWithTimeout(absl::Condition(+[](int* c) { return *c == 0; }, &count_), timeout);
  }

 private:
  absl::Mutex mu_;
  int count_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace

void GrpcDriver::RunClosed(const Mix& mix, int in_flight, const RunLimits& limits, MeasuredWindow* window) {
  Outstanding outstanding;
  std::atomic<std::uint64_t> next{0};
  const std::int64_t slots = limits.counted() ? std::min<std::int64_t>(in_flight, limits.total_calls) : in_flight;
  outstanding.Add(static_cast<int>(slots));
  // Each completion starts the next call on the completing thread: the loop holds no thread.
  std::function<void()> issue = [&] {
    const std::uint64_t sequence = next.fetch_add(1);
    if (!limits.MayStart(sequence, *window)) {
      outstanding.Done();
      return;
    }
    const absl::Time started = absl::Now();
    Start(mix.Pick(sequence), sequence, [&, started](int code) {
      window->Record(code, absl::Now() - started);
      issue();
    });
  };
  RunInWindow(
      limits, window, [&](absl::Time) { for (std::int64_t i = 0; i < slots; ++i) issue(); },
      [&] { outstanding.WaitForZero(options_.deadline + absl::Seconds(30)); });
}

void GrpcDriver::RunOpen(const Mix& mix, double rate, const RunLimits& limits, MeasuredWindow* window) {
  Outstanding outstanding;
  const auto call_at_rate = [&](absl::Time start) {
    PaceAtRate(rate, limits, start, window, [&](std::uint64_t sequence, absl::Time due) {
      outstanding.Add(1);
      Start(mix.Pick(sequence), sequence, [&, due](int code) {
        window->Record(code, absl::Now() - due);
        outstanding.Done();
      });
    });
  };
  RunInWindow(limits, window, call_at_rate, [&] { outstanding.WaitForZero(options_.deadline + absl::Seconds(30)); });
}

nlohmann::json GrpcDriver::RunBatch(int items) {
  v1::BatchAssignRolesRequest request;
  for (int i = 0; i < items; ++i) *request.add_items() = AssignItem(customers_, static_cast<std::uint64_t>(i));
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(options_.deadline));
  const absl::Time start = absl::Now();
  std::unique_ptr<grpc::ClientReader<v1::BatchAssignRolesResponse>> reader =
      access_stubs_[0]->BatchAssignRoles(&context, request);
  std::map<std::string, std::int64_t> item_errors;
  std::int64_t results = 0;
  v1::BatchAssignRolesResponse response;
  nlohmann::json summary = nlohmann::json::object();
  while (reader->Read(&response)) {
    if (response.has_item()) {
      ++results;
      if (response.item().error_code() != 0) {
        ++item_errors[absl::StrCat(response.item().error_code(), " ", response.item().error_reason())];
      }
    } else if (response.has_summary()) {
      summary = {{"created", response.summary().created()},
                 {"already_existed", response.summary().already_existed()},
                 {"failed", response.summary().failed()},
                 {"not_started", response.summary().not_started()}};
    }
  }
  const grpc::Status status = reader->Finish();
  return {{"items", items},
          {"results", results},
          {"wall_seconds", absl::ToDoubleSeconds(absl::Now() - start)},
          {"stream_code", static_cast<int>(status.error_code())},
          {"stream_message", status.error_message()},
          {"item_errors", item_errors},
          {"summary", summary}};
}

nlohmann::json GrpcDriver::RunSequential(int items) {
  LatencyRecorder recorder;
  const absl::Time start = absl::Now();
  for (int i = 0; i < items; ++i) {
    grpc::ClientContext context;
    context.set_deadline(DeadlineIn(options_.deadline));
    v1::AssignRoleResponse response;
    const absl::Time t0 = absl::Now();
    const grpc::Status status =
        access_stubs_[0]->AssignRole(&context, AssignItem(customers_, static_cast<std::uint64_t>(i)), &response);
    recorder.Record(static_cast<int>(status.error_code()), absl::Now() - t0);
  }
  nlohmann::json out = recorder.Summary();
  out["items"] = items;
  out["wall_seconds"] = absl::ToDoubleSeconds(absl::Now() - start);
  return out;
}

}  // namespace partner::bench
