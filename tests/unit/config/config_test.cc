#include <algorithm>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/config/load_config.h"
#include "server/config/usable_cpus.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace partner::config {
namespace {

using ::partner::testing::IsOk;
using ::partner::testing::StatusIs;
using ::partner::testing::TempDir;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kTenant[] = "0f3e6a51-7c1b-4c53-9b6d-2a4f7e1d9c10";
constexpr char kApp[] = "5b2d8c71-1e4a-4f0b-8d3c-6a9e0b7f1c22";

// A config that passes validation when the files exist: production shape, secret in a file.
v1::GatewayConfig ValidConfig(const TempDir& files) {
  v1::GatewayConfig config;
  config.add_listen_addresses("127.0.0.1:0");
  config.set_partner_tenant_id(kTenant);
  config.set_app_id(kApp);
  config.mutable_credential()->set_client_secret_file(files.Write("secret", "s3cret\n"));
  config.set_page_token_key_file(files.Write("key", std::string(32, 'k')));
  config.set_audit_log_path("/tmp/audit.jsonl");
  ApplyDefaults(config);
  return config;
}

TEST(ConfigTest, ExamplePublicCloudConfigParsesAndValidatesOnceItsFilesExist) {
  absl::StatusOr<v1::GatewayConfig> config =
      LoadConfigFile(std::string(PARTNER_SOURCE_DIR) + "/deploy/config/public-cloud.textproto");
  ASSERT_THAT(config.status(), IsOk());
  ApplyDefaults(*config);
  EXPECT_EQ(config->upstreams().arm_url(), "https://management.azure.com");
  EXPECT_EQ(config->upstreams().graph_scope(), "https://graph.microsoft.com/.default");
  EXPECT_EQ(config->callers().callers_size(), 2);

  // As shipped, the example names files of a real deployment: validation lists them.
  EXPECT_THAT(ValidateConfig(*config, {}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("tls.cert_file"), HasSubstr("page_token_key_file"))));

  TempDir files;
  config->mutable_tls()->set_cert_file(files.Write("tls.crt", "pem"));
  config->mutable_tls()->set_key_file(files.Write("tls.key", "pem"));
  config->mutable_tls()->set_client_ca_file(files.Write("ca.crt", "pem"));
  config->mutable_credential()->mutable_certificate()->set_certificate_file(files.Write("a.crt", "pem"));
  config->mutable_credential()->mutable_certificate()->set_private_key_file(files.Write("a.key", "pem"));
  config->set_page_token_key_file(files.Write("page.key", std::string(32, 'x')));
  config->set_partner_tenant_id(kTenant);
  config->set_app_id(kApp);
  EXPECT_THAT(ValidateConfig(*config, {}), IsOk());
}

TEST(ConfigTest, SovereignExamplesParseAndSelectTheirCloud) {
  for (const auto& [file, arm] : std::vector<std::pair<std::string, std::string>>{
           {"us-government", "https://management.usgovcloudapi.net"},
           {"china", "https://management.chinacloudapi.cn"}}) {
    absl::StatusOr<v1::GatewayConfig> config =
        LoadConfigFile(std::string(PARTNER_SOURCE_DIR) + "/deploy/config/" + file + ".textproto");
    ASSERT_THAT(config.status(), IsOk()) << file;
    ApplyDefaults(*config);
    EXPECT_EQ(config->upstreams().arm_url(), arm);
  }
}

TEST(ConfigTest, InlineSecretIsRefusedNamingTheField) {
  absl::StatusOr<v1::GatewayConfig> config = ParseConfigText(
      R"pb(credential { client_secret: "hunter2" })pb");
  ASSERT_THAT(config.status(), IsOk());
  TempDir files;
  v1::GatewayConfig valid = ValidConfig(files);
  valid.mutable_credential()->set_client_secret("hunter2");
  absl::Status status = ValidateConfig(valid, {});
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument,
                               AllOf(HasSubstr("credential.client_secret:"),
                                     HasSubstr("inline secrets are refused"))));
  EXPECT_THAT(std::string(status.message()), Not(HasSubstr("hunter2")));
}

TEST(ConfigTest, PlainHttpUpstreamIsRefusedOutsideTheSandbox) {
  TempDir files;
  v1::GatewayConfig config = ValidConfig(files);
  config.mutable_upstreams()->set_arm_url("http://127.0.0.1:8080");
  EXPECT_THAT(ValidateConfig(config, {}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("upstreams.arm_url"), HasSubstr("plain http"))));
  config.set_allow_plain_http(true);
  EXPECT_THAT(ValidateConfig(config, {}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("allow_plain_http: only allowed in the sandbox")));
  EXPECT_THAT(ValidateConfig(config, {.sandbox = true}), IsOk());
}

TEST(ConfigTest, UpstreamThreadsDefaultToOnePerUsableCpuUpToFourAndMustBePositive) {
  TempDir files;
  v1::GatewayConfig config = ValidConfig(files);
  const int cpus = static_cast<int>(UsableCpus());
  EXPECT_EQ(config.limits().upstream_threads(), std::clamp(cpus, 1, 4));
  config.mutable_limits()->set_upstream_threads(-1);
  EXPECT_THAT(ValidateConfig(config, {}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("limits.upstream_threads")));
}

TEST(ConfigTest, MissingCertificateFileIsRefusedNamingFieldAndPath) {
  TempDir files;
  v1::GatewayConfig config = ValidConfig(files);
  config.mutable_credential()->mutable_certificate()->set_certificate_file("/nonexistent/app.crt");
  config.mutable_credential()->mutable_certificate()->set_private_key_file(files.Write("k", "pem"));
  EXPECT_THAT(ValidateConfig(config, {}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("credential.certificate.certificate_file"),
                             HasSubstr("/nonexistent/app.crt"))));
}

TEST(ConfigTest, ValidConfigPasses) {
  TempDir files;
  EXPECT_THAT(ValidateConfig(ValidConfig(files), {}), IsOk());
}

TEST(ConfigTest, SyntaxErrorNamesTheLine) {
  EXPECT_THAT(ParseConfigText("listen_addresses: \"a\"\nno_such_field: 1\n").status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("line 2"), HasSubstr("no_such_field"))));
}

TEST(ConfigTest, CloudPresetsFillUrlsAndScopes) {
  v1::GatewayConfig gov;
  gov.mutable_upstreams()->set_cloud(v1::CLOUD_US_GOVERNMENT);
  ApplyDefaults(gov);
  EXPECT_EQ(gov.upstreams().authority_url(), "https://login.microsoftonline.us");
  EXPECT_EQ(gov.upstreams().arm_scope(), "https://management.usgovcloudapi.net/.default");
  v1::GatewayConfig china;
  china.mutable_upstreams()->set_cloud(v1::CLOUD_CHINA);
  china.mutable_upstreams()->set_arm_url("https://arm.example.cn");
  ApplyDefaults(china);
  EXPECT_EQ(china.upstreams().graph_url(), "https://microsoftgraph.chinacloudapi.cn");
  EXPECT_EQ(china.upstreams().arm_url(), "https://arm.example.cn");
}

TEST(ConfigTest, NonLoopbackPlaintextAndUnauthenticatedCallersAreRefused) {
  TempDir files;
  v1::GatewayConfig config = ValidConfig(files);
  config.set_listen_addresses(0, "0.0.0.0:50051");
  config.mutable_callers()->set_allow_unauthenticated(true);
  EXPECT_THAT(ValidateConfig(config, {}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("tls: required"), HasSubstr("callers.allow_unauthenticated"))));
}

// Whoever reaches the listener can write x-forwarded-client-cert: trusting it is only safe when
// nothing but the pod's own sidecar can connect (plaintext on loopback).
TEST(ConfigTest, ForwardedClientCertIsTrustedOnlyBehindALocalSidecar) {
  TempDir files;
  v1::GatewayConfig config = ValidConfig(files);
  config.mutable_callers()->set_trust_forwarded_client_cert(true);
  EXPECT_THAT(ValidateConfig(config, {}), IsOk());

  config.mutable_tls()->set_cert_file(files.Write("tls.crt", "pem"));
  config.mutable_tls()->set_key_file(files.Write("tls.key", "pem"));
  EXPECT_THAT(ValidateConfig(config, {}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("callers.trust_forwarded_client_cert")));
  config.set_listen_addresses(0, "0.0.0.0:50051");
  EXPECT_THAT(ValidateConfig(config, {}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("callers.trust_forwarded_client_cert")));
}

TEST(ConfigTest, BadIdsAndPermissionsAreNamed) {
  TempDir files;
  v1::GatewayConfig config = ValidConfig(files);
  config.set_app_id("not-a-guid");
  v1::Caller* caller = config.mutable_callers()->add_callers();
  caller->set_name("x");
  caller->add_permissions("access.delete");
  caller->add_bearer_token_sha256("plain-token");
  EXPECT_THAT(ValidateConfig(config, {}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("app_id: must be a GUID"),
                             HasSubstr("callers.callers[0].permissions[0]"),
                             HasSubstr("callers.callers[0].bearer_token_sha256[0]"))));
}

TEST(ConfigTest, SplitHostPortAndLoopback) {
  EXPECT_TRUE(IsLoopbackAddress("127.0.0.1:0"));
  EXPECT_TRUE(IsLoopbackAddress("[::1]:50051"));
  EXPECT_FALSE(IsLoopbackAddress("0.0.0.0:50051"));
  EXPECT_FALSE(SplitHostPort("no-port").has_value());
  EXPECT_FALSE(SplitHostPort("h:99999").has_value());
  EXPECT_EQ(SplitHostPort("[::1]:7")->port, 7);
}

TEST(ConfigTest, OverridesReplaceListenAndAdmin) {
  v1::GatewayConfig config;
  config.add_listen_addresses("0.0.0.0:1");
  config.add_listen_addresses("0.0.0.0:2");
  ApplyOverrides({.listen = "127.0.0.1:0", .admin_address = "127.0.0.1:0"}, config);
  ASSERT_EQ(config.listen_addresses_size(), 1);
  EXPECT_EQ(config.listen_addresses(0), "127.0.0.1:0");
  EXPECT_EQ(config.admin_address(), "127.0.0.1:0");
}

TEST(ConfigTest, HealthListenAddressIsOptionalAndAcceptedOnItsOwnPort) {
  TempDir files;
  v1::GatewayConfig config = ValidConfig(files);
  EXPECT_THAT(ValidateConfig(config, {}), IsOk());
  // Plaintext on every interface is what kubelet needs, even while the API requires TLS.
  config.set_health_listen_address("0.0.0.0:50052");
  EXPECT_THAT(ValidateConfig(config, {}), IsOk());
  config.set_health_listen_address("127.0.0.1:0");
  EXPECT_THAT(ValidateConfig(config, {}), IsOk());
}

TEST(ConfigTest, MalformedHealthListenAddressIsRefusedNamingTheField) {
  TempDir files;
  v1::GatewayConfig config = ValidConfig(files);
  for (const char* bad : {"50052", "host:", ":50052", "h:99999", "[::1]50052"}) {
    config.set_health_listen_address(bad);
    EXPECT_THAT(ValidateConfig(config, {}),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         AllOf(HasSubstr("health_listen_address"), HasSubstr("is not HOST:PORT"))))
        << bad;
  }
}

TEST(ConfigTest, HealthListenAddressSharingAnotherListenersPortIsRefused) {
  TempDir files;
  v1::GatewayConfig config = ValidConfig(files);
  config.clear_listen_addresses();
  config.add_listen_addresses("127.0.0.1:50051");
  config.set_admin_address("0.0.0.0:9464");
  for (const char* taken : {"127.0.0.1:50051", "0.0.0.0:50051", "127.0.0.1:9464", "0.0.0.0:9464"}) {
    config.set_health_listen_address(taken);
    EXPECT_THAT(ValidateConfig(config, {}),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         AllOf(HasSubstr("health_listen_address"), HasSubstr("its own port"))))
        << taken;
  }
  // Same port on a different specific host is a different socket.
  config.set_health_listen_address("127.0.0.2:50051");
  EXPECT_THAT(ValidateConfig(config, {}), IsOk());
}

TEST(ConfigTest, HealthListenOverrideReplacesTheConfiguredAddress) {
  v1::GatewayConfig config;
  config.set_health_listen_address("0.0.0.0:50052");
  ApplyOverrides({.health_listen_address = "127.0.0.1:0"}, config);
  EXPECT_EQ(config.health_listen_address(), "127.0.0.1:0");
  ApplyOverrides({}, config);
  EXPECT_EQ(config.health_listen_address(), "127.0.0.1:0");
}

}  // namespace
}  // namespace partner::config
