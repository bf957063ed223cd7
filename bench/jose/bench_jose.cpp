// JWS sign and verify throughput, single thread, on a realistic access token
// (~300 bytes of RFC 9068 claims). bench/jose/run.sh compares these figures
// with `openssl speed` for the same primitives: the gap is the JOSE framing
// (base64url, JSON header parsing, checks) that Tessera adds.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "jose/jose.h"

namespace {

using tessera::jose::Alg;
using tessera::jose::Jwk;

// RFC 9068 access token claims, about 300 bytes.
const std::string& claims() {
  static const std::string c =
      R"({"iss":"https://as.tessera.example","sub":"5f8a1c2e-7b3d-4e9a-9c1f-2d6b8e4a7c30",)"
      R"("aud":["https://api.tessera.example/invoices"],"exp":4102444800,"iat":1700000000,)"
      R"("nbf":1700000000,"jti":"b3c1e9d2-4f6a-4b8c-9d0e-1f2a3b4c5d6e","client_id":"spa-web",)"
      R"("scope":"invoices:read invoices:write profile","tenant":"acme","auth_time":1699999000,)"
      R"("acr":"urn:mace:incommon:iap:silver","amr":["pwd","otp"]})";
  return c;
}

struct Fixture {
  Jwk key;
  Jwk public_key;
  std::string token;
};

Fixture make_fixture(Alg alg) {
  auto key = Jwk::generate(alg);
  if (!key) {
    std::fprintf(stderr, "keygen %s: %s\n", tessera::jose::to_string(alg),
                 tessera::jose::to_string(key.error()));
    std::abort();
  }
  Jwk k = key->with_alg(alg).with_kid("bench");
  tessera::jose::SignOptions opts;
  opts.typ = "at+jwt";
  auto token = tessera::jose::sign(claims(), k, alg, opts);
  if (!token) std::abort();
  return Fixture{k, k.public_key(), *token};
}

void BM_Verify(benchmark::State& state, Alg alg) {
  const Fixture f = make_fixture(alg);
  for (auto _ : state) {
    auto r = tessera::jose::verify(f.token, f.public_key);
    if (!r) {
      state.SkipWithError(tessera::jose::to_string(r.error()));
      break;
    }
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_Sign(benchmark::State& state, Alg alg) {
  const Fixture f = make_fixture(alg);
  tessera::jose::SignOptions opts;
  opts.typ = "at+jwt";
  for (auto _ : state) {
    auto r = tessera::jose::sign(claims(), f.key, alg, opts);
    if (!r) {
      state.SkipWithError(tessera::jose::to_string(r.error()));
      break;
    }
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK_CAPTURE(BM_Verify, RS256, Alg::kRS256);
BENCHMARK_CAPTURE(BM_Verify, ES256, Alg::kES256);
BENCHMARK_CAPTURE(BM_Verify, EdDSA, Alg::kEdDSA);
BENCHMARK_CAPTURE(BM_Sign, RS256, Alg::kRS256);
BENCHMARK_CAPTURE(BM_Sign, ES256, Alg::kES256);
BENCHMARK_CAPTURE(BM_Sign, EdDSA, Alg::kEdDSA);

}  // namespace

BENCHMARK_MAIN();
