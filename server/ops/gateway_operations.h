// The production Operations over the upstream ports.
#ifndef PARTNER_SERVER_OPS_GATEWAY_OPERATIONS_H_
#define PARTNER_SERVER_OPS_GATEWAY_OPERATIONS_H_

#include <memory>

#include "absl/time/time.h"
#include "server/ops/operations.h"
#include "server/ops/upstream_ports.h"

namespace partner::ops {

struct OperationsOptions {
  absl::Duration entitlements_ttl = absl::Minutes(5);
  absl::Duration role_definitions_ttl = absl::Hours(1);
  // First wait after ARM answers PrincipalNotFound; doubles up to 8x, bounded by the deadline.
  absl::Duration principal_not_found_backoff = absl::Seconds(1);
  int batch_concurrency = 16;
  int batch_per_customer_concurrency = 4;
};

// The ports and the clock must outlive the operations.
std::unique_ptr<Operations> MakeGatewayOperations(pc::PartnerCenterPort& partner_center, arm::ArmPort& arm,
                                                  graph::GraphPort& graph, OpClock& clock,
                                                  OperationsOptions options);

}  // namespace partner::ops

#endif  // PARTNER_SERVER_OPS_GATEWAY_OPERATIONS_H_
