// ClaimsCache figures (issue 4): find() hits per second on one thread against a cache holding N
// principals of realistic RFC 9068 access tokens (~600-byte tokens, the usual claims):
// - BM_CachedValidation: Authenticator::authenticate() answered by the cache (what an API pays
//   per request for a token it has seen), token after token from a working set that fits the hot
//   tier (the target: 5 million per second per core);
// - BM_FindHit/N: find() over N tokens visited in a scattered order, through both tiers;
// - BM_FindMainTierHit/N: the same with the hot tier off (SHA-256, lookup, decoding);
// - the bare SHA-256 of such a token alongside, which a main-tier hit cannot avoid;
// and, with --memory, the resident memory of one million cached principals next to what stats()
// counts for them.
//
//   claims_cache_bench [Google Benchmark options]
//   claims_cache_bench --memory [--entries N]
#include <benchmark/benchmark.h>
#include <openssl/evp.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "tessera/claims_cache.h"
#include "tessera/validator.h"

namespace {

using tessera::resource::ClaimsCache;
using tessera::resource::ClaimsCacheOptions;
using tessera::resource::Principal;

constexpr int64_t kNow = 1'700'000'000;
constexpr int64_t kExp = kNow + 3600;
constexpr size_t kTokenBytes = 600;

// A compact-JWS-shaped token of about 600 bytes: a fixed ES256 header, then base64url noise
// from a seeded generator, unique per index (the index is written into the payload).
void make_token(uint64_t index, std::string& out) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  static constexpr char kHeader[] = "eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCIsImtpZCI6ImsxIn0.";
  out.assign(kHeader);
  std::mt19937_64 rng(index);
  while (out.size() < kTokenBytes) {
    const uint64_t r = rng();
    for (int i = 0; i < 10 && out.size() < kTokenBytes; ++i) out += kAlphabet[(r >> (6 * i)) & 63];
  }
  out[kTokenBytes / 2] = '.';
  for (int i = 0; i < 16; ++i) out[100 + i] = kAlphabet[(index >> (4 * i)) & 15];
}

// The Principal a validator builds from an RFC 9068 §2.2 access token, with the token's claims
// parsed from JSON as they would be from the payload.
std::shared_ptr<Principal> make_principal(uint64_t index) {
  const std::string sub = "5f8a1c2e-7b3d-4e9a-9c1f-" + std::to_string(100'000'000'000 + index);
  const std::string jti = "b3c1e9d2-4f6a-4b8c-9d0e-" + std::to_string(200'000'000'000 + index);
  auto p = std::make_shared<Principal>();
  p->claims = nlohmann::json::parse(
      R"({"iss":"https://as.tessera.example","sub":")" + sub +
      R"(","aud":["https://api.tessera.example/invoices"],"client_id":"spa-web",)"
      R"("scope":"invoices:read invoices:write profile","jti":")" +
      jti + R"(","iat":1700000000,"exp":)" + std::to_string(kExp) +
      R"(,"auth_time":1699999000,"acr":"urn:mace:incommon:iap:silver","amr":["pwd","otp"]})");
  p->issuer = p->claims.mutable_json()["iss"].get<std::string>();
  p->subject = sub;
  p->client_id = "spa-web";
  p->scopes = {"invoices:read", "invoices:write", "profile"};
  p->audiences = {"https://api.tessera.example/invoices"};
  p->token_id = jti;
  p->issued_at = 1'700'000'000;
  p->expires_at = kExp;
  p->auth_time = 1'699'999'000;
  p->acr = "urn:mace:incommon:iap:silver";
  p->amr = {"pwd", "otp"};
  return p;
}

// The bare SHA-256 of the same N tokens in the same scattered order: what a hit cannot avoid
// (with N = 100,000 the tokens alone are 60 MB, so this includes fetching them from memory).
void BM_Sha256Of600ByteToken(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(0));
  if (n == 0) {
    state.SkipWithError("needs at least one token");
    return;
  }
  std::vector<std::string> tokens(n);
  for (size_t i = 0; i < n; ++i) make_token(i, tokens[i]);
  std::unique_ptr<EVP_MD, decltype(&EVP_MD_free)> md(EVP_MD_fetch(nullptr, "SHA256", nullptr),
                                                     &EVP_MD_free);
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  unsigned char out[32];
  unsigned int len = 0;
  size_t i = 0;
  for ([[maybe_unused]] auto _ : state) {
    EVP_DigestInit_ex2(ctx.get(), md.get(), nullptr);
    EVP_DigestUpdate(ctx.get(), tokens[i].data(), tokens[i].size());
    EVP_DigestFinal_ex(ctx.get(), out, &len);
    benchmark::DoNotOptimize(out);
    i = (i + 7919) % n;
  }
  state.SetItemsProcessed(state.iterations());
}

// find() hits on a cache of N principals, tokens visited in a scattered order; hot_bytes 0
// measures the main tier alone.
void find_hits(benchmark::State& state, size_t hot_bytes) {
  const auto n = static_cast<size_t>(state.range(0));
  if (n == 0) {
    state.SkipWithError("needs at least one token");
    return;
  }
  ClaimsCache cache(
      ClaimsCacheOptions{.max_bytes = size_t{8} << 30, .shards = 16, .hot_bytes = hot_bytes});
  std::vector<std::string> tokens(n);
  for (size_t i = 0; i < n; ++i) {
    make_token(i, tokens[i]);
    if (!cache.insert(tokens[i], make_principal(i), kNow)) {
      state.SkipWithError("insert refused");
      return;
    }
  }
  size_t i = 0;
  for ([[maybe_unused]] auto _ : state) {
    auto p = cache.find(tokens[i], kNow);
    if (p == nullptr) {
      state.SkipWithError("unexpected miss");
      break;
    }
    benchmark::DoNotOptimize(p);
    i = (i + 7919) % n;
  }
  state.SetItemsProcessed(state.iterations());
  const auto st = cache.stats();
  state.counters["entries"] = static_cast<double>(st.entries);
  state.counters["hot_share"] =
      st.hits > 0 ? static_cast<double>(st.hot_hits) / static_cast<double>(st.hits) : 0.0;
}
void BM_FindHit(benchmark::State& state) { find_hits(state, ClaimsCacheOptions{}.hot_bytes); }
void BM_FindMainTierHit(benchmark::State& state) { find_hits(state, 0); }
BENCHMARK(BM_Sha256Of600ByteToken)->Arg(1'000)->Arg(100'000);
BENCHMARK(BM_FindHit)->Arg(1'000)->Arg(100'000);
BENCHMARK(BM_FindMainTierHit)->Arg(1'000)->Arg(100'000);

// A cached validation as an API makes it: Authenticator::authenticate() on a token it has seen.
// The validator is never reached (its issuer does not exist); every answer must come from the
// cache, or the run fails. 1,000 tokens in rotation, as many clients sending requests in turn.
void BM_CachedValidation(benchmark::State& state) {
  using tessera::resource::Authenticator;
  using tessera::resource::Validator;
  using tessera::resource::ValidatorOptions;
  constexpr size_t kTokens = 1'000;
  ValidatorOptions options;
  options.issuer = "https://as.tessera.invalid";
  options.audiences = {"https://api.tessera.example/invoices"};
  options.now = [] { return kNow; };
  auto validator = std::make_shared<const Validator>(std::move(options));
  auto cache = std::make_shared<ClaimsCache>();
  Authenticator authenticator(validator, cache);
  std::vector<std::string> tokens(kTokens);
  for (size_t i = 0; i < kTokens; ++i) {
    make_token(i, tokens[i]);
    cache->insert(tokens[i], make_principal(i), kNow);
  }
  size_t i = 0;
  for ([[maybe_unused]] auto _ : state) {
    auto v = authenticator.authenticate(tokens[i]);
    if (!v.ok()) {
      state.SkipWithError("a cached token did not validate from the cache");
      break;
    }
    benchmark::DoNotOptimize(v);
    i = (i + 7) % kTokens;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CachedValidation);

// find() on tokens the cache does not hold.
void BM_FindMiss(benchmark::State& state) {
  ClaimsCache cache;
  std::string token;
  for (uint64_t i = 0; i < 10'000; ++i) {
    make_token(i, token);
    cache.insert(token, make_principal(i), kNow);
  }
  make_token(1'000'000, token);
  for ([[maybe_unused]] auto _ : state) benchmark::DoNotOptimize(cache.find(token, kNow));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FindMiss);

double rss_mib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtod(line.c_str() + 6, nullptr) / 1024.0;
  }
  return 0;
}

int memory_mode(size_t entries) {
  std::string token;
  // Warm up what every run pays once (OpenSSL, the JSON parser) before the first figure.
  make_token(0, token);
  {
    ClaimsCache warm;
    warm.insert(token, make_principal(0), kNow);
  }
  const double before = rss_mib();
  ClaimsCache cache(ClaimsCacheOptions{.max_bytes = size_t{16} << 30, .shards = 16});
  for (size_t i = 0; i < entries; ++i) {
    make_token(i, token);
    if (!cache.insert(token, make_principal(i), kNow)) {
      std::fprintf(stderr, "insert %zu refused\n", i);
      return 1;
    }
  }
  const double after = rss_mib();
  const auto st = cache.stats();
  const double rss_per_entry = (after - before) * 1024.0 * 1024.0 / static_cast<double>(entries);
  std::printf("entries                       %zu\n", st.entries);
  std::printf("RSS before                    %.1f MiB\n", before);
  std::printf("RSS after                     %.1f MiB\n", after);
  std::printf("RSS growth per entry          %.0f bytes\n", rss_per_entry);
  std::printf("stats().bytes                 %.1f MiB\n",
              static_cast<double>(st.bytes) / (1024.0 * 1024.0));
  std::printf("stats().bytes per entry       %.0f bytes\n",
              static_cast<double>(st.bytes) / static_cast<double>(st.entries));
  std::printf("estimated_bytes(one)          %zu bytes (sizeof(Principal) = %zu)\n",
              ClaimsCache::estimated_bytes(*make_principal(0)), sizeof(Principal));
  std::printf("hot tier entries / bytes      %zu / %.1f MiB\n", st.hot_entries,
              static_cast<double>(st.hot_bytes) / (1024.0 * 1024.0));
  std::printf("counted / RSS growth          %.2f\n",
              static_cast<double>(st.bytes) / static_cast<double>(st.entries) / rss_per_entry);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--memory") == 0) {
      size_t entries = 1'000'000;
      for (int j = 1; j + 1 < argc; ++j) {
        if (std::strcmp(argv[j], "--entries") == 0) {
          entries = std::strtoull(argv[j + 1], nullptr, 10);
        }
      }
      return memory_mode(entries);
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
