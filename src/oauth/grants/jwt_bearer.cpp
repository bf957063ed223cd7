// JWT bearer grant (RFC 7523 §2.1): the assertion is checked as §3 demands (iss a trusted issuer,
// sub, aud naming this server, exp, nbf and iat, a jti used once, the signature by a key of the
// issuer's JWKS), then the client gets an access token whose sub is the assertion's. No refresh
// token: the partner asserts again.
#include "oauth/jwt_bearer.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <mutex>
#include <unordered_map>

#include "core/json.h"
#include "http/client.h"
#include "oauth/client_auth.h"
#include "oauth/resource_indicator.h"
#include "oauth/scope.h"
#include "oauth/tokens.h"
#include "resource/jwks_cache.h"

namespace tessera::oauth {
namespace {

constexpr size_t kMaxJtiLength = 256;

// Media types (RFC 8725 §3.11 explicit typing) of JWTs that are something else than an
// authorization grant; compared without case and without the "application/" prefix.
bool is_other_jwt_type(std::string_view typ) {
  std::string t(typ);
  for (char& ch : t) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (t.starts_with("application/")) t.erase(0, 12);
  for (std::string_view other : {"at+jwt", "dpop+jwt", "logout+jwt", "oauth-authz-req+jwt",
                                 "token-introspection+jwt", "secevent+jwt"}) {
    if (t == other) return true;
  }
  return false;
}

OAuthError invalid(const std::string& why) { return OAuthError::invalid_grant("assertion " + why); }

class JwtBearerGrant final : public Grant {
 public:
  JwtBearerGrant(const GrantContext& context, JwtBearerOptions options, store::ReplayCache& replay)
      : context_(context), options_(std::move(options)), replay_(replay) {
    for (const TrustedIssuer& trusted : options_.issuers) {
      auto fetch = [this, uri = trusted.jwks_uri]() -> Result<jose::Jwks, std::string> {
        if (options_.fetch) return options_.fetch(uri);
        return resource::fetch_jwks(client_, uri);
      };
      caches_.emplace(trusted.issuer,
                      std::make_unique<resource::JwksCache>(
                          fetch, options_.jwks_refresh_seconds, options_.jwks_min_refetch_seconds,
                          [this] { return context_.clock.now(); }));
    }
  }

  std::string_view grant_type() const override { return kJwtBearerGrantType; }

  Result<TokenResponse, OAuthError> exchange(const TokenRequest& request) const override {
    const store::Client& client = request.client;
    auto assertion = request.params.get("assertion");
    if (!assertion || assertion->empty()) {
      return Err(OAuthError::invalid_request("assertion is missing"));
    }
    // RFC 7523 §3 item 1: an issuer this server trusts, read before the signature is checked
    // only to pick the keys.
    auto unverified = jose::decode_unverified(*assertion);
    if (!unverified) return Err(invalid("is not a JWS compact serialization"));
    auto unverified_claims = json::parse_strict(unverified->payload);
    if (!unverified_claims || !unverified_claims->is_object()) {
      return Err(invalid("payload is not a JSON object"));
    }
    auto iss = unverified_claims->find("iss");
    const TrustedIssuer* trusted = nullptr;
    if (iss != unverified_claims->end() && iss->is_string()) {
      for (const TrustedIssuer& t : options_.issuers) {
        if (t.issuer == iss->get_ref<const std::string&>()) trusted = &t;
      }
    }
    if (trusted == nullptr) return Err(invalid("is not from a trusted issuer"));

    // RFC 7523 §3 item 9, RFC 8725 §3.1: asymmetric algorithms only.
    jose::VerifyOptions verify_options;
    verify_options.allowed_algs = client_assertion_algs();
    resource::JwksCache& cache = *caches_.at(trusted->issuer);
    auto keys = cache.keys();
    if (!keys) {
      // The partner's JWKS is out of reach: nothing wrong with the request; try again later.
      return Err(OAuthError{503, "temporarily_unavailable", "the issuer's keys: " + keys.error()});
    }
    auto verified = jose::verify(*assertion, **keys, verify_options);
    if (!verified && verified.error() == jose::Status::kKidNotFound) {
      // A key rotation at the issuer (RFC 7517 §4.5 kid): fetch again, at most every 30 s.
      auto fresh = cache.refresh_for_unknown_kid(*keys);
      if (fresh && *fresh != *keys) verified = jose::verify(*assertion, **fresh, verify_options);
    }
    if (!verified) return Err(invalid("signature does not verify with the issuer's keys"));
    // RFC 8725 §3.11: a JWT the partner made for another purpose (its access tokens, DPoP
    // proofs, logout tokens, ...) is not an authorization grant, though it may name us as aud.
    if (auto typ = verified->header.find("typ");
        typ != verified->header.end() && typ->is_string() &&
        is_other_jwt_type(typ->get_ref<const std::string&>())) {
      return Err(invalid("typ " + typ->get_ref<const std::string&>() + " is not an assertion"));
    }

    auto claims = json::parse_strict(verified->payload);
    if (!claims || !claims->is_object()) return Err(invalid("payload is not a JSON object"));
    jose::ClaimsPolicy policy;
    policy.issuer = trusted->issuer;
    // §3 item 3: aud identifies this server: its issuer or its token endpoint URL.
    policy.audiences = {options_.issuer, options_.token_endpoint};
    policy.required_claims = {"iss", "sub", "aud", "exp", "jti"};
    policy.require_exp = true;
    policy.leeway_seconds = options_.leeway;
    policy.clock = &context_.clock;
    if (auto status = jose::validate_claims(verified->header, *claims, policy);
        status != jose::Status::kOk) {
      return Err(invalid(std::string("claims: ") + jose::to_string(status)));
    }
    const int64_t now = context_.clock.now();
    const double exp = claims->at("exp").get<double>();
    // §3 item 4: an assertion valid for long is a liability if stolen.
    if (exp > static_cast<double>(now + options_.max_lifetime + options_.leeway)) {
      return Err(invalid("expires more than " + std::to_string(options_.max_lifetime) +
                         " seconds from now"));
    }
    const json::Json& sub = claims->at("sub");
    if (!sub.is_string() || sub.get_ref<const std::string&>().empty()) {
      return Err(invalid("sub must be a non-empty string"));
    }
    const std::string& subject = sub.get_ref<const std::string&>();
    if (!trusted->subjects.empty() && std::find(trusted->subjects.begin(), trusted->subjects.end(),
                                                subject) == trusted->subjects.end()) {
      return Err(invalid("sub is not a subject this issuer may assert"));
    }
    // The token's sub is the assertion's: it must not be one of this server's own users, or a
    // partner could speak for them (UserInfo, and APIs keyed on sub, would take it as theirs).
    auto local = context_.users.find_by_id(subject);
    if (!local) return Err(OAuthError::server_error("the user store is unavailable"));
    if (*local) return Err(invalid("sub names a user of this server; a partner cannot assert it"));
    const json::Json& jti = claims->at("jti");
    if (!jti.is_string() || jti.get_ref<const std::string&>().empty() ||
        jti.get_ref<const std::string&>().size() > kMaxJtiLength) {
      return Err(invalid("jti must be 1 to 256 characters"));
    }

    // The request's scope, within the client's and the issuer's (RFC 7521 §4.1 scope).
    std::vector<std::string> allowed;
    for (const std::string& s : client.scopes) {
      if (std::find(trusted->scopes.begin(), trusted->scopes.end(), s) != trusted->scopes.end()) {
        allowed.push_back(s);
      }
    }
    auto scopes = grant_scopes(request.params.get("scope"), allowed);
    if (!scopes) return Err(scopes.error());
    auto audiences = grant_audiences(request.params, client.audiences);
    if (!audiences) return Err(audiences.error());

    // §3 item 7: a jti once, while the assertion could still be accepted. Last, so a request
    // refused for another reason does not spend the assertion.
    const int64_t remember_until = static_cast<int64_t>(std::ceil(exp)) + options_.leeway;
    auto first = replay_.remember_once(
        "jwt_bearer", trusted->issuer + " " + jti.get_ref<const std::string&>(), remember_until);
    if (!first) return Err(OAuthError::server_error("replay cache unavailable"));
    if (!*first) return Err(invalid("jti was already used"));

    TokenSubject token_subject;
    token_subject.subject = subject;
    token_subject.client_id = client.client_id;
    token_subject.scopes = std::move(*scopes);
    token_subject.audiences = std::move(*audiences);
    return issue_access_token(context_, request, std::move(token_subject));
  }

 private:
  GrantContext context_;
  JwtBearerOptions options_;
  store::ReplayCache& replay_;
  mutable http::HttpClient client_;
  std::unordered_map<std::string, std::unique_ptr<resource::JwksCache>> caches_;
};

}  // namespace

std::unique_ptr<Grant> make_jwt_bearer_grant(const GrantContext& context, JwtBearerOptions options,
                                             store::ReplayCache& replay) {
  return std::make_unique<JwtBearerGrant>(context, std::move(options), replay);
}

}  // namespace tessera::oauth
