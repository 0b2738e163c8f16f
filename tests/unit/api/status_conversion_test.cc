#include "server/api/status_conversion.h"

#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "server/ops/error_reason.h"

namespace partner::api {
namespace {

struct Details {
  google::rpc::Status status;
  google::rpc::ErrorInfo info;
  std::optional<google::rpc::RetryInfo> retry;
};

Details Decode(const grpc::Status& status) {
  Details d;
  EXPECT_TRUE(d.status.ParseFromString(status.error_details()));
  for (const auto& any : d.status.details()) {
    google::rpc::RetryInfo retry;
    if (any.UnpackTo(&d.info)) continue;
    if (any.UnpackTo(&retry)) d.retry = retry;
  }
  return d;
}

TEST(StatusConversionTest, OkHasNoDetails) {
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus(), "c").ok());
}

TEST(StatusConversionTest, CodesMapOneToOneWithErrorInfo) {
  const std::pair<absl::Status, std::string> cases[] = {
      {absl::NotFoundError("customer x not found"), "ERROR_REASON_NOT_FOUND"},
      {absl::PermissionDeniedError("AuthorizationFailed"), "ERROR_REASON_UPSTREAM_PERMISSION_DENIED"},
      {absl::UnavailableError("down"), "ERROR_REASON_UPSTREAM_UNAVAILABLE"},
      {absl::DeadlineExceededError("late"), "ERROR_REASON_DEADLINE_EXCEEDED"},
      {ops::WithReason(absl::InternalError("401 after refresh"), v1::ERROR_REASON_GATEWAY_CREDENTIAL),
       "ERROR_REASON_GATEWAY_CREDENTIAL"},
      {ops::WithReason(absl::FailedPreconditionError("not owned"),
                       v1::ERROR_REASON_SUBSCRIPTION_NOT_OWNED_BY_CUSTOMER),
       "ERROR_REASON_SUBSCRIPTION_NOT_OWNED_BY_CUSTOMER"},
  };
  for (const auto& [status, reason] : cases) {
    grpc::Status converted = ToGrpcStatus(status, "corr-1");
    EXPECT_EQ(static_cast<int>(converted.error_code()), static_cast<int>(status.code()));
    EXPECT_EQ(converted.error_message(), status.message());
    Details d = Decode(converted);
    EXPECT_EQ(d.status.code(), static_cast<int>(status.code()));
    EXPECT_EQ(d.info.domain(), "partner-gateway.v1");
    EXPECT_EQ(d.info.reason(), reason);
    EXPECT_EQ(d.info.metadata().at("correlationId"), "corr-1");
  }
}

TEST(StatusConversionTest, ThrottlingCarriesRetryInfoAndUpstreamDetails) {
  absl::Status throttled = absl::ResourceExhaustedError("429 from ARM");
  throttled = ops::WithRetryDelay(throttled, absl::Milliseconds(2500));
  throttled = ops::WithUpstreamDetails(throttled, {{"upstreamCode", "TooManyRequests"},
                                                   {"upstreamRequestId", "req-7"}});
  Details d = Decode(ToGrpcStatus(throttled, "c"));
  EXPECT_EQ(d.info.reason(), "ERROR_REASON_UPSTREAM_THROTTLED");
  EXPECT_EQ(d.info.metadata().at("upstreamCode"), "TooManyRequests");
  EXPECT_EQ(d.info.metadata().at("upstreamRequestId"), "req-7");
  ASSERT_TRUE(d.retry.has_value());
  EXPECT_EQ(d.retry->retry_delay().seconds(), 2);
  EXPECT_EQ(d.retry->retry_delay().nanos(), 500000000);
  EXPECT_FALSE(Decode(ToGrpcStatus(absl::NotFoundError("x"), "c")).retry.has_value());
}

TEST(StatusConversionTest, InvalidFieldNamesTheField) {
  Details d = Decode(ToGrpcStatus(ops::InvalidField("principal.object_id", "must be a GUID"), "c"));
  EXPECT_EQ(d.info.reason(), "ERROR_REASON_INVALID_FIELD");
  EXPECT_EQ(d.info.metadata().at("field"), "principal.object_id");
}

}  // namespace
}  // namespace partner::api
