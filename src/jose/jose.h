// JOSE: JWK (RFC 7517), JWS compact serialization (RFC 7515), JWA (RFC 7518),
// EdDSA (RFC 8037), thumbprints (RFC 7638) and JWT claims (RFC 7519), hardened
// per RFC 8725 (JWT BCP). OpenSSL EVP does every primitive; this module does
// the framing and the checks. No exception crosses this API: every failure is
// a Status (google/jwt_verify_lib style).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/json.h"
#include "core/result.h"

namespace tessera::jose {

using Json = nlohmann::json;

// Every way a JOSE operation can fail. Closed: add a value, add its string.
enum class Status {
  kOk = 0,
  kTooLarge,             // input over the size cap (checked before any parsing)
  kMalformed,            // not three dot-separated base64url parts
  kBadBase64,            // a part is not strict base64url (padding, foreign characters)
  kHeaderNotJson,        // protected header does not decode to a JSON object
  kPayloadNotJson,       // JWT payload does not decode to a JSON object
  kDuplicateMember,      // duplicate JSON member name in header, payload or JWK
  kAlgMissing,           // header has no "alg"
  kAlgNone,              // "alg": "none" (never accepted; RFC 8725 §3.1)
  kAlgUnknown,           // "alg" not one this library implements
  kAlgNotAllowed,        // "alg" not in the caller's allow-list
  kAlgKeyMismatch,       // key type / curve / key "alg" cannot be used with this alg
  kEmbeddedKeyRejected,  // header carries jwk, jku, x5u or x5c (never trusted)
  kCritUnsupported,      // "crit" names an extension we do not understand (RFC 7515 §4.1.11)
  kCritMalformed,        // "crit" is not a non-empty array of strings
  kKidNotFound,          // no key in the JWKS matches kid/alg
  kSignatureInvalid,     // signature does not verify
  kSignatureBadLength,   // signature has the wrong length for the algorithm
  kSignatureOutOfRange,  // ECDSA r or s outside [1, n-1]
  kKeyInvalid,           // JWK unusable: missing/bad members, point not on curve, ...
  kKeyTooSmall,          // RSA under 2048 bits, HMAC key shorter than the hash
  kKeyUnsupported,       // kty/crv not supported
  kKeyNotPrivate,        // signing needs a private key
  kPemInvalid,           // PEM could not be parsed
  kTypMismatch,          // header "typ" is not the expected one
  kClaimMissing,         // a required claim is absent
  kClaimInvalid,         // a registered claim has the wrong JSON type
  kIssuerMismatch,       // "iss" is not the expected issuer
  kAudienceMismatch,     // none of "aud" matches an expected audience
  kExpired,              // now >= exp + leeway
  kNotYetValid,          // now < nbf - leeway
  kIssuedInFuture,       // iat > now + leeway
  kInternal,             // OpenSSL failed unexpectedly
};
const char* to_string(Status s);

enum class Alg {
  kHS256,
  kHS384,
  kHS512,
  kRS256,
  kRS384,
  kRS512,
  kPS256,
  kPS384,
  kPS512,
  kES256,
  kES384,
  kES512,
  kEdDSA,
  // RFC 9864 §2.2: the fully-specified name of EdDSA with Ed25519 (what "EdDSA" means here).
  kEd25519,
};
const char* to_string(Alg a);
std::optional<Alg> alg_from_string(std::string_view s);  // never returns "none"
const std::vector<Alg>& all_algs();

enum class KeyType { kRSA, kEC, kOKP, kOct };

// A JSON Web Key holding an OpenSSL key (or HMAC secret). Immutable, cheap to
// copy (shared ownership of the underlying key and any cached contexts).
class Jwk {
 public:
  // Parses a JWK object (RFC 7517 §4). Rejects unknown kty/crv, RSA < 2048
  // bits, EC points not on the curve, inconsistent private parts.
  static Result<Jwk, Status> from_json(const Json& j);
  static Result<Jwk, Status> parse(std::string_view text);  // strict JSON first
  // PEM: PKCS#8 / traditional private keys, SubjectPublicKeyInfo, or an X.509
  // certificate (public key taken from it). `alg` optionally pins the key.
  static Result<Jwk, Status> from_pem(std::string_view pem, std::optional<Alg> alg = {});
  // A fresh key suitable for `alg` (RSA 2048, EC on the alg's curve, Ed25519,
  // or a random oct key as long as the hash).
  static Result<Jwk, Status> generate(Alg alg);
  static Jwk from_secret(std::string_view secret, std::optional<Alg> alg = {});

  Json to_json(bool include_private = false) const;
  // RFC 7638 thumbprint (SHA-256 over the required members), base64url.
  std::string thumbprint() const;

  KeyType kty() const;
  const std::string& kid() const;
  std::optional<Alg> alg() const;  // the JWK's "alg" member, if any
  bool is_private() const;         // has private part (always true for oct)
  // RFC 7517 §4.7: the DER of the key's own certificate, the first of its x5c chain (the rest
  // is not kept); empty when the JWK has no x5c. Only what the JWK says: the certificate is not
  // parsed or checked against the key. A self-signed mTLS client's certificates (RFC 8705 §2.2).
  const std::string& certificate_der() const;
  // True when `a` may be used with this key: key type and curve agree with the
  // algorithm, and the JWK's own "alg" (if present) is `a` (RFC 8725 §3.1).
  bool allows(Alg a) const;

  Jwk with_kid(std::string kid) const;
  Jwk with_alg(Alg a) const;
  Jwk public_key() const;  // same key without its private part (oct: unchanged)

  struct Impl;
  explicit Jwk(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  const Impl& impl() const { return *impl_; }

 private:
  std::shared_ptr<const Impl> impl_;
};

// RFC 7517 §5.
class Jwks {
 public:
  static Result<Jwks, Status> from_json(const Json& j);
  static Result<Jwks, Status> parse(std::string_view text);
  // Accepts either a JWKS or a single JWK (wrapped into a set of one).
  static Result<Jwks, Status> parse_key_or_set(std::string_view text);
  Json to_json(bool include_private = false) const;

  void add(Jwk k) { keys_.push_back(std::move(k)); }
  const std::vector<Jwk>& keys() const { return keys_; }
  // Keys usable for `alg` whose kid matches (if kid is given; otherwise all
  // usable keys, in order).
  std::vector<const Jwk*> candidates(std::optional<std::string_view> kid, Alg alg) const;

 private:
  std::vector<Jwk> keys_;
};

struct SignOptions {
  std::optional<std::string> typ;  // e.g. "at+jwt", "JWT"
  bool include_kid = true;         // put the key's kid in the header when it has one
  Json extra_header = Json::object();
};

// Compact JWS (RFC 7515 §7.1). Fails on alg/key mismatch or a public key.
Result<std::string, Status> sign(std::string_view payload, const Jwk& key, Alg alg,
                                 const SignOptions& opts = {});

struct VerifyOptions {
  std::vector<Alg> allowed_algs;             // empty = every alg the key allows
  size_t max_size = size_t{16} * 1024;       // bytes of the compact form, checked first
  std::vector<std::string> understood_crit;  // crit extensions the caller handles
  // DPoP proofs (RFC 9449 §4.2) carry their key in the "jwk" header. Only a
  // caller that has already taken that key out itself (and will bind it by
  // thumbprint) sets this; verify() still never uses a header key, and jku,
  // x5u and x5c stay rejected.
  bool accept_jwk_header = false;
};

struct VerifiedJws {
  Json header;
  std::string payload;  // decoded bytes
  Alg alg;
  std::string kid;  // key that verified it (may be empty)
};

Result<VerifiedJws, Status> verify(std::string_view compact, const Jwk& key,
                                   const VerifyOptions& opts = {});
// Picks keys by header kid and alg; tries each candidate (kid absent: every
// usable key).
Result<VerifiedJws, Status> verify(std::string_view compact, const Jwks& keys,
                                   const VerifyOptions& opts = {});

// Decodes header and payload WITHOUT verifying (for `tessera jose decode`).
struct UnverifiedJws {
  Json header;
  std::string payload;
};
Result<UnverifiedJws, Status> decode_unverified(std::string_view compact,
                                                size_t max_size = size_t{16} * 1024);
// Only the protected header, WITHOUT verifying, and the compact form's shape (three parts, size
// cap): what a verifier reads to choose its policy and keys before verify() checks it all again.
// The payload and signature are not decoded.
Result<Json, Status> decode_header(std::string_view compact, size_t max_size = size_t{16} * 1024);

// JWT claims validation (RFC 7519 §4.1, RFC 8725 §3.8-3.11, RFC 9068 §4).
struct ClaimsPolicy {
  std::optional<std::string> issuer;         // exact match when set
  std::vector<std::string> audiences;        // one must appear in aud (string or array)
  std::optional<std::string> typ;            // expected header typ, compared
                                             // case-insensitively, "application/" prefix optional
  std::vector<std::string> required_claims;  // must be present
  int64_t leeway_seconds = 60;
  bool require_exp = true;
  const Clock* clock = nullptr;  // nullptr = system clock
};

struct Jwt {
  Json header;
  Json claims;
  Alg alg;
  std::string kid;
};

// verify() + JSON payload + claims policy.
Result<Jwt, Status> verify_jwt(std::string_view compact, const Jwks& keys,
                               const VerifyOptions& vopts, const ClaimsPolicy& policy);
// Claims checks alone (for tokens already verified elsewhere).
Status validate_claims(const Json& header, const Json& claims, const ClaimsPolicy& policy);

// What a ClaimsPolicy judges in a JWT's claims, read by whoever parsed them (validate_claims from
// a JSON tree; the resource server's validator from core/json's scanner, building no tree).
struct RegisteredClaims {
  // RFC 7519 §4.1: iss, sub and jti are strings; exp, nbf and iat numbers; aud a string or an
  // array of strings.
  bool well_typed = true;
  std::optional<std::string> iss;
  bool has_aud = false;
  std::vector<std::string> aud;  // a single string as one element
  std::optional<double> exp;     // NumericDate (RFC 7519 §2) may be fractional
  std::optional<double> nbf;
  std::optional<double> iat;
  uint64_t required_present = 0;  // bit i: policy.required_claims[i] is a member
};
// The checks of validate_claims() on claims already read (policy.required_claims: at most 64).
Status check_claims(const Json& header, const RegisteredClaims& claims, const ClaimsPolicy& policy);

}  // namespace tessera::jose
