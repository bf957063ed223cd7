// JWT bearer grant (RFC 7523 §2.1): the assertion is checked as §3 demands (iss a trusted issuer,
// sub, aud naming this server, exp, nbf and iat, a jti used once, the signature by a key of the
// issuer's JWKS), then the client gets an access token whose sub is the assertion's. No refresh
// token: the partner asserts again.
#include "oauth/jwt_bearer.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "core/json.h"
#include "oauth/client_auth.h"
#include "oauth/resource_indicator.h"
#include "oauth/scope.h"
#include "oauth/tokens.h"

namespace tessera::oauth {
namespace {

std::vector<IssuerJwks> issuer_list(const std::vector<TrustedIssuer>& trusted) {
  std::vector<IssuerJwks> out;
  out.reserve(trusted.size());
  for (const TrustedIssuer& t : trusted) out.push_back({t.issuer, t.jwks_uri});
  return out;
}

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
      : context_(context),
        options_(std::move(options)),
        replay_(replay),
        keys_(issuer_list(options_.issuers), options_.fetch, options_.jwks_refresh_seconds,
              options_.jwks_min_refetch_seconds, context_.clock) {}

  std::string_view grant_type() const override { return kJwtBearerGrantType; }

  Result<TokenResponse, OAuthError> exchange(const TokenRequest& request) const override {
    const store::Client& client = request.client;
    auto assertion = request.params.get("assertion");
    if (!assertion || assertion->empty()) {
      return Err(OAuthError::invalid_request("assertion is missing"));
    }
    // RFC 7523 §3 item 1: an issuer this server trusts; item 9, RFC 8725 §3.1: a signature by
    // one of its keys, with an asymmetric algorithm.
    jose::VerifyOptions verify_options;
    verify_options.allowed_algs = client_assertion_algs();
    auto verified = keys_.verify(*assertion, verify_options);
    if (!verified) {
      switch (verified.error().failure) {
        case IssuerKeys::Failure::kMalformed:
          return Err(invalid("is not a JWS with a JSON object payload"));
        case IssuerKeys::Failure::kUntrusted:
          return Err(invalid("is not from a trusted issuer"));
        case IssuerKeys::Failure::kUnavailable:
          // The partner's JWKS is out of reach: nothing wrong with the request; try later.
          return Err(OAuthError{503, "temporarily_unavailable", verified.error().detail});
        case IssuerKeys::Failure::kSignature:
          return Err(invalid("signature does not verify with the issuer's keys"));
      }
    }
    const TrustedIssuer* trusted = nullptr;
    for (const TrustedIssuer& t : options_.issuers) {
      if (t.issuer == verified->issuer) trusted = &t;
    }
    if (trusted == nullptr) return Err(invalid("is not from a trusted issuer"));
    // RFC 8725 §3.11: a JWT the partner made for another purpose (its access tokens, DPoP
    // proofs, logout tokens, ...) is not an authorization grant, though it may name us as aud.
    if (auto typ = verified->header.find("typ");
        typ != verified->header.end() && typ->is_string() &&
        is_other_jwt_type(typ->get_ref<const std::string&>())) {
      return Err(invalid("typ " + typ->get_ref<const std::string&>() + " is not an assertion"));
    }
    const json::Json* claims = &verified->claims;
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
  IssuerKeys keys_;
};

}  // namespace

std::unique_ptr<Grant> make_jwt_bearer_grant(const GrantContext& context, JwtBearerOptions options,
                                             store::ReplayCache& replay) {
  return std::make_unique<JwtBearerGrant>(context, std::move(options), replay);
}

}  // namespace tessera::oauth
