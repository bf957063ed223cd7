// JWT claims validation (RFC 7519 §4.1, RFC 8725 §3.8-3.11, RFC 9068 §4).
#include <algorithm>
#include <cctype>

#include "jose/jose.h"
#include "jose/jws_internal.h"

namespace tessera::jose {
namespace {

// RFC 7515 §4.1.9: "application/" may be omitted from typ; media types compare
// case-insensitively (RFC 2045 §5.1).
std::string_view without_application(std::string_view t) {
  constexpr std::string_view kPrefix = "application/";
  if (t.size() > kPrefix.size() &&
      std::equal(kPrefix.begin(), kPrefix.end(), t.begin(),
                 [](char a, char b) { return a == std::tolower(static_cast<unsigned char>(b)); })) {
    t.remove_prefix(kPrefix.size());
  }
  return t;
}

bool same_typ(std::string_view a, std::string_view b) {
  a = without_application(a);
  b = without_application(b);
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](unsigned char x, unsigned char y) {
           return std::tolower(x) == std::tolower(y);
         });
}

// The registered claims of a JSON tree, as check_claims reads them.
RegisteredClaims registered_of(const Json& c, const ClaimsPolicy& policy) {
  RegisteredClaims r;
  auto string_claim = [&](const char* name, std::optional<std::string>* out) {
    auto it = c.find(name);
    if (it == c.end()) return;
    if (!it->is_string()) {
      r.well_typed = false;
    } else if (out != nullptr) {
      *out = it->get<std::string>();
    }
  };
  string_claim("iss", &r.iss);
  string_claim("sub", nullptr);
  string_claim("jti", nullptr);
  auto date_claim = [&](const char* name, std::optional<double>* out) {
    auto it = c.find(name);
    if (it == c.end()) return;
    if (!it->is_number()) {
      r.well_typed = false;
    } else {
      *out = it->get<double>();
    }
  };
  date_claim("exp", &r.exp);
  date_claim("nbf", &r.nbf);
  date_claim("iat", &r.iat);
  if (auto it = c.find("aud"); it != c.end()) {
    r.has_aud = true;
    if (it->is_string()) {
      r.aud.push_back(it->get<std::string>());
    } else if (it->is_array()) {
      for (const auto& a : *it) {
        if (!a.is_string()) {
          r.well_typed = false;
          break;
        }
        r.aud.push_back(a.get<std::string>());
      }
    } else {
      r.well_typed = false;
    }
  }
  for (size_t i = 0; i < policy.required_claims.size() && i < 64; ++i) {
    if (c.contains(policy.required_claims[i])) r.required_present |= uint64_t{1} << i;
  }
  return r;
}

}  // namespace

Status check_claims(const Json& header, const RegisteredClaims& claims,
                    const ClaimsPolicy& policy) {
  // RFC 8725 §3.11: explicit typing keeps one kind of JWT from passing as another.
  if (policy.typ) {
    auto t = header.find("typ");
    if (t == header.end() || !t->is_string() ||
        !same_typ(t->get_ref<const std::string&>(), *policy.typ)) {
      return Status::kTypMismatch;
    }
  }
  if (!claims.well_typed) return Status::kClaimInvalid;
  for (size_t i = 0; i < policy.required_claims.size(); ++i) {
    if (i >= 64 || (claims.required_present & (uint64_t{1} << i)) == 0) {
      return Status::kClaimMissing;
    }
  }
  if (policy.require_exp && !claims.exp) return Status::kClaimMissing;

  // RFC 8725 §3.8: the issuer is compared exactly.
  if (policy.issuer) {
    if (!claims.iss) return Status::kClaimMissing;
    if (*claims.iss != *policy.issuer) return Status::kIssuerMismatch;
  }
  // RFC 7519 §4.1.3 / RFC 8725 §3.9: aud is a string or an array; one must match.
  if (!policy.audiences.empty()) {
    if (!claims.has_aud) return Status::kClaimMissing;
    const bool match = std::any_of(claims.aud.begin(), claims.aud.end(), [&](const std::string& a) {
      return std::find(policy.audiences.begin(), policy.audiences.end(), a) !=
             policy.audiences.end();
    });
    if (!match) return Status::kAudienceMismatch;
  }

  const Clock& clock = policy.clock ? *policy.clock : SystemClock::instance();
  const double now = static_cast<double>(clock.now());
  const double leeway = static_cast<double>(policy.leeway_seconds);
  // RFC 7519 §4.1.4: reject on or after exp.
  if (claims.exp && now >= *claims.exp + leeway) return Status::kExpired;
  // RFC 7519 §4.1.5: reject before nbf.
  if (claims.nbf && now < *claims.nbf - leeway) return Status::kNotYetValid;
  if (claims.iat && *claims.iat > now + leeway) return Status::kIssuedInFuture;
  return Status::kOk;
}

Status validate_claims(const Json& header, const Json& claims, const ClaimsPolicy& policy) {
  try {
    if (!claims.is_object()) return Status::kPayloadNotJson;
    return check_claims(header, registered_of(claims, policy), policy);
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
