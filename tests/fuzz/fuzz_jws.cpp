// libFuzzer target: compact JWS parsing and verification on arbitrary input.
// Every input goes through decode_unverified, verify against a fixed key set
// (HMAC, RSA for RS256 and PS256, EC P-256/384/521, Ed25519; the corpus tokens
// are signed by these keys so mutations start deep in the verifier), and the
// JWT claims path: verify_jwt, plus validate_claims on the decoded payload and
// on the input itself signed with the HMAC key (the only way a fuzzer reaches
// claims checks behind a valid signature).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/json.h"
#include "jose/jose.h"

namespace {

using tessera::jose::Alg;
using tessera::jose::Jwks;
using tessera::jose::Status;

// Public halves of the keys that signed tests/fuzz/corpus/fuzz_jws (the HMAC
// secret is here in full). Fixed so every crash reproduces.
constexpr const char* kKeySet =
    R"({"keys":[{"kty":"oct","k":"yCR5VsBEltyOL1iMZdclG82KOups9nw88q6F1DGUat8","kid":"fuzz-hs25)"
    R"(6","alg":"HS256"},{"kty":"RSA","n":"vsyF3k7YkmfMVyq0CaJEndKjGdCPzogLdZPLD_LPPMtqFCjdYwXN)"
    R"(7xLLa1ns-4IDallTW0SArOTGpjuEZDtPIlGvcFanKfsq1M5Ad5T1rw-gmCtQO2Baw5rO-kEZZDn9lpFL4tp7yhbY)"
    R"(ThQBjiiSBAVehK_gRhi1BEtaafKpl32lA-uk_E0bQ7tt2sKbT_G86qQGlvdLjP_8DCdY6uDPInOAgjj3jysBU4Um)"
    R"(wRXzGsN0rZlPTAn2udo6HsOttb3On9FLwa_YxoV4hvwBYXF0xz8eVRBfCR_VB-g6fzvV6NDwmC6TUVYA4gY5honC)"
    R"(ItW7RiK1u-5Rgp9DwAbYl-5WXw","e":"AQAB","kid":"fuzz-rs256","alg":"RS256"},{"kty":"RSA","n)"
    R"(":"vsyF3k7YkmfMVyq0CaJEndKjGdCPzogLdZPLD_LPPMtqFCjdYwXN7xLLa1ns-4IDallTW0SArOTGpjuEZDtPI)"
    R"(lGvcFanKfsq1M5Ad5T1rw-gmCtQO2Baw5rO-kEZZDn9lpFL4tp7yhbYThQBjiiSBAVehK_gRhi1BEtaafKpl32lA)"
    R"(-uk_E0bQ7tt2sKbT_G86qQGlvdLjP_8DCdY6uDPInOAgjj3jysBU4UmwRXzGsN0rZlPTAn2udo6HsOttb3On9FLw)"
    R"(a_YxoV4hvwBYXF0xz8eVRBfCR_VB-g6fzvV6NDwmC6TUVYA4gY5honCItW7RiK1u-5Rgp9DwAbYl-5WXw","e":")"
    R"(AQAB","kid":"fuzz-rsa-ps","alg":"PS256"},{"kty":"EC","x":"O3Gth5gyZLfCP8i0sninxQjkYqbm8q)"
    R"(RK-ah186qSDrI","y":"aDwq3a94aLbJAJzRboMIeeK8QpPFUd-KN1UJaqQhfmM","crv":"P-256","kid":"fu)"
    R"(zz-es256","alg":"ES256"},{"kty":"EC","x":"IMC_LqMvwdVLBzyO9oBdkfZlotNIFuWwZ4_x-Hz-1PWDWO)"
    R"(dKTiRgyYXaCpOwTyeA","y":"bz1Yt7xp1JHDfhAhUYnzRRrzPxkSwAYA5MlT9ioGTsQtB9O_zUfJ_ULTV-64rIV)"
    R"(6","crv":"P-384","kid":"fuzz-es384","alg":"ES384"},{"kty":"EC","x":"AaVwLg1ou7OQwCr0ZFNF)"
    R"(N5hH3tvH-ftf1vrfHT_IH6rneqZ6jqtYbylXmwfY_H8ry9ZMP2xNp_wDb1Mk_tSPaKdk","y":"ANrIogWCk4zYG)"
    R"(T7SS5ox1-aEx37XF-c5X1P9INlbuVGKVXNOKBajmWmDQmH7SjqGxKAjtpSw5FcHYvZ7faucxWlW","crv":"P-52)"
    R"(1","kid":"fuzz-es512","alg":"ES512"},{"crv":"Ed25519","x":"S1OEGB6wPM8ZteY-53McQ06R4X26L)"
    R"(9Hu3g3b4jXke4Y","kty":"OKP","kid":"fuzz-eddsa","alg":"EdDSA"}]})";

struct Fixture {
  Jwks keys;
  tessera::FixedClock clock{1700000000};
  tessera::jose::ClaimsPolicy policy;
  tessera::jose::VerifyOptions any_alg;
  tessera::jose::VerifyOptions only_es256;
  tessera::jose::VerifyOptions understands_crit;
};

const Fixture& fixture() {
  static const Fixture* f = [] {
    auto* fx = new Fixture;  // lives for the whole process, as libFuzzer expects
    auto keys = Jwks::parse(kKeySet);
    if (!keys || keys->keys().size() != 7) std::abort();  // the fixture itself is broken
    fx->keys = std::move(keys).value();
    fx->policy.issuer = "https://as.example";
    fx->policy.audiences = {"invoices"};
    fx->policy.typ = "at+jwt";
    fx->policy.required_claims = {"sub", "jti"};
    fx->policy.clock = &fx->clock;
    fx->only_es256.allowed_algs = {Alg::kES256};
    fx->understands_crit.understood_crit = {"exp", "b64"};
    return fx;
  }();
  return *f;
}

// A result that claims success must carry what it verified.
void check(bool condition) {
  if (!condition) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Fixture& fx = fixture();
  std::string_view input(reinterpret_cast<const char*>(data), size);

  auto decoded = tessera::jose::decode_unverified(input);
  if (decoded) {
    check(decoded->header.is_object());
    auto claims = tessera::json::parse_strict(decoded->payload);
    if (claims && claims->is_object()) {
      (void)tessera::jose::validate_claims(decoded->header, *claims, fx.policy);
    }
  }

  for (const auto* opts : {&fx.any_alg, &fx.only_es256, &fx.understands_crit}) {
    auto verified = tessera::jose::verify(input, fx.keys, *opts);
    // Nothing verifies that does not also decode.
    if (verified) check(decoded.ok() && verified->payload == decoded->payload);
  }
  for (const auto& key : fx.keys.keys()) (void)tessera::jose::verify(input, key);

  auto jwt = tessera::jose::verify_jwt(input, fx.keys, fx.any_alg, fx.policy);
  if (jwt) check(jwt->claims.is_object());

  // The input as a JWT payload behind a valid HS256 signature.
  const auto& hmac_key = fx.keys.keys().front();
  tessera::jose::SignOptions sopts;
  sopts.typ = "at+jwt";
  auto token = tessera::jose::sign(input, hmac_key, Alg::kHS256, sopts);
  if (token) {
    auto signed_jwt = tessera::jose::verify_jwt(*token, fx.keys, fx.any_alg, fx.policy);
    if (!signed_jwt) {
      Status s = signed_jwt.error();
      // A token we just signed can only fail on its payload or size.
      check(s != Status::kSignatureInvalid && s != Status::kKidNotFound &&
            s != Status::kAlgNotAllowed && s != Status::kMalformed);
    }
  }
  return 0;
}
