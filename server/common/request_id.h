// Ids that name one request or one caller's call across the gateway's logs and the upstream
// services' logs. Both the api layer (an RPC's request and correlation ids) and the http layer
// (one id per upstream call) make them, so they live below every layer.
#ifndef PARTNER_SERVER_COMMON_REQUEST_ID_H_
#define PARTNER_SERVER_COMMON_REQUEST_ID_H_

#include <string>

namespace partner {

// A random (version 4) GUID, lower-case, as Microsoft's request-id headers expect. Any thread.
std::string NewRequestId();

}  // namespace partner

#endif  // PARTNER_SERVER_COMMON_REQUEST_ID_H_
