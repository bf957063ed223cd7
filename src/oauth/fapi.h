// The FAPI 2.0 Security Profile (OpenID Foundation, final, 2025) as a switch, for every client or
// one client at a time (store::Client::fapi2), and RFC 9101 §10.5 require_signed_request_object.
// Each check lives at the endpoint that owns the step (client authentication, PAR, /authorize,
// the token endpoint); this header names the rules once.
//
// What the profile asks and where it is met (§ numbers are the profile's):
//   §5.3.2.1  confidential clients with private_key_jwt or mutual-TLS authentication
//             (store::validate_client, ClientAuthenticator); client assertions name the issuer
//             as aud, a single string (ClientAuthenticator); sender-constrained access tokens
//             only, DPoP or mTLS (TokenEndpoint).
//   §5.3.2.2  PAR required (AuthorizeEndpoint); redirect_uri, PKCE S256, the iss response
//             parameter and 60-second single-use codes hold for every client anyway.
//   §5.4.1    PS256, ES256 and EdDSA (Ed25519) only: client assertions, request objects, DPoP
//             proofs, and the server's own signing key when the switch is server-wide.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "http/message.h"
#include "jose/jose.h"
#include "oauth/error.h"
#include "store/client_store.h"

namespace tessera::oauth {

// Server-wide switches; each also exists per client.
struct ProfileOptions {
  bool fapi2 = false;                          // FAPI 2.0 Security Profile for every client
  bool require_signed_request_object = false;  // RFC 9101 §10.5, for every client
};

inline bool fapi2_applies(const ProfileOptions& profile, const store::Client& client) {
  return profile.fapi2 || client.fapi2;
}

inline bool signed_request_object_required(const ProfileOptions& profile,
                                           const store::Client& client) {
  return profile.require_signed_request_object || client.require_signed_request_object;
}

// §5.4.1 item 1: PS256, ES256, and EdDSA with Ed25519 (both of its names, RFC 9864 §2.2).
const std::vector<jose::Alg>& fapi2_algs();
bool is_fapi2_alg(jose::Alg alg);
// fapi2_algs as names, for metadata and errors.
std::vector<std::string> fapi2_alg_names();

// §5.3.2.1 item 3: private_key_jwt, tls_client_auth or self_signed_tls_client_auth.
bool is_fapi2_auth_method(store::ClientAuthMethod method);

// §5.4.1 for the RFC 9449 DPoP proof of `request` (already verified by DpopProofs): its alg must
// be one of fapi2_algs. invalid_dpop_proof otherwise; nullopt when acceptable or absent.
std::optional<OAuthError> fapi2_proof_problem(const http::Request& request);

}  // namespace tessera::oauth
