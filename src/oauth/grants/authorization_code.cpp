// Authorization code grant (RFC 6749 §4.1.3) with PKCE (RFC 7636 §4.5, §4.6): the code is used
// once, by the client it was issued to, with the redirect URI and verifier it was bound to.
#include "core/audit.h"
#include "oauth/authorize_request.h"
#include "oauth/grant.h"
#include "oauth/tokens.h"

namespace tessera::oauth {
namespace {

using CodeOutcome = store::GrantStore::CodeOutcome;

class AuthorizationCodeGrant final : public Grant {
 public:
  explicit AuthorizationCodeGrant(const GrantContext& context) : context_(context) {}

  std::string_view grant_type() const override { return "authorization_code"; }

  Result<TokenResponse, OAuthError> exchange(const TokenRequest& request) const override {
    const store::Client& client = request.client;
    auto code = request.params.get("code");
    if (!code || code->empty()) return Err(OAuthError::invalid_request("code is missing"));
    auto verifier = request.params.get("code_verifier");
    // RFC 7636 §4.5: required, since every authorization request carried a challenge.
    if (!verifier || verifier->empty()) {
      return Err(OAuthError::invalid_request("code_verifier is missing"));
    }
    if (!is_valid_code_verifier(*verifier)) {
      return Err(
          OAuthError::invalid_request("code_verifier must be 43 to 128 unreserved characters"));
    }
    if (code->size() > 256) return Err(OAuthError::invalid_grant("unknown code"));
    auto redeemed = context_.grants.redeem_code(token_hash(*code));
    if (!redeemed) return Err(OAuthError::server_error("the store is unavailable"));
    switch (redeemed->outcome) {
      case CodeOutcome::kRedeemed:
        break;
      case CodeOutcome::kUnknown:
        return Err(OAuthError::invalid_grant("unknown code"));
      case CodeOutcome::kExpired:
        return Err(OAuthError::invalid_grant("the code has expired"));
      case CodeOutcome::kReplayed:
        audit::emit("authorization_code.replayed", {{"client_id", client.client_id},
                                                    {"grant_id", redeemed->code->grant_id},
                                                    {"address", request.http.peer_address()}});
        // RFC 6749 §4.1.2: the store revoked every token issued from it.
        return Err(OAuthError::invalid_grant("the code was already used; its tokens are revoked"));
      case CodeOutcome::kRevoked:
        return Err(OAuthError::invalid_grant("the authorization was revoked"));
    }
    const store::CodeRecord& record = *redeemed->code;
    const store::GrantRecord& grant = *redeemed->grant;
    // RFC 6749 §4.1.3: issued to this client. The code is spent either way, so a stolen code
    // tried by another client is burnt.
    if (record.client_id != client.client_id) {
      return Err(OAuthError::invalid_grant("the code was issued to another client"));
    }
    // RFC 6749 §4.1.3: redirect_uri identical to the authorization request's, when it had one.
    auto redirect_uri = request.params.get("redirect_uri");
    if (!record.redirect_uri.empty()) {
      if (!redirect_uri || *redirect_uri != record.redirect_uri) {
        return Err(OAuthError::invalid_grant("redirect_uri does not match"));
      }
    } else if (redirect_uri && (client.redirect_uris.size() != 1 ||
                                *redirect_uri != client.redirect_uris.front())) {
      return Err(OAuthError::invalid_grant("redirect_uri does not match"));
    }
    // RFC 7636 §4.6.
    if (!pkce_matches(*verifier, record.code_challenge)) {
      return Err(OAuthError::invalid_grant("code_verifier does not match the code_challenge"));
    }
    // RFC 9449 §10: a code bound to a DPoP key at /authorize (dpop_jkt) is redeemed only with a
    // proof of that key.
    if (record.dpop_jkt && !proves_dpop_key(request, *record.dpop_jkt)) {
      return Err(OAuthError::invalid_grant(
          "the code is bound to a DPoP key (dpop_jkt) this request does not prove"));
    }
    return issue_grant_tokens(context_, request, grant, record.nonce);
  }

 private:
  GrantContext context_;
};

}  // namespace

std::unique_ptr<Grant> make_authorization_code_grant(const GrantContext& context) {
  return std::make_unique<AuthorizationCodeGrant>(context);
}

}  // namespace tessera::oauth
