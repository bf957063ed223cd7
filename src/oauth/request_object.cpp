#include "oauth/request_object.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include "core/json.h"
#include "jose/jose.h"
#include "oauth/client_auth.h"
#include "oauth/fapi.h"

namespace tessera::oauth {
namespace {

constexpr size_t kMaxJtiLength = 256;

Result<http::Params, OAuthError> invalid(const std::string& why) {
  return Err(OAuthError::invalid_request_object(why));
}

const std::string* string_member(const json::Json& object, const char* name) {
  auto it = object.find(name);
  if (it == object.end() || !it->is_string()) return nullptr;
  return &it->get_ref<const std::string&>();
}

// What a failed claims check (jose::validate_claims) tells the client.
std::string describe(jose::Status status, const std::string& issuer) {
  switch (status) {
    case jose::Status::kClaimMissing:
      return "the request object lacks iss, aud or exp";
    case jose::Status::kClaimInvalid:
      return "the request object's iss, aud, exp, nbf or iat is of the wrong type";
    case jose::Status::kIssuerMismatch:
      return "the request object's iss must be the client_id";
    case jose::Status::kAudienceMismatch:
      return "the request object's aud must name the issuer " + issuer;
    case jose::Status::kExpired:
      return "the request object has expired";
    case jose::Status::kNotYetValid:
      return "the request object is not valid yet (nbf)";
    case jose::Status::kIssuedInFuture:
      return "the request object is issued in the future";
    default:
      return std::string("the request object is invalid: ") + jose::to_string(status);
  }
}

}  // namespace

Result<http::Params, OAuthError> open_request_object(std::string_view jwt,
                                                     const store::Client& client,
                                                     const ClientAuthenticator& clients,
                                                     store::ReplayCache& replay, const Clock& clock,
                                                     const RequestObjectOptions& options) {
  if (jwt.size() > options.max_bytes) {
    return invalid("the request object is larger than " + std::to_string(options.max_bytes) +
                   " bytes");
  }
  // RFC 7516 §9: five parts is a JWE; only signed objects are accepted.
  if (std::count(jwt.begin(), jwt.end(), '.') != 2) {
    return invalid(
        "the request object must be a signed JWT (JWS compact form); encrypted "
        "request objects are not supported");
  }
  auto unverified = jose::decode_unverified(jwt, options.max_bytes);
  if (!unverified) return invalid("the request object is not a JWS compact serialization");
  // §10.8: typ oauth-authz-req+jwt keeps a request object from passing for another JWT; older
  // clients send JWT or nothing.
  if (const std::string* typ = string_member(unverified->header, "typ")) {
    if (*typ != "oauth-authz-req+jwt" && *typ != "JWT") {
      return invalid("the request object's typ must be oauth-authz-req+jwt");
    }
  }
  const std::vector<jose::Alg>& algs = options.fapi2 ? fapi2_algs() : client_assertion_algs();
  const std::string* alg_name = string_member(unverified->header, "alg");
  auto alg = alg_name ? jose::alg_from_string(*alg_name) : std::nullopt;
  if (options.fapi2 && alg && !is_fapi2_alg(*alg)) {
    return invalid("under FAPI 2.0 the request object must be signed with PS256, ES256 or EdDSA");
  }
  if (!alg || std::find(algs.begin(), algs.end(), *alg) == algs.end()) {
    // RFC 9101 §6.1 with RFC 8725 §3.1: never "none"; HMAC needs a secret the server lacks.
    return invalid(
        "the request object must be signed with an asymmetric algorithm (RS256, "
        "PS256, ES256, EdDSA and their larger variants)");
  }
  if (!client.jwks_json && client.jwks_uri.empty()) {
    return invalid("the client has no registered jwks or jwks_uri to verify request objects with");
  }
  jose::VerifyOptions verify_options;
  verify_options.allowed_algs = algs;
  verify_options.max_size = options.max_bytes;
  auto verified = clients.verify_signed_by(client, jwt, verify_options);
  if (!verified && verified.error() == jose::Status::kKeyInvalid) {
    return invalid("the client's registered keys are unusable or could not be fetched");
  }
  if (!verified) return invalid("the request object's signature does not verify");

  auto claims = json::parse_strict(verified->payload);
  if (!claims || !claims->is_object()) return invalid("the request object is not a JSON object");
  const json::Json& c = *claims;
  // RFC 9101 §4: iss is the client, aud the authorization server; exp required, nbf and iat
  // not in the future. The same checks as every JWT this server takes (RFC 8725 §3.8-3.10).
  jose::ClaimsPolicy policy;
  policy.issuer = client.client_id;
  policy.audiences = {options.issuer};
  policy.required_claims = {"iss", "aud"};
  policy.require_exp = true;
  policy.leeway_seconds = options.leeway;
  policy.clock = &clock;
  if (auto status = jose::validate_claims(verified->header, c, policy);
      status != jose::Status::kOk) {
    return invalid(describe(status, options.issuer));
  }
  // §5: a client_id inside must be the client's.
  if (c.contains("client_id")) {
    const std::string* id = string_member(c, "client_id");
    if (id == nullptr || *id != client.client_id) {
      return invalid("the request object's client_id is not the client's");
    }
  }
  const double exp = c.at("exp").get<double>();
  const auto now = static_cast<double>(clock.now());
  const std::optional<double> nbf =
      c.contains("nbf") ? std::optional<double>(c.at("nbf").get<double>()) : std::nullopt;
  const double from = nbf ? std::min(*nbf, now) : now;
  if (exp - from > static_cast<double>(options.max_lifetime)) {
    return invalid("the request object may live at most " + std::to_string(options.max_lifetime) +
                   " seconds");
  }
  // §6.3 / RFC 9126 §3: no request object inside a request object, no reference from it.
  if (c.contains("request") || c.contains("request_uri")) {
    return invalid("the request object must not carry request or request_uri");
  }
  // A jti, when the client sends one, makes the object single-use until it expires.
  if (c.contains("jti")) {
    const std::string* jti = string_member(c, "jti");
    if (jti == nullptr || jti->empty() || jti->size() > kMaxJtiLength) {
      return invalid("the request object's jti must be 1 to " + std::to_string(kMaxJtiLength) +
                     " characters");
    }
    auto first = replay.remember_once("request_object", client.client_id + " " + *jti,
                                      static_cast<int64_t>(std::ceil(exp)) + options.leeway);
    if (!first) return Err(OAuthError{503, "temporarily_unavailable", "the store is unavailable"});
    if (!*first) return invalid("the request object's jti was already used");
  }

  http::Params params;
  for (const auto& [name, value] : c.items()) {
    if (name == "iss" || name == "aud" || name == "exp" || name == "nbf" || name == "iat" ||
        name == "jti" || name == "client_id") {
      continue;
    }
    // OpenID Core §6.1: parameters keep their JSON types in the object; /authorize reads them
    // as the strings they would be in a query (claims and authorization_details as JSON).
    if (value.is_string()) {
      params.add(name, value.get<std::string>());
    } else if (name == "resource" && value.is_array() &&
               std::all_of(value.begin(), value.end(),
                           [](const json::Json& r) { return r.is_string(); })) {
      // RFC 8707 §2: several resources, each its own parameter.
      for (const json::Json& r : value) params.add(name, r.get<std::string>());
    } else if (!value.is_null()) {
      params.add(name, value.dump());
    }
  }
  params.add("client_id", client.client_id);
  return params;
}

}  // namespace tessera::oauth
