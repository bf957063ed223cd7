#include "oauth/revocation.h"

#include "core/audit.h"
#include "oauth/introspection.h"
#include "oauth/tokens.h"

namespace tessera::oauth {

RevocationEndpoint::RevocationEndpoint(const TokenResolver& tokens,
                                       const ClientAuthenticator& clients,
                                       store::GrantStore& grants)
    : tokens_(tokens), clients_(clients), grants_(grants) {}

http::Response RevocationEndpoint::handle(const http::Request& request) const {
  auto outcome = revoke(request);
  if (!outcome) return outcome.error().to_response();
  // RFC 7009 §2.2: "the content of the response body is ignored by the client".
  http::Response r(200);
  r.headers.set("Cache-Control", "no-store");
  return r;
}

Result<RevocationOutcome, OAuthError> RevocationEndpoint::revoke(
    const http::Request& request) const {
  auto params = read_token_parameters(request);
  if (!params) return Err(params.error());
  // RFC 7009 §2.1: confidential clients authenticate; a public client identifies itself with
  // client_id (method none) and may revoke its own tokens.
  auto authenticated = clients_.authenticate(request, params->form);
  if (!authenticated) return Err(authenticated.error());
  const std::string& caller = authenticated->client->client_id;

  // The hint (RFC 7009 §2.1) is not needed: one look-up finds either kind.
  auto token = tokens_.inspect(params->token);
  if (!token) {
    if (token.error() == TokenRejection::kStoreUnavailable) {
      return Err(OAuthError{503, "temporarily_unavailable", "token store unavailable"});
    }
    return RevocationOutcome::kNotActive;
  }
  // RFC 7009 §2.1: "the authorization server first validates the client credentials ... and
  // then verifies whether the token was issued to the client making the revocation request".
  // A token of another client is left alone, and the answer does not tell.
  if (token->client_id != caller) return RevocationOutcome::kNotOwned;
  if (token->format == store::AccessTokenFormat::kJwt) return RevocationOutcome::kNotRevocable;
  // A refresh token takes its grant and every token under it along (GrantStore::revoke_token).
  auto revoked = grants_.revoke_token(token_hash(params->token));
  if (!revoked) {
    if (revoked.error().code == store::StoreError::Code::kUnavailable) {
      return Err(OAuthError{503, "temporarily_unavailable", "token store unavailable"});
    }
    return Err(OAuthError::server_error("revocation failed"));
  }
  // RFC 7009 §2.1 done; the audit trail names the token by its owner and kind, never its value.
  audit::emit("token.revoked", {{"client_id", caller},
                                {"kind", store::to_string(token->kind)},
                                {"subject", token->subject},
                                {"tokens_revoked", *revoked}});
  return RevocationOutcome::kRevoked;
}

}  // namespace tessera::oauth
