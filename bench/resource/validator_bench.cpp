// Uncached access-token validation (issue 4): Validator::validate() on one thread, each call the
// whole path a token not seen before takes (base64url, header and claims JSON, the signature, the
// RFC 9068 claim checks, the Principal), against a JWKS fetched once over HTTP from an in-process
// issuer before the timed loop. No ClaimsCache. bench/resource/run.sh compares the RS256 figure
// with `openssl speed` rsa2048 verify on the same core (the target: at least 0.85 of it).
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "http/access_log.h"
#include "http/message.h"
#include "http/router.h"
#include "http/server.h"
#include "jose/jose.h"
#include "tessera/validator.h"

namespace {

using tessera::jose::Alg;
using tessera::jose::Jwk;
using tessera::resource::Validation;
using tessera::resource::Validator;
using tessera::resource::ValidatorOptions;

constexpr const char* kIssuer = "https://as.tessera.example";
constexpr const char* kAudience = "https://api.tessera.example/invoices";
// Distinct tokens (sub, jti) cycled through, so nothing keyed on the token could help.
constexpr int kTokens = 16;

[[noreturn]] void die(const char* what, const char* why) {
  std::fprintf(stderr, "validator_bench: %s: %s\n", what, why);
  std::abort();
}

Jwk make_key(Alg alg) {
  auto key = Jwk::generate(alg);
  if (!key) die("key generation", tessera::jose::to_string(key.error()));
  return key->with_kid(std::string("bench-") + tessera::jose::to_string(alg)).with_alg(alg);
}

// The issuer's side: an RS256 (2048-bit), an ES256 and an Ed25519 key, their JWKS served at
// /jwks by an http::Server on 127.0.0.1, and access tokens signed with them.
class Issuer {
 public:
  static Issuer& instance() {
    static Issuer issuer;
    return issuer;
  }

  std::string jwks_uri() const { return "http://127.0.0.1:" + std::to_string(port_) + "/jwks"; }
  int jwks_requests() const { return jwks_requests_->load(); }

  // RFC 9068 §2.2 access tokens of about 300 bytes of claims, typ at+jwt and kid in the header.
  std::vector<std::string> tokens(Alg alg) const {
    const Jwk& key = alg == Alg::kRS256 ? rs256_ : alg == Alg::kES256 ? es256_ : ed25519_;
    const int64_t now = std::time(nullptr);
    tessera::jose::SignOptions options;
    options.typ = "at+jwt";
    std::vector<std::string> out;
    for (int i = 0; i < kTokens; ++i) {
      const std::string n = std::to_string(100'000'000'000 + i);
      std::string claims = R"({"iss":")";
      claims += kIssuer;
      claims += R"(","sub":"5f8a1c2e-7b3d-4e9a-9c1f-)";
      claims += n;
      claims += R"(","aud":[")";
      claims += kAudience;
      claims += R"("],"client_id":"spa-web","scope":"invoices:read invoices:write profile",)";
      claims += R"("jti":"b3c1e9d2-4f6a-4b8c-9d0e-)";
      claims += n;
      claims += R"(","iat":)";
      claims += std::to_string(now);
      claims += R"(,"exp":)";
      claims += std::to_string(now + 86'400);
      claims += '}';
      auto token = tessera::jose::sign(claims, key, alg, options);
      if (!token) die("sign", tessera::jose::to_string(token.error()));
      out.push_back(std::move(*token));
    }
    return out;
  }

 private:
  Issuer()
      : rs256_(make_key(Alg::kRS256)),
        es256_(make_key(Alg::kES256)),
        ed25519_(make_key(Alg::kEdDSA)),
        jwks_requests_(std::make_shared<std::atomic<int>>(0)) {
    tessera::jose::Jwks jwks;
    for (const Jwk* key : {&rs256_, &es256_, &ed25519_}) jwks.add(key->public_key());
    tessera::http::Router router;
    router.get("/jwks", [body = jwks.to_json(false),
                         requests = jwks_requests_](const tessera::http::Request&) {
      requests->fetch_add(1);
      return tessera::http::Response::json(200, body);
    });
    tessera::http::ServerOptions options;
    options.address = "127.0.0.1";
    options.port = 0;
    options.io_threads = 1;
    options.builtin_routes = false;
    options.access_log = std::make_shared<tessera::http::NullAccessLog>();
    server_ = std::make_unique<tessera::http::Server>(std::move(options), std::move(router));
    auto started = server_->start();
    if (!started) die("issuer", started.error().c_str());
    server_->set_ready(true);
    port_ = server_->port();
  }

  Jwk rs256_;
  Jwk es256_;
  Jwk ed25519_;
  std::shared_ptr<std::atomic<int>> jwks_requests_;
  std::unique_ptr<tessera::http::Server> server_;
  uint16_t port_ = 0;
};

void BM_UncachedValidation(benchmark::State& state, Alg alg) {
  Issuer& issuer = Issuer::instance();
  const std::vector<std::string> tokens = issuer.tokens(alg);
  ValidatorOptions options;
  options.issuer = kIssuer;
  options.audiences = {kAudience};
  options.jwks_uri = issuer.jwks_uri();
  const Validator validator(std::move(options));
  // The warm-up fetches the JWKS; from here on nothing leaves the process.
  const int requests_before = issuer.jwks_requests();
  if (const Validation v = validator.validate(tokens[0]); !v.ok()) {
    state.SkipWithError(to_string(v.error.failure));
    return;
  }
  size_t next = 0;
  for ([[maybe_unused]] auto _ : state) {
    Validation v = validator.validate(tokens[next]);
    if (!v.ok()) {
      state.SkipWithError(to_string(v.error.failure));
      break;
    }
    benchmark::DoNotOptimize(v);
    next = next + 1 == tokens.size() ? 0 : next + 1;
  }
  if (validator.stats().jwks_fetches != 1 || issuer.jwks_requests() != requests_before + 1) {
    state.SkipWithError("the JWKS was fetched more than once");
    return;
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(std::to_string(tokens[0].size()) + "-byte token");
}

BENCHMARK_CAPTURE(BM_UncachedValidation, RS256, Alg::kRS256);
BENCHMARK_CAPTURE(BM_UncachedValidation, ES256, Alg::kES256);
BENCHMARK_CAPTURE(BM_UncachedValidation, EdDSA, Alg::kEdDSA);

}  // namespace

BENCHMARK_MAIN();
