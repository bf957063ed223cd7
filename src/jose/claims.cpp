// JWT claims validation (RFC 7519 §4.1, RFC 8725 §3.8-3.11, RFC 9068 §4).
#include <algorithm>
#include <cctype>

#include "jose/jose.h"
#include "jose/jws_internal.h"

namespace tessera::jose {
namespace {

// RFC 7515 §4.1.9: "application/" may be omitted from typ; media types compare
// case-insensitively (RFC 2045 §5.1).
std::string normalize_typ(std::string_view t) {
  std::string s(t);
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  constexpr std::string_view kPrefix = "application/";
  if (s.size() > kPrefix.size() && s.compare(0, kPrefix.size(), kPrefix) == 0) {
    s.erase(0, kPrefix.size());
  }
  return s;
}

// RFC 7519 §4.1: the JSON types of the registered claims.
bool registered_claims_well_typed(const Json& c) {
  for (const char* name : {"iss", "sub", "jti"}) {
    if (auto it = c.find(name); it != c.end() && !it->is_string()) return false;
  }
  for (const char* name : {"exp", "nbf", "iat"}) {
    if (auto it = c.find(name); it != c.end() && !it->is_number()) return false;
  }
  if (auto it = c.find("aud"); it != c.end()) {
    if (it->is_array()) {
      for (const auto& a : *it) {
        if (!a.is_string()) return false;
      }
    } else if (!it->is_string()) {
      return false;
    }
  }
  return true;
}

// NumericDate (RFC 7519 §2) may be fractional; double is exact for any
// realistic second count.
double numeric_date(const Json& j) { return j.get<double>(); }

}  // namespace

Status validate_claims(const Json& header, const Json& claims, const ClaimsPolicy& policy) {
  try {
    if (!claims.is_object()) return Status::kPayloadNotJson;
    // RFC 8725 §3.11: explicit typing keeps one kind of JWT from passing as another.
    if (policy.typ) {
      auto t = header.find("typ");
      if (t == header.end() || !t->is_string() ||
          normalize_typ(t->get_ref<const std::string&>()) != normalize_typ(*policy.typ)) {
        return Status::kTypMismatch;
      }
    }
    if (!registered_claims_well_typed(claims)) return Status::kClaimInvalid;
    for (const auto& name : policy.required_claims) {
      if (!claims.contains(name)) return Status::kClaimMissing;
    }
    if (policy.require_exp && !claims.contains("exp")) return Status::kClaimMissing;

    // RFC 8725 §3.8: the issuer is compared exactly.
    if (policy.issuer) {
      auto iss = claims.find("iss");
      if (iss == claims.end()) return Status::kClaimMissing;
      if (iss->get_ref<const std::string&>() != *policy.issuer) return Status::kIssuerMismatch;
    }
    // RFC 7519 §4.1.3 / RFC 8725 §3.9: aud is a string or an array; one must match.
    if (!policy.audiences.empty()) {
      auto aud = claims.find("aud");
      if (aud == claims.end()) return Status::kClaimMissing;
      auto expected = [&](const Json& a) {
        return std::find(policy.audiences.begin(), policy.audiences.end(),
                         a.get_ref<const std::string&>()) != policy.audiences.end();
      };
      bool match =
          aud->is_string() ? expected(*aud) : std::any_of(aud->begin(), aud->end(), expected);
      if (!match) return Status::kAudienceMismatch;
    }

    const Clock& clock = policy.clock ? *policy.clock : SystemClock::instance();
    double now = static_cast<double>(clock.now());
    double leeway = static_cast<double>(policy.leeway_seconds);
    // RFC 7519 §4.1.4: reject on or after exp.
    if (auto exp = claims.find("exp"); exp != claims.end() && now >= numeric_date(*exp) + leeway) {
      return Status::kExpired;
    }
    // RFC 7519 §4.1.5: reject before nbf.
    if (auto nbf = claims.find("nbf"); nbf != claims.end() && now < numeric_date(*nbf) - leeway) {
      return Status::kNotYetValid;
    }
    if (auto iat = claims.find("iat"); iat != claims.end() && numeric_date(*iat) > now + leeway) {
      return Status::kIssuedInFuture;
    }
    return Status::kOk;
  } catch (const std::exception&) {
    return Status::kInternal;
  }
}

Result<Jwt, Status> verify_jwt(std::string_view compact, const Jwks& keys,
                               const VerifyOptions& vopts, const ClaimsPolicy& policy) {
  auto v = verify(compact, keys, vopts);
  if (!v) return Err(v.error());
  try {
    auto claims = json::parse_strict(v->payload);
    if (!claims) return Err(internal::json_error_status(claims.error(), Status::kPayloadNotJson));
    if (!claims->is_object()) return Err(Status::kPayloadNotJson);
    Status st = validate_claims(v->header, *claims, policy);
    if (st != Status::kOk) return Err(st);
    return Jwt{std::move(v->header), std::move(*claims), v->alg, std::move(v->kid)};
  } catch (const std::exception&) {
    return Err(Status::kInternal);
  }
}

}  // namespace tessera::jose
