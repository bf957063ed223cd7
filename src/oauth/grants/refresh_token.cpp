// Refresh token grant (RFC 6749 §6) with rotation and reuse detection (RFC 9700 §4.14.2): every
// use answers a new refresh token and spends the old one; presenting a spent one revokes the
// whole family and the opaque access tokens issued from it (JWT ones end with their short life).
#include "core/audit.h"
#include "oauth/fapi.h"
#include "oauth/grant.h"
#include "oauth/tokens.h"

namespace tessera::oauth {
namespace {

using RotateOutcome = store::GrantStore::RotateOutcome;

class RefreshTokenGrant final : public Grant {
 public:
  explicit RefreshTokenGrant(const GrantContext& context) : context_(context) {}

  std::string_view grant_type() const override { return "refresh_token"; }

  Result<TokenResponse, OAuthError> exchange(const TokenRequest& request) const override {
    const store::Client& client = request.client;
    auto value = request.params.get("refresh_token");
    if (!value || value->empty()) {
      return Err(OAuthError::invalid_request("refresh_token is missing"));
    }
    if (value->size() > 256) return Err(OAuthError::invalid_grant("unknown refresh token"));
    const std::string hash = token_hash(*value);
    auto found = context_.grants.find_token(hash);
    if (!found) return Err(OAuthError::server_error("the store is unavailable"));
    const auto& token = *found;
    if (!token || token->kind != store::TokenKind::kRefresh || !token->grant_id) {
      return Err(OAuthError::invalid_grant("unknown refresh token"));
    }
    // RFC 6749 §6: bound to the client it was issued to.
    if (token->client_id != client.client_id) {
      return Err(OAuthError::invalid_grant("the refresh token was issued to another client"));
    }
    // RFC 9449 §5: a public client's refresh token is bound to its DPoP key. Checked before the
    // rotation, so a stolen token without the key neither works nor spends the family.
    if (auto claims = json::parse_strict(token->claims_json); claims && claims->is_object()) {
      if (auto e = check_presented_binding(request, *claims, "refresh token")) return Err(*e);
    }
    auto grant = context_.grants.find_grant(*token->grant_id);
    if (!grant) return Err(OAuthError::server_error("the store is unavailable"));
    if (!*grant) return Err(OAuthError::invalid_grant("unknown refresh token"));
    auto scopes = token_scopes(request.params, **grant);
    if (!scopes) return Err(scopes.error());
    auto audiences = token_audiences(request.params, client, **grant, context_.tokens.issuer());
    if (!audiences) return Err(audiences.error());
    // FAPI 2.0 §5.3.2.1: no rotation for a client under the profile, whose tokens are
    // sender-constrained and which is confidential: the refresh token stays valid until the
    // family ends or is revoked. A token already spent or revoked takes the rotating path,
    // whose reuse detection answers it.
    if (fapi2_applies(context_.profile, client) && !token->used_at && !token->revoked_at) {
      if (token->expires_at <= context_.clock.now()) {
        return Err(OAuthError::invalid_grant("the refresh token has expired"));
      }
      auto minted =
          mint_grant_tokens(context_, request, **grant, *scopes, *audiences, false, std::nullopt);
      if (!minted) return Err(minted.error());
      if ((*grant)->revoked_at) {
        return Err(OAuthError::invalid_grant("the refresh token was revoked"));
      }
      if (auto refused = store_minted(context_, minted->records)) return Err(std::move(*refused));
      minted->response.refresh_token = std::string(*value);
      return std::move(minted->response);
    }
    auto minted =
        mint_grant_tokens(context_, request, **grant, *scopes, *audiences, true, std::nullopt);
    if (!minted) return Err(minted.error());
    // The compare-and-set that decides between concurrent uses of the same token.
    auto rotated = context_.grants.rotate_refresh_token(hash, minted->records);
    if (!rotated) return Err(OAuthError::server_error("the store is unavailable"));
    switch (rotated->outcome) {
      case RotateOutcome::kRotated:
        return std::move(minted->response);
      case RotateOutcome::kUnknown:
        return Err(OAuthError::invalid_grant("unknown refresh token"));
      case RotateOutcome::kExpired:
        return Err(OAuthError::invalid_grant("the refresh token has expired"));
      case RotateOutcome::kRevoked:
        return Err(OAuthError::invalid_grant("the refresh token was revoked"));
      case RotateOutcome::kReused:
        // RFC 9700 §4.14.2: a stolen token or a broken client; either way worth a look.
        audit::emit("refresh_token.reuse_detected", {{"client_id", client.client_id},
                                                     {"grant_id", *token->grant_id},
                                                     {"subject", token->subject},
                                                     {"address", request.http.peer_address()}});
        return Err(OAuthError::invalid_grant(
            "the refresh token was already used; every token of this grant is revoked"));
    }
    return Err(OAuthError::server_error("unexpected rotation outcome"));
  }

 private:
  GrantContext context_;
};

}  // namespace

std::unique_ptr<Grant> make_refresh_token_grant(const GrantContext& context) {
  return std::make_unique<RefreshTokenGrant>(context);
}

}  // namespace tessera::oauth
