// DPoP proof verification (RFC 9449 §4.3) and its challenges (§7.1, §9): proofs signed here
// with keys the JOSE module generates, each check failing on its own, the replay cache (§11.1)
// with an injected clock, its cap, and many threads at once.
#include "tessera/dpop.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/base64url.h"
#include "core/crypto.h"
#include "core/json.h"
#include "jose/jose.h"
#include "tessera/sender_constraint.h"

namespace tessera::resource {
namespace {

using nlohmann::json;

constexpr int64_t kNow = 1'700'000'000;
constexpr std::string_view kUrl = "https://api.example.com/invoices?page=2";
constexpr std::string_view kHtu = "https://api.example.com/invoices";
constexpr std::string_view kToken = "eyJhbGciOiJFUzI1NiJ9.access-token.sig";

const jose::Jwk& key_for(jose::Alg alg) {
  static const std::map<jose::Alg, jose::Jwk> keys = [] {
    std::map<jose::Alg, jose::Jwk> m;
    for (jose::Alg a :
         {jose::Alg::kES256, jose::Alg::kES384, jose::Alg::kPS256, jose::Alg::kEdDSA}) {
      auto k = jose::Jwk::generate(a);
      if (!k) throw std::runtime_error("key generation failed");
      m.emplace(a, *k);
    }
    return m;
  }();
  return keys.at(alg);
}
const jose::Jwk& es256() { return key_for(jose::Alg::kES256); }

std::string ath_of(std::string_view token) { return base64url::encode(crypto::sha256(token)); }

std::string fresh_jti() {
  static std::atomic<int> counter{0};
  return "jti-" + std::to_string(counter.fetch_add(1));
}

// The claims of a good proof for GET kUrl with kToken at kNow.
json good_claims() {
  return json{
      {"jti", fresh_jti()}, {"htm", "GET"}, {"htu", kHtu}, {"iat", kNow}, {"ath", ath_of(kToken)}};
}

// The header of a good proof: typ dpop+jwt and the public jwk of `key`.
json good_header(const jose::Jwk& key) {
  return json{{"typ", "dpop+jwt"}, {"jwk", key.public_key().to_json()}};
}

// A proof signed by `signer` with `alg`, with exactly `header` (plus alg) and `claims`.
std::string sign_proof(const jose::Jwk& signer, jose::Alg alg, const json& header,
                       const json& claims) {
  jose::SignOptions opts;
  opts.include_kid = false;
  opts.extra_header = header;
  auto jws = jose::sign(claims.dump(), signer, alg, opts);
  EXPECT_TRUE(jws.ok()) << (jws.ok() ? "" : jose::to_string(jws.error()));
  return jws.ok() ? *jws : std::string();
}

std::string proof_with(const json& claims, jose::Alg alg = jose::Alg::kES256) {
  const jose::Jwk& key = key_for(alg);
  return sign_proof(key, alg, good_header(key), claims);
}

std::string good_proof() { return proof_with(good_claims()); }

// An unsigned JWS with any header (for alg none and friends).
std::string unsigned_jws(const json& header, const json& claims, std::string_view sig = "") {
  return base64url::encode(header.dump()) + "." + base64url::encode(claims.dump()) + "." +
         std::string(sig);
}

class DpopTest : public ::testing::Test {
 protected:
  DpopOptions options() {
    DpopOptions o;
    o.algorithms = {"ES256", "PS256", "EdDSA"};
    o.now = [this] { return now_.load(); };
    return o;
  }

  // GET kUrl with kToken bound to es256().
  DpopRequest request(const std::string& proof) {
    DpopRequest r;
    proof_storage_ = proof;
    r.proofs = {proof_storage_};
    r.method = "GET";
    r.url = kUrl;
    r.access_token = kToken;
    r.expected_jkt = jkt_storage_ = es256().thumbprint();
    return r;
  }

  DpopFailure failure_of(const DpopRequest& r) {
    const DpopVerification v = verifier_.verify(r);
    EXPECT_FALSE(v.ok()) << "accepted";
    return v.ok() ? DpopFailure::kMissing : v.error.failure;
  }
  DpopFailure failure_of(const std::string& proof) { return failure_of(request(proof)); }

  std::atomic<int64_t> now_{kNow};
  DpopVerifier verifier_{options()};
  std::string proof_storage_;
  std::string jkt_storage_;
};

// ---------------------------------------------------------------------------------------------
// Good proofs

TEST_F(DpopTest, AcceptsAGoodProofAndReturnsItsKeyAndJti) {
  const json claims = good_claims();
  const DpopVerification v = verifier_.verify(request(proof_with(claims)));
  ASSERT_TRUE(v.ok()) << v.error.description;
  EXPECT_EQ(v.proof->jkt, es256().thumbprint());
  EXPECT_EQ(v.proof->jti, claims["jti"].get<std::string>());
  EXPECT_EQ(v.proof->issued_at, kNow);
}

TEST_F(DpopTest, AcceptsRsaPssAndEdDsaProofs) {
  for (jose::Alg alg : {jose::Alg::kPS256, jose::Alg::kEdDSA}) {
    DpopRequest r = request(proof_with(good_claims(), alg));
    const std::string jkt = key_for(alg).thumbprint();
    r.expected_jkt = jkt;
    const DpopVerification v = verifier_.verify(r);
    ASSERT_TRUE(v.ok()) << jose::to_string(alg) << ": " << v.error.description;
    EXPECT_EQ(v.proof->jkt, jkt);
  }
}

TEST_F(DpopTest, AcceptsAnUnboundProofWithoutTokenAtATokenEndpoint) {
  json claims = good_claims();
  claims.erase("ath");
  claims["htm"] = "POST";
  claims["htu"] = "https://as.example.com/token";
  DpopRequest r = request(proof_with(claims));
  r.method = "POST";
  r.url = "https://as.example.com/token";
  r.access_token = "";
  r.expected_jkt = "";
  EXPECT_TRUE(verifier_.verify(r).ok());
}

// ---------------------------------------------------------------------------------------------
// Header checks (RFC 9449 §4.3 items 4-7)

TEST_F(DpopTest, RejectsAWrongOrMissingTyp) {
  for (const json& typ : {json("JWT"), json("DPOP+JWT"), json("application/dpop+jwt"), json(7)}) {
    json header = good_header(es256());
    header["typ"] = typ;
    EXPECT_EQ(failure_of(sign_proof(es256(), jose::Alg::kES256, header, good_claims())),
              DpopFailure::kWrongType)
        << typ.dump();
  }
  json header = good_header(es256());
  header.erase("typ");
  EXPECT_EQ(failure_of(sign_proof(es256(), jose::Alg::kES256, header, good_claims())),
            DpopFailure::kWrongType);
}

TEST_F(DpopTest, RejectsAlgNone) {
  for (const char* none : {"none", "None", "NONE"}) {
    json header = good_header(es256());
    header["alg"] = none;
    EXPECT_EQ(failure_of(unsigned_jws(header, good_claims())), DpopFailure::kAlgorithm) << none;
  }
}

TEST_F(DpopTest, RejectsHs256EvenWithAMatchingSymmetricJwk) {
  const jose::Jwk secret = jose::Jwk::from_secret(std::string(32, 'k'));
  json header = {{"typ", "dpop+jwt"}, {"jwk", secret.to_json(true)}};
  EXPECT_EQ(failure_of(sign_proof(secret, jose::Alg::kHS256, header, good_claims())),
            DpopFailure::kAlgorithm);
}

TEST_F(DpopTest, RejectsAnAsymmetricAlgOutsideTheAllowList) {
  const jose::Jwk& es384 = key_for(jose::Alg::kES384);
  DpopRequest r = request(sign_proof(es384, jose::Alg::kES384, good_header(es384), good_claims()));
  r.expected_jkt = "";
  EXPECT_EQ(failure_of(r), DpopFailure::kAlgorithm);
}

TEST_F(DpopTest, RejectsAJwkWithAnyPrivateMember) {
  for (const char* member : {"d", "p", "q", "dp", "dq", "qi"}) {
    json header = good_header(es256());
    header["jwk"][member] = "AQAB";
    EXPECT_EQ(failure_of(sign_proof(es256(), jose::Alg::kES256, header, good_claims())),
              DpopFailure::kBadKey)
        << member;
  }
  // The whole private key, as a careless client would send it.
  json header = good_header(es256());
  header["jwk"] = es256().to_json(true);
  EXPECT_EQ(failure_of(sign_proof(es256(), jose::Alg::kES256, header, good_claims())),
            DpopFailure::kBadKey);
}

TEST_F(DpopTest, RejectsASymmetricJwk) {
  json header = {{"typ", "dpop+jwt"},
                 {"jwk", {{"kty", "oct"}, {"k", base64url::encode(std::string(32, 'k'))}}}};
  EXPECT_EQ(failure_of(sign_proof(es256(), jose::Alg::kES256, header, good_claims())),
            DpopFailure::kBadKey);
}

TEST_F(DpopTest, RejectsAMissingOrUnusableJwk) {
  json header = good_header(es256());
  header.erase("jwk");
  EXPECT_EQ(failure_of(sign_proof(es256(), jose::Alg::kES256, header, good_claims())),
            DpopFailure::kBadKey);
  header["jwk"] = "not an object";
  EXPECT_EQ(failure_of(sign_proof(es256(), jose::Alg::kES256, header, good_claims())),
            DpopFailure::kBadKey);
  // An EdDSA key under an ES256 alg: the key type does not fit the algorithm.
  header["jwk"] = key_for(jose::Alg::kEdDSA).public_key().to_json();
  EXPECT_EQ(failure_of(sign_proof(es256(), jose::Alg::kES256, header, good_claims())),
            DpopFailure::kBadKey);
}

TEST_F(DpopTest, RejectsASignatureByAnotherKey) {
  const jose::Jwk other = *jose::Jwk::generate(jose::Alg::kES256);
  // Signed by `other`, claiming es256()'s public key.
  EXPECT_EQ(failure_of(sign_proof(other, jose::Alg::kES256, good_header(es256()), good_claims())),
            DpopFailure::kBadSignature);
}

TEST_F(DpopTest, RejectsATamperedPayload) {
  const std::string proof = good_proof();
  const size_t dot1 = proof.find('.');
  const size_t dot2 = proof.find('.', dot1 + 1);
  json claims = good_claims();
  claims["htm"] = "GET";
  const std::string tampered =
      proof.substr(0, dot1 + 1) + base64url::encode(claims.dump()) + proof.substr(dot2);
  EXPECT_EQ(failure_of(tampered), DpopFailure::kBadSignature);
}

// ---------------------------------------------------------------------------------------------
// Claims (RFC 9449 §4.2, §4.3 items 3, 8-12)

TEST_F(DpopTest, RejectsMissingOrMistypedRequiredClaims) {
  for (const char* name : {"jti", "htm", "htu", "iat"}) {
    json claims = good_claims();
    claims.erase(name);
    EXPECT_EQ(failure_of(proof_with(claims)), DpopFailure::kBadClaims) << "no " << name;
    claims = good_claims();
    claims[name] = json::array();
    EXPECT_EQ(failure_of(proof_with(claims)), DpopFailure::kBadClaims) << "array " << name;
  }
  json claims = good_claims();
  claims["iat"] = std::to_string(kNow);
  EXPECT_EQ(failure_of(proof_with(claims)), DpopFailure::kBadClaims) << "string iat";
}

TEST_F(DpopTest, BoundsTheJtiLength) {
  json claims = good_claims();
  claims["jti"] = std::string(256, 'j');
  EXPECT_TRUE(verifier_.verify(request(proof_with(claims))).ok());
  claims["jti"] = std::string(257, 'j');
  EXPECT_EQ(failure_of(proof_with(claims)), DpopFailure::kBadClaims);
  claims["jti"] = "";
  EXPECT_EQ(failure_of(proof_with(claims)), DpopFailure::kBadClaims);
}

TEST_F(DpopTest, RejectsAnotherMethod) {
  json claims = good_claims();
  claims["htm"] = "POST";
  EXPECT_EQ(failure_of(proof_with(claims)), DpopFailure::kMethodMismatch);
  claims["htm"] = "get";  // RFC 9110 §9.1: methods are case-sensitive
  EXPECT_EQ(failure_of(proof_with(claims)), DpopFailure::kMethodMismatch);
}

struct HtuCase {
  const char* htu;
  const char* url;
  bool match;
};

TEST_F(DpopTest, ComparesHtuWithoutQueryAfterNormalisation) {
  const HtuCase cases[] = {
      // RFC 9449 §4.3 item 9: query and fragment are ignored, on either side.
      {"https://api.example.com/invoices", "https://api.example.com/invoices?page=2", true},
      {"https://api.example.com/invoices?page=9#top", "https://api.example.com/invoices", true},
      // RFC 3986 §6.2.2.1: scheme and host are case-insensitive; the path is not.
      {"HTTPS://API.Example.COM/invoices", "https://api.example.com/invoices", true},
      {"https://api.example.com/Invoices", "https://api.example.com/invoices", false},
      // RFC 3986 §6.2.3: default ports and the empty path.
      {"https://api.example.com:443/invoices", "https://api.example.com/invoices", true},
      {"http://api.example.com:80/", "http://api.example.com", true},
      {"https://api.example.com", "https://api.example.com/", true},
      {"https://api.example.com:/invoices", "https://api.example.com/invoices", true},
      {"https://api.example.com:8443/invoices", "https://api.example.com/invoices", false},
      {"http://api.example.com:443/invoices", "http://api.example.com/invoices", false},
      {"http://api.example.com/invoices", "https://api.example.com/invoices", false},
      // RFC 3986 §6.2.2.2 and §6.2.2.3: percent-encoding and dot segments.
      {"https://api.example.com/%7Einvoices", "https://api.example.com/~invoices", true},
      {"https://api.example.com/a%2fb", "https://api.example.com/a%2Fb", true},
      {"https://api.example.com/a%2Fb", "https://api.example.com/a/b", false},
      {"https://api.example.com/x/../invoices/./", "https://api.example.com/invoices/", true},
      // Another host, another path, and URIs that are not absolute http(s) URIs.
      {"https://evil.example.com/invoices", "https://api.example.com/invoices", false},
      {"https://api.example.com/invoices/1", "https://api.example.com/invoices", false},
      {"https://user@api.example.com/invoices", "https://api.example.com/invoices", false},
      {"/invoices", "https://api.example.com/invoices", false},
      {"https://api.example.com/%zz", "https://api.example.com/%zz", false},
  };
  for (const HtuCase& c : cases) {
    json claims = good_claims();
    claims["htu"] = c.htu;
    DpopRequest r = request(proof_with(claims));
    r.url = c.url;
    const DpopVerification v = verifier_.verify(r);
    EXPECT_EQ(v.ok(), c.match) << c.htu << " vs " << c.url;
    if (!c.match && !v.ok()) {
      EXPECT_EQ(v.error.failure, DpopFailure::kUrlMismatch) << c.htu;
    }
  }
}

TEST_F(DpopTest, AcceptsIatOnlyWithinTheWindow) {
  json claims = good_claims();
  claims["iat"] = kNow - 61;
  EXPECT_EQ(failure_of(proof_with(claims)), DpopFailure::kExpired);
  claims["iat"] = kNow + 6;
  EXPECT_EQ(failure_of(proof_with(claims)), DpopFailure::kIssuedInFuture);
  claims["iat"] = 1e300;
  EXPECT_EQ(failure_of(proof_with(claims)), DpopFailure::kIssuedInFuture);
  for (int64_t iat : {kNow - 60, kNow + 5}) {
    claims = good_claims();
    claims["iat"] = iat;
    EXPECT_TRUE(verifier_.verify(request(proof_with(claims))).ok()) << iat - kNow;
  }
}

TEST_F(DpopTest, RequiresTheAccessTokenHashWhenATokenIsPresented) {
  json claims = good_claims();
  claims["ath"] = ath_of("another token");
  EXPECT_EQ(failure_of(proof_with(claims)), DpopFailure::kAccessTokenHash);
  claims["ath"] = base64url::encode(std::string(kToken));  // not hashed
  EXPECT_EQ(failure_of(proof_with(claims)), DpopFailure::kAccessTokenHash);
  claims.erase("ath");
  EXPECT_EQ(failure_of(proof_with(claims)), DpopFailure::kAccessTokenHash);
}

TEST_F(DpopTest, RejectsAProofByAnotherKeyThanTheTokenIsBoundTo) {
  DpopRequest r = request(good_proof());
  const std::string other = key_for(jose::Alg::kEdDSA).thumbprint();
  r.expected_jkt = other;
  EXPECT_EQ(failure_of(r), DpopFailure::kKeyMismatch);
}

TEST_F(DpopTest, RequiresTheServerNonceWhenOneIsExpected) {
  json claims = good_claims();
  DpopRequest r = request(proof_with(claims));
  r.expected_nonce = "nonce-1";
  EXPECT_EQ(failure_of(r), DpopFailure::kNonce);  // missing

  claims["nonce"] = "nonce-0";
  r = request(proof_with(claims));
  r.expected_nonce = "nonce-1";
  EXPECT_EQ(failure_of(r), DpopFailure::kNonce);  // stale

  claims["nonce"] = "nonce-1";
  r = request(proof_with(claims));
  r.expected_nonce = "nonce-1";
  EXPECT_TRUE(verifier_.verify(r).ok());
}

// RFC 9449 §9 nonces given out by the server itself (DpopNonces), without server state.
TEST_F(DpopTest, NoncesOfThisWindowAndTheLastAreAcceptedOlderOnesAreNot) {
  const DpopNonces nonces({.secret = std::string(32, 'k'), .period_seconds = 60, .now = [this] {
                             return now_.load();
                           }});
  const std::string given = nonces.current();
  EXPECT_EQ(given.size(), 32U);
  EXPECT_TRUE(nonces.valid(given));
  now_ += 60;  // the next window: still accepted, and a new nonce is given out
  EXPECT_TRUE(nonces.valid(given));
  EXPECT_NE(nonces.current(), given);
  now_ += 60;  // two windows on: refused
  EXPECT_FALSE(nonces.valid(given));
  now_ -= 240;  // a nonce from the future is refused too
  EXPECT_FALSE(nonces.valid(given));
  now_ += 120;
  // Another secret, a changed character, and other strings are refused.
  const DpopNonces other({.secret = std::string(32, 'x'), .period_seconds = 60, .now = [this] {
                            return now_.load();
                          }});
  EXPECT_FALSE(other.valid(given));
  std::string changed = given;
  changed[10] = changed[10] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(nonces.valid(changed));
  for (const std::string& bad :
       {std::string(), std::string("nonce"), given + "A", given.substr(1)}) {
    EXPECT_FALSE(nonces.valid(bad)) << bad;
  }
}

TEST(DpopNonceOptionsCheck, RefusesAShortSecretOrABadPeriod) {
  EXPECT_THROW(DpopNonces({.secret = std::string(31, 'k')}), std::invalid_argument);
  EXPECT_THROW(DpopNonces({.period_seconds = 0}), std::invalid_argument);
  EXPECT_THROW(DpopNonces({.period_seconds = 86'401}), std::invalid_argument);
  // No secret: random per instance, so two instances do not accept each other's nonces.
  const DpopNonces a({}), b({});
  EXPECT_TRUE(a.valid(a.current()));
  EXPECT_FALSE(b.valid(a.current()));
}

TEST_F(DpopTest, AVerifierWithNoncesRequiresOneOfThem) {
  DpopOptions o = options();
  o.nonces = std::make_shared<const DpopNonces>(DpopNonceOptions{
      .secret = std::string(32, 'k'), .period_seconds = 60, .now = [this] { return now_.load(); }});
  const DpopVerifier with_nonces(o);
  EXPECT_NE(with_nonces.nonces(), nullptr);
  EXPECT_EQ(verifier_.nonces(), nullptr);
  json claims = good_claims();
  auto failure = [&](const json& c) {
    const DpopVerification v = with_nonces.verify(request(proof_with(c)));
    return v.ok() ? std::optional<DpopFailure>() : std::optional<DpopFailure>(v.error.failure);
  };
  EXPECT_EQ(failure(claims), DpopFailure::kNonce);  // none
  claims["nonce"] = "made-up";
  EXPECT_EQ(failure(claims), DpopFailure::kNonce);
  claims["nonce"] = o.nonces->current();
  claims["jti"] = "jti-with-nonce";
  EXPECT_EQ(failure(claims), std::nullopt);  // accepted
  now_ += 130;                               // two windows later
  claims["jti"] = "jti-stale-nonce";
  claims["iat"] = now_.load();
  EXPECT_EQ(failure(claims), DpopFailure::kNonce);
}

// ---------------------------------------------------------------------------------------------
// The request as a whole

TEST_F(DpopTest, RejectsAReplayedProof) {
  const std::string proof = good_proof();
  ASSERT_TRUE(verifier_.verify(request(proof)).ok());
  EXPECT_EQ(failure_of(proof), DpopFailure::kReplayed);
}

// RFC 9449 §11.1 across servers: two verifiers (two nodes) sharing a replay store. The store
// here is a set behind a mutex; tests/unit/gateway/redis_state_test.cpp runs the same hook on
// Redis.
struct SharedSet {
  std::mutex mu;
  std::map<std::string, int64_t> seen;
  std::vector<int64_t> ttls;
  bool down = false;
  SharedReplay hook() {
    return [this](std::string_view key, int64_t ttl_seconds) {
      std::lock_guard lock(mu);
      if (down) return SharedReplayAnswer::kUnavailable;
      ttls.push_back(ttl_seconds);
      return seen.emplace(std::string(key), ttl_seconds).second ? SharedReplayAnswer::kFirst
                                                                : SharedReplayAnswer::kReplayed;
    };
  }
};

TEST_F(DpopTest, AProofUsedAtOneNodeIsAReplayAtAnother) {
  SharedSet shared;
  DpopOptions o = options();
  o.shared_replay = shared.hook();
  DpopVerifier node_a(o);
  DpopVerifier node_b(o);
  const std::string proof = good_proof();
  ASSERT_TRUE(node_a.verify(request(proof)).ok());
  const DpopVerification again = node_b.verify(request(proof));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error.failure, DpopFailure::kReplayed);
  // The key offered is the 32-byte digest, to be kept while any server may accept the proof:
  // the rest of the window (iat is now), a second for whole-second clocks, and the skew allowed.
  ASSERT_EQ(shared.seen.size(), 1u);
  EXPECT_EQ(shared.seen.begin()->first.size(), 32u);
  EXPECT_EQ(shared.ttls.front(), o.max_age_seconds + 1 + o.max_future_seconds);
  // A proof 50 s old has 10 s of its window left.
  now_ += 50;
  const std::string older = proof_with(good_claims());  // iat kNow, verified at kNow + 50
  ASSERT_TRUE(node_a.verify(request(older)).ok());
  EXPECT_EQ(shared.ttls.back(), 10 + 1 + o.max_future_seconds);
  // A fresh proof passes at either node.
  EXPECT_TRUE(node_b.verify(request(good_proof())).ok());
}

TEST_F(DpopTest, AReplayCheckThatCannotBeMadeFailsClosedWith503) {
  SharedSet shared;
  shared.down = true;
  DpopOptions o = options();
  o.shared_replay = shared.hook();
  DpopVerifier node(o);
  const std::string proof = good_proof();
  const DpopVerification v = node.verify(request(proof));
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error.failure, DpopFailure::kUnavailable);
  const Challenge c = dpop_challenge_for("api", v.error, o.algorithms);
  EXPECT_EQ(c.status, 503);
  EXPECT_TRUE(c.www_authenticate.empty());
  EXPECT_EQ(nlohmann::json::parse(c.body)["error"], "temporarily_unavailable");
  // Locally the proof now counts as used: sending it again once the store is back is a replay.
  shared.down = false;
  const DpopVerification later = node.verify(request(proof));
  ASSERT_FALSE(later.ok());
  EXPECT_EQ(later.error.failure, DpopFailure::kReplayed);
  EXPECT_TRUE(shared.seen.empty()) << "refused by the local cache before the shared store";
}

TEST_F(DpopTest, RejectsNoneOrSeveralDpopFields) {
  DpopRequest r = request(good_proof());
  const std::string second = good_proof();
  r.proofs.push_back(second);
  EXPECT_EQ(failure_of(r), DpopFailure::kMultipleProofs);
  // Two fields folded into one (RFC 9110 §5.3).
  const std::string folded = proof_storage_ + ", " + second;
  r.proofs = {folded};
  EXPECT_EQ(failure_of(r), DpopFailure::kMultipleProofs);
  r.proofs.clear();
  EXPECT_EQ(failure_of(r), DpopFailure::kMissing);
}

TEST_F(DpopTest, RejectsAnOversizeProofBeforeParsingIt) {
  EXPECT_EQ(failure_of(std::string(8 * 1024 + 1, 'a')), DpopFailure::kTooLarge);
  // A genuine, well-signed proof padded past the limit.
  json claims = good_claims();
  claims["pad"] = std::string(size_t{7} * 1024, 'p');
  EXPECT_EQ(failure_of(proof_with(claims)), DpopFailure::kTooLarge);
}

TEST_F(DpopTest, RejectsGarbageWithAnErrorValue) {
  const json header = json{{"alg", "ES256"}, {"typ", "dpop+jwt"}};
  const std::string garbage[] = {
      "",
      "abc",
      "a.b",
      "a.b.c",
      "....",
      "e30.e30.e30.e30",
      base64url::encode("not json") + ".e30.",
      base64url::encode("[1,2]") + ".e30.",
      base64url::encode(R"({"typ":"dpop+jwt","typ":"dpop+jwt","alg":"ES256"})") + ".e30.",
      std::string("\xff\xfe\x00\x01", 4),
  };
  for (const std::string& g : garbage) {
    const DpopVerification v = verifier_.verify(request(g));
    EXPECT_FALSE(v.ok());
    EXPECT_FALSE(v.error.description.empty());
  }
  // Claims that are not a JSON object, or repeat a name: signed, so only the payload is wrong.
  jose::SignOptions opts;
  opts.include_kid = false;
  opts.extra_header = good_header(es256());
  for (const char* payload : {"[1]", "not json", R"({"jti":"a","jti":"b"})"}) {
    auto jws = jose::sign(payload, es256(), jose::Alg::kES256, opts);
    ASSERT_TRUE(jws.ok());
    EXPECT_EQ(failure_of(*jws), DpopFailure::kMalformed) << payload;
  }
}

TEST_F(DpopTest, NeverEchoesTheProofInItsDescription) {
  json claims = good_claims();
  claims["htm"] = "DELETE";
  const std::string proof = proof_with(claims);
  const DpopVerification v = verifier_.verify(request(proof));
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error.description.find(proof.substr(0, 20)), std::string::npos);
  EXPECT_EQ(v.error.description.find("DELETE"), std::string::npos);
  EXPECT_EQ(v.error.description.find('\n'), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// Replay cache (RFC 9449 §11.1)

TEST_F(DpopTest, ReplayCacheForgetsAJtiOnceItsIatLeavesTheWindow) {
  const std::string first = good_proof();
  ASSERT_TRUE(verifier_.verify(request(first)).ok());
  EXPECT_EQ(verifier_.replay_cache_size(), 1u);

  now_ = kNow + 60;  // still inside the window: still a replay
  EXPECT_EQ(failure_of(first), DpopFailure::kReplayed);

  now_ = kNow + 61;  // out of the window: refused for its age, and its entry is dropped
  EXPECT_EQ(failure_of(first), DpopFailure::kExpired);
  EXPECT_EQ(verifier_.replay_cache_size(), 0u);
  json claims = good_claims();
  claims["iat"] = kNow + 61;
  ASSERT_TRUE(verifier_.verify(request(proof_with(claims))).ok());
  EXPECT_EQ(verifier_.replay_cache_size(), 1u);
}

TEST(DpopReplayCache, DropsTheOldestEntryWhenFull) {
  DpopOptions o;
  o.now = [] { return kNow; };
  o.replay_cache_entries = 3;
  o.replay_cache_shards = 1;
  const DpopVerifier verifier(o);
  auto request = [](const std::string& proof) {
    DpopRequest r;
    r.proofs = {proof};
    r.method = "GET";
    r.url = kUrl;
    r.access_token = kToken;
    return r;
  };
  const std::vector<std::string> proofs = {good_proof(), good_proof(), good_proof(), good_proof()};
  for (const auto& p : proofs) ASSERT_TRUE(verifier.verify(request(p)).ok());
  EXPECT_EQ(verifier.replay_cache_size(), 3u);
  // The first was dropped to make room for the fourth: it is no longer recognised...
  EXPECT_TRUE(verifier.verify(request(proofs[0])).ok());
  // ...while the newest ones still are.
  EXPECT_EQ(verifier.verify(request(proofs[3])).error.failure, DpopFailure::kReplayed);
  EXPECT_EQ(verifier.verify(request(proofs[2])).error.failure, DpopFailure::kReplayed);
  EXPECT_EQ(verifier.replay_cache_size(), 3u);
}

// ---------------------------------------------------------------------------------------------
// Threads

TEST(DpopConcurrency, ManyThreadsVerifyDistinctProofs) {
  DpopOptions o;
  o.now = [] { return kNow; };
  const DpopVerifier verifier(o);
  constexpr int kThreads = 8;
  constexpr int kPerThread = 40;
  std::vector<std::vector<std::string>> proofs(kThreads);
  for (auto& batch : proofs) {
    for (int i = 0; i < kPerThread; ++i) batch.push_back(good_proof());
  }
  const std::string jkt = es256().thumbprint();
  std::atomic<int> accepted{0};
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (const auto& p : proofs[t]) {
        DpopRequest r;
        r.proofs = {p};
        r.method = "GET";
        r.url = kUrl;
        r.access_token = kToken;
        r.expected_jkt = jkt;
        if (verifier.verify(r).ok()) accepted.fetch_add(1);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(accepted.load(), kThreads * kPerThread);
  EXPECT_EQ(verifier.replay_cache_size(), static_cast<size_t>(kThreads * kPerThread));
}

TEST(DpopConcurrency, OneProofRacedByManyThreadsIsAcceptedOnce) {
  DpopOptions o;
  o.now = [] { return kNow; };
  const DpopVerifier verifier(o);
  const std::string proof = good_proof();
  std::atomic<int> accepted{0};
  std::vector<std::thread> threads;
  threads.reserve(8);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      DpopRequest r;
      r.proofs = {proof};
      r.method = "GET";
      r.url = kUrl;
      r.access_token = kToken;
      if (verifier.verify(r).ok()) accepted.fetch_add(1);
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(accepted.load(), 1);
}

// ---------------------------------------------------------------------------------------------
// Configuration

TEST(DpopOptionsCheck, RefusesSymmetricOrUnknownAlgorithms) {
  for (const char* alg : {"HS256", "HS512", "none", "ES257"}) {
    DpopOptions o;
    o.algorithms = {"ES256", alg};
    EXPECT_THROW(DpopVerifier{o}, std::invalid_argument) << alg;
  }
  DpopOptions o;
  o.algorithms.clear();
  EXPECT_THROW(DpopVerifier{o}, std::invalid_argument);
  o = DpopOptions{};
  o.replay_cache_entries = 0;
  EXPECT_THROW(DpopVerifier{o}, std::invalid_argument);
}

// ---------------------------------------------------------------------------------------------
// Challenges (RFC 9449 §7.1, §7.2, §9)

json body_of(const Challenge& c) {
  auto parsed = tessera::json::parse_strict(c.body);
  EXPECT_TRUE(parsed.ok()) << c.body;
  return parsed.ok() ? *parsed : json();
}

const std::vector<std::string>& algs() {
  static const std::vector<std::string> kAlgs = {"ES256", "PS256"};
  return kAlgs;
}

TEST(DpopChallenge, InvalidProofNamesTheErrorAndTheAlgorithms) {
  const Challenge c = dpop_challenge_for(
      "api", DpopError{DpopFailure::kMethodMismatch, "the DPoP proof's htm is wrong"}, algs());
  EXPECT_EQ(c.status, 401);
  EXPECT_EQ(c.www_authenticate,
            R"(DPoP realm="api", error="invalid_dpop_proof", )"
            R"(error_description="the DPoP proof's htm is wrong", algs="ES256 PS256")");
  EXPECT_EQ(body_of(c)["error"], "invalid_dpop_proof");
  EXPECT_EQ(body_of(c)["error_description"], "the DPoP proof's htm is wrong");
}

TEST(DpopChallenge, MapsEachFailureToItsErrorCode) {
  const std::map<DpopFailure, std::string> expected = {
      {DpopFailure::kNonce, "use_dpop_nonce"},
      {DpopFailure::kMissing, "invalid_token"},
      {DpopFailure::kKeyMismatch, "invalid_token"},
      {DpopFailure::kMultipleProofs, "invalid_dpop_proof"},
      {DpopFailure::kReplayed, "invalid_dpop_proof"},
      {DpopFailure::kBadSignature, "invalid_dpop_proof"},
  };
  for (const auto& [failure, error] : expected) {
    const Challenge c = dpop_challenge_for("api", DpopError{failure, "x"}, algs());
    EXPECT_EQ(c.status, 401) << to_string(failure);
    EXPECT_NE(c.www_authenticate.find("error=\"" + error + "\""), std::string::npos)
        << to_string(failure) << ": " << c.www_authenticate;
    EXPECT_EQ(c.www_authenticate.rfind("DPoP ", 0), 0u);
    EXPECT_EQ(body_of(c)["error"], error);
  }
}

TEST(DpopChallenge, BearerDowngradeOfABoundTokenIsInvalidToken) {
  const Challenge c =
      dpop_invalid_token("api", "a DPoP-bound token must be sent with the DPoP scheme", algs());
  EXPECT_EQ(c.status, 401);
  EXPECT_EQ(c.www_authenticate,
            R"(DPoP realm="api", error="invalid_token", )"
            R"(error_description="a DPoP-bound token must be sent with the DPoP scheme", )"
            R"(algs="ES256 PS256")");
}

TEST(DpopChallenge, UseDpopNonceAndTheBareChallenge) {
  EXPECT_EQ(use_dpop_nonce("api", "a nonce is required", algs()).www_authenticate,
            R"(DPoP realm="api", error="use_dpop_nonce", error_description="a nonce is required", )"
            R"(algs="ES256 PS256")");
  const Challenge bare = dpop_missing_token("api", algs());
  EXPECT_EQ(bare.status, 401);
  EXPECT_EQ(bare.www_authenticate, R"(DPoP realm="api", algs="ES256 PS256")");
  EXPECT_EQ(bare.body, "{}");
}

TEST(DpopChallenge, NoTokenWhereBothSchemesAreAcceptedNamesBoth) {
  const Challenge both = bearer_or_dpop_missing_token("api", algs());
  EXPECT_EQ(both.status, 401);
  EXPECT_EQ(both.www_authenticate, R"(Bearer realm="api", DPoP realm="api", algs="ES256 PS256")");
  EXPECT_EQ(both.body, "{}");
}

TEST(DpopChallenge, DropsCharactersThatWouldBreakTheHeader) {
  const Challenge c = invalid_dpop_proof("a\"pi", "bad \"quote\"\r\nX-Injected: 1\\", algs());
  EXPECT_EQ(c.www_authenticate.find('\r'), std::string::npos);
  EXPECT_EQ(c.www_authenticate.find('\n'), std::string::npos);
  EXPECT_NE(c.www_authenticate.find(R"(realm="api")"), std::string::npos);
  EXPECT_NE(c.www_authenticate.find(R"(error_description="bad quoteX-Injected: 1")"),
            std::string::npos);
}

// RFC 9112 §3.3: target_uri rebuilds the URL a request names, and refuses what no URL has.
TEST(TargetUri, BuildsTheUrlTheClientCalled) {
  EXPECT_EQ(target_uri("https", "gw.example.com", "/api/invoices/7?view=full"),
            "https://gw.example.com/api/invoices/7?view=full");
  EXPECT_EQ(target_uri("http", "127.0.0.1:8081", "/"), "http://127.0.0.1:8081/");
  EXPECT_EQ(target_uri("https", "[::1]:8443", "/a%20b/c:d@e?x=/y?"),
            "https://[::1]:8443/a%20b/c:d@e?x=/y?");
}

TEST(TargetUri, RefusesWhatNoUrlHas) {
  for (std::string_view scheme : {"", "ftp", "HTTPS", "https:", "http "}) {
    EXPECT_EQ(target_uri(scheme, "gw.example.com", "/"), std::nullopt) << scheme;
  }
  // A host that would move the path or cut it off (the part of htu a proof binds) is refused.
  for (std::string_view host :
       {"", "gw.example.com/x", "user@gw.example.com", "gw example", "gw.example.com?",
        "gw.example.com#", "gw\r\n.example", "gw.\xc3\xa9xample.com"}) {
    EXPECT_EQ(target_uri("https", host, "/"), std::nullopt) << host;
  }
  for (std::string_view target : {"", "invoices", "*", "http://gw.example.com/", "/a b", "/a#frag",
                                  "/a\tb", "/x\x7f", "/a\\b", "/{x}", "/a\"b"}) {
    EXPECT_EQ(target_uri("https", "gw.example.com", target), std::nullopt) << target;
  }
}

// Behind a reverse proxy: only the origins the API was told to trust, however they are written.
TEST(ForwardedUrl, NamesOnlyAUrlOfATrustedOrigin) {
  const std::vector<std::string> gateway = {"https://GW.example.com:443/", "http://127.0.0.1:8081"};
  EXPECT_EQ(forwarded_url("https", "gw.example.com", "/api/7?x=1", gateway),
            "https://gw.example.com/api/7?x=1");
  EXPECT_EQ(forwarded_url("http", "127.0.0.1:8081", "/api/7", gateway),
            "http://127.0.0.1:8081/api/7");
  EXPECT_EQ(forwarded_url("https", "evil.example", "/api/7", gateway), std::nullopt);
  EXPECT_EQ(forwarded_url("http", "gw.example.com", "/api/7", gateway), std::nullopt)
      << "the scheme is part of the origin";
  EXPECT_EQ(forwarded_url("https", "127.0.0.1:8081", "/api/7", gateway), std::nullopt);
  EXPECT_EQ(forwarded_url("https", "gw.example.com", "api/7", gateway), std::nullopt);
  EXPECT_EQ(forwarded_url("https", "gw.example.com", "/api/7", {}), std::nullopt);
}

}  // namespace
}  // namespace tessera::resource
