#include "server/api/parsing_service.h"

#include <grpcpp/support/proto_buffer_reader.h>
#include <grpcpp/support/slice.h>

#include <cstdio>
#include <cstdlib>

#include "server/api/parse_failure.h"

namespace partner::api {

absl::Status ParseRequest(grpc::ByteBuffer* buffer, google::protobuf::Message* message) {
  // As grpc::GenericDeserialize, except that the bytes are kept until a failure is explained.
  // The handler only detaches the buffer afterwards, so every path here must Clear it.
  if (!buffer->Valid()) return absl::InvalidArgumentError("the call carried no request message");
  {
    grpc::ProtoBufferReader reader(buffer);
    if (reader.status().ok() && message->ParseFromZeroCopyStream(&reader)) {
      buffer->Clear();
      return absl::OkStatus();
    }
  }
  grpc::Slice bytes;
  absl::string_view wire;
  if (buffer->DumpToSingleSlice(&bytes).ok()) {
    wire = absl::string_view(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
  }
  absl::Status failure = ParseFailure(*message->GetDescriptor(), wire);
  buffer->Clear();
  return failure;
}

int CheckedMethodIndex(absl::string_view service, absl::string_view method,
                       const google::protobuf::Descriptor& request, const google::protobuf::Descriptor& response,
                       bool server_streaming) {
  const google::protobuf::ServiceDescriptor* descriptor =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(std::string(service));
  const google::protobuf::MethodDescriptor* found =
      descriptor == nullptr ? nullptr : descriptor->FindMethodByName(std::string(method));
  if (found == nullptr || found->input_type() != &request || found->output_type() != &response ||
      found->client_streaming() || found->server_streaming() != server_streaming) {
    std::fprintf(stderr, "partner-gateway: %s.%s is not a %s method from %s to %s\n", std::string(service).c_str(),
                 std::string(method).c_str(), server_streaming ? "server-streaming" : "unary",
                 request.full_name().c_str(), response.full_name().c_str());
    std::abort();
  }
  // The generated Service adds its methods in declaration order, which is the descriptor's.
  return found->index();
}

}  // namespace partner::api
