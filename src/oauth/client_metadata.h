// The rules a registered client obeys whoever registers it: an operator with `tessera client`
// (app/cmd_client.cpp) or the client itself at the registration endpoint (RFC 7591,
// oauth/registration.h). The store checks what it can without the protocol
// (store::validate_client); these are the protocol's rules on top.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "jose/jose.h"
#include "store/client_store.h"

namespace tessera::oauth {

inline constexpr std::string_view kTokenExchangeGrantType =
    "urn:ietf:params:oauth:grant-type:token-exchange";

// The grant types a client may be registered for (RFC 7591 §2 grant_types values).
const std::vector<std::string_view>& known_grant_types();
bool is_known_grant_type(std::string_view grant_type);

// Why `uri` cannot be a redirect URI (or a post-logout one); nullopt when it can.
//  - RFC 6749 §3.1.2: an absolute URI without a fragment, compared as a string later.
//  - RFC 9700 §4.1.1 / RFC 8252 §8.3: https, or http only for a loopback host (RFC 8252 §7.3,
//    the native app's local listener).
//  - RFC 8252 §7.1: a private-use scheme is a reverse domain name, so it contains a dot (this
//    also rules out javascript:, data: and the like).
std::optional<std::string> redirect_uri_problem(const std::string& uri);

// Why `uri` cannot be a backchannel_logout_uri (OpenID Connect Back-Channel Logout 1.0 §2.2:
// the server POSTs to it) or a frontchannel_logout_uri (Front-Channel Logout 1.0 §2: the
// signed-out page frames it): an https URL (http only on a loopback host), no fragment.
std::optional<std::string> logout_uri_problem(const std::string& uri);

// Why `jwks` cannot be a client's registered keys (RFC 7523 §2.2, RFC 9101: the client's
// signatures are checked with public keys): empty, a symmetric (oct) key, or a private key.
std::optional<std::string> client_keys_problem(const jose::Jwks& jwks);

// RFC 8705 §2.1.2 tls_client_auth_san_ip: an IPv4 or IPv6 address in inet_ntop's text form
// (RFC 5952 for IPv6), the form the server reads from certificates; nullopt when `text` is
// neither.
std::optional<std::string> canonical_ip(const std::string& text);

// Whether the method authenticates with a client secret (RFC 6749 §2.3.1).
bool uses_secret(store::ClientAuthMethod method);

// Why the client's fields contradict each other; nullopt when they agree:
//  - a public client uses "none", a confidential one authenticates (RFC 6749 §2.1, §2.3.1);
//  - at least one grant type; client_credentials for confidential clients only (§4.4);
//  - authorization_code needs a registered redirect URI (RFC 9700 §2.1).
std::optional<std::string> client_consistency_problem(const store::Client& client);

// The client's metadata with RFC 7591 §2 / §3.2.1 names (and the RFC 8705, RFC 9449, RFC 9126,
// RFC 9101 and RP-Initiated Logout additions): what the registration endpoint answers, and the
// core of `tessera client show --json`. Never the secret or any hash.
json::Json client_metadata_json(const store::Client& client);

}  // namespace tessera::oauth
