// grpc.reflection.v1alpha on the gRPC callback API, so that tools (grpcurl, Postman, the Python
// and Node reflection clients) can call the gateway without its .proto files. It replaces
// libgrpc++_reflection's service, which is synchronous and so costs the process a thread of its
// own; answers are the same: the descriptors of every file compiled into the binary.
#ifndef PARTNER_SERVER_API_REFLECTION_SERVICE_H_
#define PARTNER_SERVER_API_REFLECTION_SERVICE_H_

#include <string>
#include <vector>

#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"

namespace partner::api {

class ServerReflectionService final : public grpc::reflection::v1alpha::ServerReflection::CallbackService {
 public:
  // `other_services`: the full names of the other services on the same server (include
  // grpc.health.v1.Health when the default health service is on); list_services answers them, in
  // this order, then this service's own name.
  explicit ServerReflectionService(std::vector<std::string> other_services);

  // Answers each request in order with one response, on the same stream, until the client
  // half-closes; a name it does not know gets an error_response (NOT_FOUND) and the stream goes on.
  grpc::ServerBidiReactor<grpc::reflection::v1alpha::ServerReflectionRequest,
                          grpc::reflection::v1alpha::ServerReflectionResponse>*
  ServerReflectionInfo(grpc::CallbackServerContext* context) override;

 private:
  std::vector<std::string> listed_services_;
};

}  // namespace partner::api

#endif  // PARTNER_SERVER_API_REFLECTION_SERVICE_H_
