// A blocking libcurl client for tests that speak to the emulator over a real socket, and helpers
// to get tokens from it.
#ifndef PARTNER_TESTS_INTEGRATION_EMULATOR_EMULATOR_CLIENT_H_
#define PARTNER_TESTS_INTEGRATION_EMULATOR_EMULATOR_CLIENT_H_

#include <curl/curl.h>

#include <map>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "emulator/emulator.h"
#include "nlohmann/json.hpp"

namespace partner::testing {

// The emulator's seeded partner tenant and app, the resources tokens are asked for, and ids the
// tests share.
inline constexpr char kPartnerTenant[] = "5c1b2a3d-0e9f-4a8b-9c7d-6e5f4a3b2c1d";
inline constexpr char kAppId[] = "0d7e2f4a-91c3-4b6e-8a55-3f1e9c2b7d60";
inline constexpr char kPartnerCenter[] = "https://api.partnercenter.microsoft.com";
inline constexpr char kArm[] = "https://management.azure.com";
inline constexpr char kGraph[] = "https://graph.microsoft.com";
inline constexpr char kReader[] = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
inline constexpr char kUnknown[] = "0badc0de-0000-4000-8000-000000000404";

struct Reply {
  int status = 0;  // 0: transport failure
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;

  // The body as JSON, after a UTF-8 BOM if any.
  nlohmann::json Json() const {
    absl::string_view text = body;
    absl::ConsumePrefix(&text, "\xEF\xBB\xBF");
    return nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
  }
};

inline Reply Fetch(const std::string& method, const std::string& url, const std::vector<std::string>& headers = {},
                   const std::string& body = "", const std::string& ca_pem = "") {
  Reply reply;
  CURL* curl = curl_easy_init();
  curl_slist* list = nullptr;
  for (const std::string& header : headers) list = curl_slist_append(list, header.c_str());
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 10000L);
  if (!body.empty() || method == "POST" || method == "PUT") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  if (!ca_pem.empty()) {
    curl_blob blob{const_cast<char*>(ca_pem.data()), ca_pem.size(), CURL_BLOB_COPY};
    curl_easy_setopt(curl, CURLOPT_CAINFO_BLOB, &blob);
  }
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply.body);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, +[](char* data, size_t size, size_t count, void* out) {
    static_cast<std::string*>(out)->append(data, size * count);
    return size * count;
  });
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &reply.headers);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, +[](char* data, size_t size, size_t count, void* out) {
    const std::string line(data, size * count);
    const std::size_t colon = line.find(':');
    if (colon != std::string::npos) {
      (*static_cast<std::map<std::string, std::string>*>(out))[absl::AsciiStrToLower(line.substr(0, colon))] =
          std::string(absl::StripAsciiWhitespace(line.substr(colon + 1)));
    }
    return size * count;
  });
  if (curl_easy_perform(curl) == CURLE_OK) {
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    reply.status = static_cast<int>(status);
  }
  curl_slist_free_all(list);
  curl_easy_cleanup(curl);
  return reply;
}

inline std::string FormEncode(const std::string& value) {
  char* escaped = curl_easy_escape(nullptr, value.c_str(), static_cast<int>(value.size()));
  std::string out(escaped);
  curl_free(escaped);
  return out;
}

// A client-secret token request; the whole reply.
inline Reply RequestToken(const emulator::Emulator& emu, const std::string& tenant, const std::string& scope,
                          const std::string& secret = "sandbox-client-secret",
                          const std::string& client_id = kAppId) {
  return Fetch("POST", absl::StrCat(emu.base_url(), "/", tenant, "/oauth2/v2.0/token"),
               {"Content-Type: application/x-www-form-urlencoded"},
               absl::StrCat("grant_type=client_credentials&client_id=", client_id, "&client_secret=", FormEncode(secret),
                            "&scope=", FormEncode(scope)));
}

inline std::string Token(const emulator::Emulator& emu, const std::string& tenant, const std::string& resource) {
  nlohmann::json json = RequestToken(emu, tenant, absl::StrCat(resource, "/.default")).Json();
  return json.is_object() && json["access_token"].is_string() ? json["access_token"].get<std::string>() : "";
}

inline std::string Bearer(const std::string& token) { return absl::StrCat("Authorization: Bearer ", token); }

}  // namespace partner::testing

#endif  // PARTNER_TESTS_INTEGRATION_EMULATOR_EMULATOR_CLIENT_H_
