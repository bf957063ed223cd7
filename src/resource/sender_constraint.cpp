#include "tessera/sender_constraint.h"

#include "core/base64url.h"
#include "core/crypto.h"
#include "http/bearer.h"

namespace tessera::resource {

std::optional<ValidationError> access_token(std::optional<std::string_view> authorization,
                                            std::string& token, TokenScheme& scheme) {
  if (!authorization) return ValidationError{Failure::kMissing, "no access token"};
  for (auto [name, value] :
       {std::pair{"Bearer", TokenScheme::kBearer}, std::pair{"DPoP", TokenScheme::kDpop}}) {
    auto credential = http::scheme_credential(*authorization, name);
    if (!credential) return ValidationError{Failure::kInvalidRequest, credential.error()};
    if (*credential) {
      token = std::move(**credential);
      scheme = value;
      return std::nullopt;
    }
  }
  return ValidationError{Failure::kMissing, "no Bearer or DPoP access token"};
}

std::optional<Challenge> require_binding(const Principal& principal, const Presentation& p,
                                         const DpopVerifier* dpop, std::string_view realm) {
  static const std::vector<std::string> kNoAlgs;
  const std::vector<std::string>& algs = dpop ? dpop->algorithms() : kNoAlgs;
  if (!principal.dpop_jkt.empty()) {
    // RFC 9449 §7.2: a DPoP-bound token sent as a bearer token is refused.
    if (p.scheme != TokenScheme::kDpop) {
      return dpop_invalid_token(realm, "this access token is DPoP-bound: use the DPoP scheme",
                                algs);
    }
    if (dpop == nullptr) {
      return dpop_invalid_token(realm, "DPoP-bound access tokens are not accepted here", algs);
    }
    DpopRequest request{p.dpop_proofs, p.method, p.url, p.token, principal.dpop_jkt, {}};
    auto verified = dpop->verify(request);
    if (!verified.ok()) return dpop_challenge_for(realm, verified.error, algs);
  } else if (p.scheme == TokenScheme::kDpop) {
    return dpop_invalid_token(realm, "this access token is not DPoP-bound", algs);
  }
  if (!principal.certificate_thumbprint.empty()) {
    // RFC 8705 §3: the token is used only with the certificate it was issued for.
    const std::string presented = p.client_certificate_der.empty()
                                      ? std::string()
                                      : base64url::encode(crypto::sha256(p.client_certificate_der));
    if (presented.empty() || !crypto::equal_ct(presented, principal.certificate_thumbprint)) {
      return invalid_token(realm,
                           "this access token is bound to a client certificate this connection "
                           "did not present (RFC 8705 section 3)");
    }
  }
  return std::nullopt;
}

}  // namespace tessera::resource
