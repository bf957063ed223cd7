// RFC 9421 hmac-sha256 (tessera/message_signature.h): what signing and verifying one request
// costs, for a request like the gateway's upstream requests (nine fields, a 700-byte token in
// Authorization, eleven components covered). No target; docs/performance.md keeps the figure.
#include <benchmark/benchmark.h>

#include <string>
#include <utility>
#include <vector>

#include "tessera/message_signature.h"

namespace {

using tessera::resource::HmacKey;
using tessera::resource::SignedMessage;

struct Request {
  std::vector<std::pair<std::string, std::string>> fields = {
      {"User-Agent", "wrk"},
      {"Accept", "*/*"},
      {"Authorization", "Bearer " + std::string(700, 'a')},
      {"X-User", "alice"},
      {"X-Forwarded-For", "127.0.0.1"},
      {"X-Forwarded-Proto", "http"},
      {"X-Forwarded-Host", "127.0.0.1:8081"},
      {"X-Forwarded-Uri", "/invoices/1"},
      {"X-Request-Id", "0123456789abcdef0123456789abcdef"}};
  SignedMessage message() const {
    SignedMessage m;
    m.method = "GET";
    m.scheme = "http";
    m.authority = "127.0.0.1:9000";
    m.target = "/invoices/1";
    for (const auto& [name, value] : fields) m.fields.emplace_back(name, value);
    return m;
  }
};

const std::vector<std::string> kCovered = {"@method",
                                           "@authority",
                                           "@path",
                                           "@query",
                                           "authorization",
                                           "x-forwarded-for",
                                           "x-forwarded-proto",
                                           "x-forwarded-host",
                                           "x-forwarded-uri",
                                           "x-request-id",
                                           "x-user"};
const HmacKey kKey{"bench", std::string(64, 'k')};
constexpr int64_t kNow = 1'700'000'000;

void BM_Sign(benchmark::State& state) {
  const Request r;
  for (auto _ : state) {
    auto fields = tessera::resource::sign_hmac_sha256(r.message(), kCovered, kKey, kNow, "tessera",
                                                      "tessera-gateway");
    benchmark::DoNotOptimize(fields);
  }
}
BENCHMARK(BM_Sign);

void BM_Verify(benchmark::State& state) {
  Request r;
  auto fields = *tessera::resource::sign_hmac_sha256(r.message(), kCovered, kKey, kNow, "tessera",
                                                     "tessera-gateway");
  tessera::resource::SignaturePolicy policy;
  policy.label = "tessera";
  policy.tag = "tessera-gateway";
  policy.keys = {kKey};
  policy.required = {"@method", "@authority", "@path", "@query", "x-forwarded-uri"};
  for (auto _ : state) {
    auto check = tessera::resource::verify_hmac_sha256(r.message(), fields.signature_input,
                                                       fields.signature, policy, kNow);
    if (!check.valid) state.SkipWithError("the signature does not verify");
    benchmark::DoNotOptimize(check);
  }
}
BENCHMARK(BM_Verify);

}  // namespace

BENCHMARK_MAIN();
