// Client credentials grant (RFC 6749 §4.4): RFC 9068 JWT or opaque access tokens.
#include "oauth/grant.h"
#include "oauth/resource_indicator.h"
#include "oauth/scope.h"
#include "oauth/tokens.h"

namespace tessera::oauth {
namespace {

class ClientCredentialsGrant final : public Grant {
 public:
  explicit ClientCredentialsGrant(const GrantContext& context) : context_(context) {}

  std::string_view grant_type() const override { return "client_credentials"; }

  Result<TokenResponse, OAuthError> exchange(const TokenRequest& request) const override {
    const store::Client& client = request.client;
    // RFC 6749 §4.4: "MUST only be used by confidential clients".
    if (client.type != store::ClientType::kConfidential) {
      return Err(OAuthError::unauthorized_client("client_credentials needs a confidential client"));
    }
    // RFC 6749 §4.4.2 / §3.3: requested scope within the allow-list; omitted means the default.
    auto scopes = grant_scopes(request.params.get("scope"), client.scopes);
    if (!scopes) return Err(scopes.error());
    // RFC 8707 §2: resource indicators against the client's allowed audiences.
    auto audiences = grant_audiences(request.params, client.audiences);
    if (!audiences) return Err(audiences.error());
    // RFC 9068 §2.2: with no resource owner, sub is the client's own id.
    TokenSubject subject;
    subject.subject = client.client_id;
    subject.client_id = client.client_id;
    subject.scopes = *scopes;
    subject.audiences = std::move(*audiences);
    // RFC 6749 §4.4.3: no refresh token.
    return issue_access_token(context_, request, std::move(subject));
  }

 private:
  GrantContext context_;
};

}  // namespace

std::unique_ptr<Grant> make_client_credentials_grant(const GrantContext& context) {
  return std::make_unique<ClientCredentialsGrant>(context);
}

}  // namespace tessera::oauth
