// DPoP at the authorization server (RFC 9449): the proof of a token request (§5), which binds
// the tokens issued to the proof's key (§6), server nonces (§8), and DPoP-bound access tokens
// at the server's own protected resource, UserInfo (§7). The proof checks themselves are the
// SDK's (resource::DpopVerifier), so the token endpoint, the gateway and APIs apply one rule set.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "http/message.h"
#include "oauth/error.h"
#include "tessera/dpop.h"

namespace tessera::oauth {

struct DpopServerOptions {
  // RFC 9449 §5.1 dpop_signing_alg_values_supported: asymmetric algorithms only.
  // RFC 9864 §2.2 Ed25519 is EdDSA's fully-specified name (oauth4webapi's default for such keys).
  std::vector<std::string> algorithms = {"ES256", "ES384", "ES512", "PS256",  "PS384",
                                         "PS512", "RS256", "EdDSA", "Ed25519"};
  // §4.3 item 11: how old a proof's iat may be, in seconds.
  int64_t max_age_seconds = 60;
  // §8: when set, every proof must carry a nonce these accept (shared with other nodes through
  // their secret); null: no nonce is asked for.
  std::shared_ptr<const resource::DpopNonces> nonces;
  // §11.1 across nodes: the shared replay store (Redis), see resource::DpopOptions.
  resource::SharedReplay shared_replay;
};

// The URLs one endpoint answers at: the issuer's, and its RFC 8705 §5 mTLS alias when one is
// configured. A DPoP proof's htu (RFC 9449 §4.3 item 9) may name either.
using EndpointUrls = std::vector<std::string>;

// Of `urls`, the one the request's DPoP proof names as htu (compared normalised); the first
// when the proof names none of them (the verifier then refuses the proof's htu).
std::string_view proof_url(const http::Request& request, const EndpointUrls& urls);

class DpopProofs {
 public:
  // `token_urls`: the token endpoint's URLs as clients call them (the htu of their proofs).
  DpopProofs(const DpopServerOptions& options, EndpointUrls token_urls, const Clock& clock);

  // RFC 9449 §5: the proof of a token request. nullopt when the request has no DPoP field;
  // else the JWK SHA-256 thumbprint (RFC 7638) of the proof's key, the key the tokens are bound
  // to. Errors: invalid_dpop_proof (several fields, or any failed check of §4.3, a replayed jti
  // included), use_dpop_nonce with the nonce to use (§8).
  Result<std::optional<std::string>, OAuthError> token_request(const http::Request& request) const {
    return proof_key(request, token_urls_);
  }
  // The same for a request to an endpoint at `urls`: the pushed authorization request endpoint
  // (§10.1).
  Result<std::optional<std::string>, OAuthError> proof_key(const http::Request& request,
                                                           const EndpointUrls& urls) const;

  // The verifier, for protected resources of this server (§7.1).
  const resource::DpopVerifier& verifier() const { return verifier_; }
  const std::vector<std::string>& algorithms() const { return verifier_.algorithms(); }
  // The nonce to hand out now (§8); empty when none is asked for.
  std::string current_nonce() const;

 private:
  resource::DpopVerifier verifier_;
  EndpointUrls token_urls_;
};

}  // namespace tessera::oauth
