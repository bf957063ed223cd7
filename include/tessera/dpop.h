// DPoP on the resource side (RFC 9449): verifying the proof a request carries for a DPoP-bound
// access token (§4.3, §7.1), with a replay cache of proof jti values (§11.1), and the DPoP
// challenges an API answers with (§7.1, §7.2, §9). Self-contained like the other public SDK
// headers: the standard library and nlohmann/json only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tessera/challenge.h"

namespace tessera::resource {

// RFC 9449 §9: server-provided nonces, kept without server state. A nonce names a time window of
// period_seconds and carries an HMAC-SHA256 of it under `secret`; it is accepted in its window
// and the next, so a client has at least one full period to use a nonce it was given. Servers
// that share the secret accept each other's nonces (several gateway nodes); with a secret of
// its own, each process accepts only the nonces it gave out.
struct DpopNonceOptions {
  std::string secret{};  // 32 bytes or more; empty: 32 random bytes for this process only
  int64_t period_seconds = 60;
  std::function<int64_t()> now{};  // Unix seconds; empty: the system clock. For tests.
};

class DpopNonces {
 public:
  // Checks the options; throws std::invalid_argument on a configuration error, at start-up.
  explicit DpopNonces(DpopNonceOptions options);
  // The nonce of the current window, for a DPoP-Nonce field (32 base64url characters).
  std::string current() const;
  // True for a nonce of the current or the previous window, compared in constant time.
  bool valid(std::string_view nonce) const;

 private:
  int64_t window() const;
  std::string for_window(int64_t window) const;
  DpopNonceOptions options_;
};

// What a shared replay store says of a proof (DpopOptions::shared_replay).
enum class SharedReplayAnswer { kFirst, kReplayed, kUnavailable };
using SharedReplay = std::function<SharedReplayAnswer(std::string_view key, int64_t ttl_seconds)>;

struct DpopOptions {
  // RFC 9449 §4.3 item 5: the JWS algorithms accepted for proofs. Asymmetric only: "none" and
  // HS* are refused at construction. Also the algs="..." of every challenge (§7.1).
  std::vector<std::string> algorithms = {"ES256", "PS256", "EdDSA", "Ed25519"};
  // RFC 9449 §4.3 item 11, §11.1: iat may be this many seconds old at most...
  int64_t max_age_seconds = 60;
  // ...and this many seconds ahead of the server's clock (clock skew) at most.
  int64_t max_future_seconds = 5;
  // A proof (one DPoP field value) over this many bytes is refused before any parsing.
  size_t max_proof_bytes = size_t{8} * 1024;
  // RFC 9449 §4.2: jti is a unique identifier; longer ones are refused (memory of the cache).
  size_t max_jti_bytes = 256;
  // RFC 9449 §11.1 replay cache: at most this many jti values are remembered (when full, the
  // oldest is dropped first), in this many independently locked shards.
  size_t replay_cache_entries = 1'000'000;
  size_t replay_cache_shards = 16;
  // Proof keys kept imported, by their JWK (a client signs every proof with one key; importing
  // and checking a key costs more than the signature check). 0: none kept.
  size_t key_cache_entries = 4096;
  // Unix seconds; empty: the system clock. For tests.
  std::function<int64_t()> now;
  // RFC 9449 §9: when set, every proof must carry a nonce these accept (unless the request
  // names its own expected_nonce); a proof without one fails with kNonce, whose challenge is
  // use_dpop_nonce, and the server sends a DPoP-Nonce field with nonces->current().
  std::shared_ptr<const DpopNonces> nonces;
  // RFC 9449 §11.1 across several servers (a shared store such as Redis): when set, a proof the
  // local replay cache has not seen is also offered here, as `key` (the 32-byte SHA-256 of the
  // proof key's thumbprint and the jti) to remember for at least `ttl_seconds`: as long as any
  // server may still accept the proof, i.e. the rest of its acceptance window, plus one second
  // for whole-second clocks, plus max_future_seconds for clocks that differ between servers. A
  // replay check that cannot be made fails closed: kUnavailable, answered 503. Called from the
  // verifying thread; it may block (bound its time).
  SharedReplay shared_replay;
};

// Every way a proof can fail. Closed: add a value, add its string.
enum class DpopFailure {
  kMissing,          // no DPoP field (RFC 9449 §7.1: a DPoP-bound token needs a proof)
  kMultipleProofs,   // more than one DPoP field (§4.3 item 1)
  kTooLarge,         // the proof is over max_proof_bytes
  kMalformed,        // not a JWS compact serialization with JSON header and claims (§4.3 2-3)
  kWrongType,        // header typ is not dpop+jwt (§4.3 item 4)
  kAlgorithm,        // alg none, symmetric, unknown or not allowed (§4.3 item 5)
  kBadKey,           // jwk missing, not a public asymmetric key, or unusable (§4.3 item 7)
  kBadSignature,     // the signature does not verify with the header's jwk (§4.3 item 6)
  kBadClaims,        // jti, htm, htu or iat missing or of the wrong type (§4.2, §4.3 item 3)
  kMethodMismatch,   // htm is not the request's method (§4.3 item 8)
  kUrlMismatch,      // htu is not the request's URI without query and fragment (§4.3 item 9)
  kExpired,          // iat older than max_age_seconds (§4.3 item 11)
  kIssuedInFuture,   // iat more than max_future_seconds ahead (§4.3 item 11)
  kAccessTokenHash,  // ath missing or not the hash of the presented token (§4.3 item 12)
  kKeyMismatch,      // the proof's key is not the one the token is bound to (§4.3 item 12)
  kNonce,            // nonce missing or not the expected one (§4.3 item 10, §9)
  kReplayed,         // the jti was seen before within the window (§11.1)
  kUnavailable,      // the shared replay store could not be asked (not the client's fault)
};
const char* to_string(DpopFailure failure);

// RFC 9449 §4.3 item 9: scheme://host[:port]/path of `uri` without query and fragment, after
// RFC 3986 §6.2.2 and §6.2.3 normalisation; nullopt when `uri` is not an absolute http(s) URI
// with an authority (or carries userinfo). Two URIs name the same htu when these are equal.
std::optional<std::string> normalize_htu(std::string_view uri);

// One request as the server sees it.
struct DpopRequest {
  // The value of every DPoP header field of the request, in order (none, one, or several).
  std::vector<std::string_view> proofs;
  std::string_view method;  // the HTTP method, e.g. "GET"
  // The request URL as the server sees it: scheme://host[:port]/path?query (the query is
  // ignored, RFC 9449 §4.3 item 9).
  std::string_view url;
  // The access token presented with the proof (checked against ath); empty when none, e.g. at a
  // token endpoint.
  std::string_view access_token;
  // The token's cnf.jkt (RFC 9449 §6.1); empty when the token is not bound.
  std::string_view expected_jkt;
  // The server nonce the proof must carry (RFC 9449 §9); nullopt: DpopOptions::nonces decides.
  std::optional<std::string_view> expected_nonce;
};

struct DpopProof {
  std::string jkt;  // RFC 7638 SHA-256 thumbprint of the proof's jwk, base64url
  std::string jti;
  int64_t issued_at = 0;
};

struct DpopError {
  DpopFailure failure = DpopFailure::kMalformed;
  std::string description;  // one line, safe to return to the client; never the proof
};

struct DpopVerification {
  std::optional<DpopProof> proof;  // set when the proof is valid
  DpopError error;                 // meaningful when proof is empty
  bool ok() const { return proof.has_value(); }
};

class DpopVerifier {
 public:
  // Checks the options; throws std::invalid_argument on a configuration error, at start-up.
  explicit DpopVerifier(DpopOptions options);
  ~DpopVerifier();
  DpopVerifier(const DpopVerifier&) = delete;
  DpopVerifier& operator=(const DpopVerifier&) = delete;

  // Verifies the request's one proof and, when valid, remembers its jti so it is refused if
  // presented again. Thread-safe.
  DpopVerification verify(const DpopRequest& request) const;

  // The configured algorithms, for the algs="..." of a challenge (RFC 9449 §7.1).
  const std::vector<std::string>& algorithms() const;
  // How many unexpired jti values the replay cache holds now.
  size_t replay_cache_size() const;
  // DpopOptions::nonces: null when the server requires no nonce.
  const DpopNonces* nonces() const;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// RFC 9449 §7.1 challenges: 401 with `WWW-Authenticate: DPoP realm="...", error="...",
// error_description="...", algs="..."` and the JSON body {"error", "error_description"}.
//
// No token at all: the bare `DPoP realm="...", algs="..."` challenge, body {}.
Challenge dpop_missing_token(std::string_view realm, const std::vector<std::string>& algs);
// No token at all where both schemes are accepted: RFC 9449 §7.1 lets the resource server name
// both, here as two challenges in one field (RFC 9110 §11.6.1), `Bearer realm="...", DPoP
// realm="...", algs="..."`, body {}.
Challenge bearer_or_dpop_missing_token(std::string_view realm,
                                       const std::vector<std::string>& algs);
// The proof is invalid (error invalid_dpop_proof).
Challenge invalid_dpop_proof(std::string_view realm, std::string_view description,
                             const std::vector<std::string>& algs);
// RFC 9449 §9: the proof lacks the server's current nonce (error use_dpop_nonce); the caller adds
// the DPoP-Nonce header with a fresh nonce.
Challenge use_dpop_nonce(std::string_view realm, std::string_view description,
                         const std::vector<std::string>& algs);
// The token is not usable this way (error invalid_token): a DPoP-bound token presented with the
// Bearer scheme (RFC 9449 §7.2) or without a proof, or bound to another key (§7.1).
Challenge dpop_invalid_token(std::string_view realm, std::string_view description,
                             const std::vector<std::string>& algs);
// The challenge for a failed verification: kNonce gives use_dpop_nonce, kMissing and kKeyMismatch
// give invalid_token, kUnavailable a 503 without a challenge (body error temporarily_unavailable),
// everything else invalid_dpop_proof.
Challenge dpop_challenge_for(std::string_view realm, const DpopError& error,
                             const std::vector<std::string>& algs);

}  // namespace tessera::resource
