// Sender-constrained access tokens on the resource side: a token bound to a DPoP key (RFC 9449
// §6.1 cnf.jkt) needs the DPoP scheme and a valid proof for that key; a token bound to a client
// certificate (RFC 8705 §3.1 cnf.x5t#S256) needs that certificate on the TLS connection. Plain
// bearer tokens pass as they are. Self-contained like the other public SDK headers.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tessera/challenge.h"
#include "tessera/dpop.h"
#include "tessera/principal.h"
#include "tessera/validator.h"

namespace tessera::resource {

// The authorization scheme a token came with (RFC 6750 §2.1 Bearer, RFC 9449 §7.1 DPoP).
enum class TokenScheme { kBearer, kDpop };

// The token of an Authorization field value under the Bearer or the DPoP scheme, into `token`
// and `scheme`. kMissing for an absent field or another scheme, kInvalidRequest for a malformed
// credential; nullopt when `token` was filled.
std::optional<ValidationError> access_token(std::optional<std::string_view> authorization,
                                            std::string& token, TokenScheme& scheme);

// How a validated token reached the API.
struct Presentation {
  TokenScheme scheme = TokenScheme::kBearer;
  std::string_view token;
  std::vector<std::string_view> dpop_proofs;  // every DPoP field value of the request
  std::string_view method;
  // The URL the client called, scheme://host[:port]/path?query (RFC 9449 §4.3 item 9: htu).
  std::string_view url;
  // The client certificate of the TLS connection, DER; empty when none (RFC 8705 §3).
  std::string_view client_certificate_der;
};

// RFC 9112 §3.3: the target URI of a request, reconstructed from its scheme ("http" or "https"),
// its Host field and its origin-form request-target (RFC 9112 §3.2.1: absolute-path ["?" query]
// of RFC 3986 characters); what a DPoP proof's htu names (RFC 9449 §4.3 item 9). nullopt when a
// part is malformed: another scheme, a Host that is no RFC 3986 §3.2.2-3.2.3 host [":" port]
// (a bracketed IP literal, or a non-empty reg-name or IPv4 address; a port of digits; no
// userinfo), or another form of target.
std::optional<std::string> target_uri(std::string_view scheme, std::string_view host,
                                      std::string_view request_target);

// The same behind a reverse proxy, from what the proxy asserts: X-Forwarded-Proto (`proto`),
// X-Forwarded-Host (`host`, the Host field the client sent) and X-Forwarded-Uri (`uri`, the
// request-target the client sent, before any path rewriting), as Tessera's gateway sets them.
// nullopt when target_uri refuses them, or when proto://host is not one of `trusted_origins`
// (the proxy's origins as clients call them, "https://gw.example.com"; compared after RFC 3986
// §6.2.2-6.2.3 normalisation, so case and a default port do not matter).
// Trust these fields only from a proxy that sets them and drops them from clients. A client that
// reaches the API directly can name any URL of those origins; it still needs a proof of the
// token's key, for that method and URL, whose jti this API has not seen (a proof the gateway
// passed to this API has been seen; one it refused, or passed to another API, has not).
std::optional<std::string> forwarded_url(std::string_view proto, std::string_view host,
                                         std::string_view uri,
                                         const std::vector<std::string>& trusted_origins);

// The challenge when the presentation does not match the token's binding, nullopt when it does:
// - cnf.jkt: the DPoP scheme (§7.2: a bound token sent as Bearer is invalid_token) and a proof
//   `dpop` verifies for that key, this request and this token (§4.3, §7.1); without a verifier
//   every bound token is refused;
// - a token without cnf.jkt sent with the DPoP scheme is invalid_token too (it is not bound);
// - cnf.x5t#S256: base64url(SHA-256(certificate)) must equal it (RFC 8705 §3), else
//   invalid_token.
std::optional<Challenge> require_binding(const Principal& principal, const Presentation& p,
                                         const DpopVerifier* dpop, std::string_view realm);

}  // namespace tessera::resource
