// String forms of Status and Alg (jwt_verify_lib style: every failure has a name).
#include "jose/jose.h"

namespace tessera::jose {

const char* to_string(Status s) {
  switch (s) {
    case Status::kOk:
      return "OK";
    case Status::kTooLarge:
      return "token exceeds the size limit";
    case Status::kMalformed:
      return "not a compact JWS: expected three dot-separated parts";
    case Status::kBadBase64:
      return "a part is not strict base64url";
    case Status::kHeaderNotJson:
      return "protected header is not a JSON object";
    case Status::kPayloadNotJson:
      return "JWT payload is not a JSON object";
    case Status::kDuplicateMember:
      return "duplicate JSON member name";
    case Status::kAlgMissing:
      return "header has no alg";
    case Status::kAlgNone:
      return "alg none is never accepted";
    case Status::kAlgUnknown:
      return "alg is not supported";
    case Status::kAlgNotAllowed:
      return "alg is not in the allow-list";
    case Status::kAlgKeyMismatch:
      return "alg cannot be used with this key";
    case Status::kEmbeddedKeyRejected:
      return "header carries a key or key URL (jwk, jku, x5u, x5c); it is never trusted";
    case Status::kCritUnsupported:
      return "crit names an extension that is not understood";
    case Status::kCritMalformed:
      return "crit is not a non-empty array of extension names";
    case Status::kKidNotFound:
      return "no key matches the header kid and alg";
    case Status::kSignatureInvalid:
      return "signature does not verify";
    case Status::kSignatureBadLength:
      return "signature has the wrong length for the alg";
    case Status::kSignatureOutOfRange:
      return "ECDSA r or s outside [1, n-1]";
    case Status::kKeyInvalid:
      return "key is invalid";
    case Status::kKeyTooSmall:
      return "key is too small";
    case Status::kKeyUnsupported:
      return "key type or curve is not supported";
    case Status::kKeyNotPrivate:
      return "signing needs a private key";
    case Status::kPemInvalid:
      return "PEM could not be parsed";
    case Status::kTypMismatch:
      return "header typ is not the expected one";
    case Status::kClaimMissing:
      return "a required claim is missing";
    case Status::kClaimInvalid:
      return "a registered claim has the wrong type";
    case Status::kIssuerMismatch:
      return "iss is not the expected issuer";
    case Status::kAudienceMismatch:
      return "aud does not name an expected audience";
    case Status::kExpired:
      return "token has expired";
    case Status::kNotYetValid:
      return "token is not yet valid (nbf)";
    case Status::kIssuedInFuture:
      return "token is issued in the future (iat)";
    case Status::kInternal:
      return "internal cryptographic error";
  }
  return "unknown status";
}

const char* to_string(Alg a) {
  switch (a) {
    case Alg::kHS256:
      return "HS256";
    case Alg::kHS384:
      return "HS384";
    case Alg::kHS512:
      return "HS512";
    case Alg::kRS256:
      return "RS256";
    case Alg::kRS384:
      return "RS384";
    case Alg::kRS512:
      return "RS512";
    case Alg::kPS256:
      return "PS256";
    case Alg::kPS384:
      return "PS384";
    case Alg::kPS512:
      return "PS512";
    case Alg::kES256:
      return "ES256";
    case Alg::kES384:
      return "ES384";
    case Alg::kES512:
      return "ES512";
    case Alg::kEdDSA:
      return "EdDSA";
    case Alg::kEd25519:
      return "Ed25519";
  }
  return "?";
}

const std::vector<Alg>& all_algs() {
  static const std::vector<Alg> algs = {
      Alg::kHS256, Alg::kHS384, Alg::kHS512, Alg::kRS256, Alg::kRS384, Alg::kRS512, Alg::kPS256,
      Alg::kPS384, Alg::kPS512, Alg::kES256, Alg::kES384, Alg::kES512, Alg::kEdDSA, Alg::kEd25519};
  return algs;
}

// Case-sensitive (RFC 7515 §4.1.1); "none" has no Alg value, so it can never
// come back from here.
std::optional<Alg> alg_from_string(std::string_view s) {
  for (Alg a : all_algs()) {
    if (s == to_string(a)) return a;
  }
  return std::nullopt;
}

}  // namespace tessera::jose
