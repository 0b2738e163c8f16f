// partner.v1.CustomerService on the gRPC callback API.
#ifndef PARTNER_SERVER_API_CUSTOMER_SERVICE_H_
#define PARTNER_SERVER_API_CUSTOMER_SERVICE_H_

#include "partner/v1/customer_service.grpc.pb.h"
#include "server/api/parsing_service.h"

namespace partner::api {

class CustomerServiceImpl final : public ParsingCallbackService<v1::CustomerService> {
 public:
  explicit CustomerServiceImpl(ServiceDeps deps);

  grpc::ServerUnaryReactor* ListCustomers(grpc::CallbackServerContext* context,
                                          const v1::ListCustomersRequest* request,
                                          v1::ListCustomersResponse* response) override;
  grpc::ServerUnaryReactor* GetCustomer(grpc::CallbackServerContext* context,
                                        const v1::GetCustomerRequest* request,
                                        v1::GetCustomerResponse* response) override;
  grpc::ServerUnaryReactor* ListCustomerUsers(grpc::CallbackServerContext* context,
                                              const v1::ListCustomerUsersRequest* request,
                                              v1::ListCustomerUsersResponse* response) override;
  grpc::ServerUnaryReactor* CreateCustomerUser(grpc::CallbackServerContext* context,
                                               const v1::CreateCustomerUserRequest* request,
                                               v1::CreateCustomerUserResponse* response) override;
};

}  // namespace partner::api

#endif  // PARTNER_SERVER_API_CUSTOMER_SERVICE_H_
