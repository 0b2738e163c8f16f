// Google Benchmark micro-benchmarks of the gateway's hot paths (issue 8, item 4): parsing a
// 500-customer Partner Center page, page-token sealing and checking, role-assignment name
// derivation, and the upstream policy pipeline's own cost over a transport that answers at once.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "server/api/page_token.h"
#include "server/http/pipeline.h"
#include "server/ops/naming.h"
#include "server/ops/op_task.h"
#include "server/upstream/partner_center_client.h"

namespace partner {
namespace {

// Answers every request at once, inline, with a fixed response.
class FixedTransport final : public http::HttpClient {
 public:
  explicit FixedTransport(std::string body) { response_.status = 200, response_.body = std::move(body); }
  void Send(std::shared_ptr<http::HttpRequest>, http::HttpDone done) override { done(response_); }

 private:
  http::HttpResponse response_;
};

class FixedTokens final : public http::TokenSource {
 public:
  void GetToken(std::string, std::string, absl::Time, http::TokenDone done) override { done(std::string("tok")); }
  void Invalidate(const std::string&, const std::string&, const std::string&) override {}
};

// A Partner Center customer collection as the service writes it (CONTRACTS.md §2.4, §3.1).
std::string CustomerPageBody(int customers) {
  std::string items;
  for (int i = 0; i < customers; ++i) {
    const std::string id = absl::StrCat("9a8be7fe-5556-4866-8670-", absl::Dec(100000000000 + i, absl::kZeroPad12));
    absl::StrAppend(&items, i == 0 ? "" : ",", R"({"id":")", id, R"(","commerceId":")", id,
                    R"(","companyProfile":{"tenantId":")", id, R"(","domain":"customer)", i,
                    R"(.onmicrosoft.com","companyName":"Customer )", i,
                    R"( Ltd","address":{"country":"GB","city":"Leeds"},"attributes":{"objectType":"CustomerCompanyProfile"}},)",
                    R"("allowDelegatedAccess":true,"relationshipToPartner":"reseller","links":{"self":{"uri":"/customers/)",
                    id, R"(","method":"GET","headers":[]}},"attributes":{"objectType":"Customer"}})");
  }
  return absl::StrCat("\xEF\xBB\xBF", R"({"totalCount":)", customers, R"(,"items":[)", items,
                      R"(],"links":{},"attributes":{"objectType":"Collection"}})");
}

void BM_ParseCustomerPage500(benchmark::State& state) {
  upstream::UpstreamOptions options;
  options.partner_tenant_id = "5c1b2a3d-0e9f-4a8b-9c7d-6e5f4a3b2c1d";
  upstream::PartnerCenterClient client(std::make_shared<FixedTransport>(CustomerPageBody(500)), options);
  ops::OpContext ctx;
  for (auto _ : state) {
    std::size_t parsed = 0;
    absl::Status status;
    ops::pc::CustomerQuery query;
    query.size = 500;
    ops::StartOpTask(client.ListCustomers(ctx, query), [&](absl::StatusOr<ops::pc::CustomerPage> page) {
      status = page.status();
      if (page.ok()) parsed = page->customers.size();
    });
    if (parsed != 500) {
      state.SkipWithError(absl::StrCat("parsed ", parsed, " customers: ", status.ToString()).c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * 500);
}
BENCHMARK(BM_ParseCustomerPage500);

void BM_PageTokenEncode(benchmark::State& state) {
  const api::PageTokenCodec codec(std::string(32, 'k'));
  for (auto _ : state) {
    benchmark::DoNotOptimize(codec.Encode("ListCustomers|name=|domain=", "offset:500|continuation:abcdefghijkl"));
  }
}
BENCHMARK(BM_PageTokenEncode);

void BM_PageTokenDecode(benchmark::State& state) {
  const api::PageTokenCodec codec(std::string(32, 'k'));
  const std::string token = codec.Encode("ListCustomers|name=|domain=", "offset:500|continuation:abcdefghijkl");
  for (auto _ : state) {
    absl::StatusOr<std::string> decoded = codec.Decode("ListCustomers|name=|domain=", token);
    if (!decoded.ok()) {
      state.SkipWithError("token refused");
      break;
    }
    benchmark::DoNotOptimize(decoded);
  }
}
BENCHMARK(BM_PageTokenDecode);

void BM_RoleAssignmentName(benchmark::State& state) {
  const std::string scope = ops::ScopeFor("C41E8A7F-0B5D-4E8B-9F61-2D7C3A9B1E05", "rg-web");
  for (auto _ : state) {
    benchmark::DoNotOptimize(ops::RoleAssignmentName(scope, "6A1F0C3E-92B4-4D7A-8E15-3C9F2B7D4A60",
                                                     "acdd72a7-3385-48ef-bd42-f606fba81ae7"));
  }
}
BENCHMARK(BM_RoleAssignmentName);

std::shared_ptr<http::HttpRequest> PipelineRequest() {
  auto request = std::make_shared<http::HttpRequest>();
  request->url = "https://api.partnercenter.microsoft.com/v1/customers/9a8be7fe-5556-4866-8670-08c7b209e3fe";
  request->token_tenant = "5c1b2a3d-0e9f-4a8b-9c7d-6e5f4a3b2c1d";
  request->token_scope = "https://api.partnercenter.microsoft.com/.default";
  request->operation = "pc.get_customer";
  request->correlation_id = "0b6a1e0c-7c7e-4f55-a0d4-5d2f8e1c9b3a";
  return request;
}

// The baseline of BM_Pipeline: the same request straight to the transport.
void BM_TransportAlone(benchmark::State& state) {
  FixedTransport transport("{}");
  for (auto _ : state) {
    int status = 0;
    transport.Send(PipelineRequest(), [&](absl::StatusOr<http::HttpResponse> r) { status = r.ok() ? r->status : -1; });
    benchmark::DoNotOptimize(status);
  }
}
BENCHMARK(BM_TransportAlone);

// Ids, retry, rate limit, bearer token and logging policies (logging into a sink that drops lines).
void BM_Pipeline(benchmark::State& state) {
  http::PipelineOptions options;
  options.log_sink = [](absl::string_view line) { benchmark::DoNotOptimize(line.size()); };
  std::unique_ptr<http::HttpClient> pipeline = http::MakeUpstreamPipeline(
      std::move(options), std::make_shared<FixedTransport>("{}"), std::make_shared<FixedTokens>());
  for (auto _ : state) {
    int status = 0;
    pipeline->Send(PipelineRequest(), [&](absl::StatusOr<http::HttpResponse> r) { status = r.ok() ? r->status : -1; });
    if (status != 200) {
      state.SkipWithError("pipeline did not answer 200 inline");
      break;
    }
  }
}
BENCHMARK(BM_Pipeline);

}  // namespace
}  // namespace partner

BENCHMARK_MAIN();
