// JSON text of the emulator's response bodies. nlohmann's dump() writes through a virtual
// per-character output adapter and decodes every string byte by byte; under the benchmarks' mixes
// that was a fifth of the emulator's instructions, on cores it shares with the gateway it serves.
#ifndef PARTNER_EMULATOR_JSON_TEXT_H_
#define PARTNER_EMULATOR_JSON_TEXT_H_

#include <string>

#include "nlohmann/json.hpp"

namespace partner::emulator {

// The same text as `value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)`: compact,
// UTF-8 left as it is, each ill-formed UTF-8 sequence written as U+FFFD (as dump() would, rather
// than throwing, which in a libevent callback would end the process).
std::string JsonText(const nlohmann::json& value);

}  // namespace partner::emulator

#endif  // PARTNER_EMULATOR_JSON_TEXT_H_
