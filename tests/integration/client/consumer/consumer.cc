// Calls a gateway that is not there: the installed headers, library and generated API link, and
// a failure arrives as an absl::Status with its code.
#include <chrono>
#include <iostream>

#include "partner/client/customer_client.h"
#include "partner/client/error_details.h"

int main() {
  partner::client::ClientOptions options;
  options.target = "127.0.0.1:1";
  options.default_timeout = std::chrono::seconds(2);
  options.retry.max_attempts = 1;
  auto connection = partner::client::MakeCustomerConnection(options);
  if (!connection.ok()) return 1;
  partner::client::CustomerClient client(*connection);
  partner::v1::ListCustomersRequest request;
  request.set_page_size(10);
  absl::StatusOr<partner::v1::ListCustomersResponse> page = client.ListCustomers(request);
  std::cout << "ListCustomers: " << page.status() << " reason=\""
            << partner::client::DecodeErrorDetails(page.status()).reason << "\"\n";
  return page.status().code() == absl::StatusCode::kUnavailable ? 0 : 1;
}
