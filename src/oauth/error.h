// OAuth errors as the RFCs name them (RFC 6749 §5.2, RFC 8707 §2), each carrying the HTTP status
// it is answered with. Handlers return them; only to_response() knows the wire shape.
#pragma once

#include <string>
#include <string_view>

#include "http/message.h"

namespace tessera::oauth {

struct OAuthError {
  int status = 400;
  std::string code;
  std::string description;
  // RFC 6749 §5.2 invalid_client answered with 401 carries a WWW-Authenticate challenge.
  bool challenge_basic = false;
  // RFC 9449 §8: a nonce the client must put in its next DPoP proof, sent as DPoP-Nonce.
  std::string dpop_nonce{};

  // Missing, repeated or malformed parameter (RFC 6749 §5.2).
  static OAuthError invalid_request(std::string description) {
    return {400, "invalid_request", std::move(description)};
  }
  // Client authentication failed (RFC 6749 §5.2): 401 with a Basic challenge.
  static OAuthError invalid_client(std::string description) {
    return {401, "invalid_client", std::move(description), true};
  }
  static OAuthError invalid_grant(std::string description) {
    return {400, "invalid_grant", std::move(description)};
  }
  // The client may not use this grant type (RFC 6749 §5.2).
  static OAuthError unauthorized_client(std::string description) {
    return {400, "unauthorized_client", std::move(description)};
  }
  static OAuthError unsupported_grant_type(std::string description) {
    return {400, "unsupported_grant_type", std::move(description)};
  }
  // Scope unknown, malformed or beyond what the client may ask (RFC 6749 §5.2).
  static OAuthError invalid_scope(std::string description) {
    return {400, "invalid_scope", std::move(description)};
  }
  // RFC 8707 §2: a resource the client may not ask for, or not an absolute URI.
  static OAuthError invalid_target(std::string description) {
    return {400, "invalid_target", std::move(description)};
  }
  // RFC 9449 §5: the DPoP proof of a token request is missing where required, or invalid.
  static OAuthError invalid_dpop_proof(std::string description) {
    return {400, "invalid_dpop_proof", std::move(description)};
  }
  // RFC 9449 §8: the proof lacks the server's current nonce, given in the DPoP-Nonce field.
  static OAuthError use_dpop_nonce(std::string description, std::string nonce) {
    return {400, "use_dpop_nonce", std::move(description), false, std::move(nonce)};
  }
  // RFC 9101 §6.1, §7: the request object is unsigned, badly signed, or its claims are wrong.
  static OAuthError invalid_request_object(std::string description) {
    return {400, "invalid_request_object", std::move(description)};
  }
  // RFC 9396 §5: authorization_details of an unknown type, malformed, breaking the type's schema,
  // or (at the token endpoint, §6) beyond what was granted.
  static OAuthError invalid_authorization_details(std::string description) {
    return {400, "invalid_authorization_details", std::move(description)};
  }
  // A store the request needs (such as the shared DPoP replay store) cannot be reached: 503 with
  // Retry-After (RFC 9110 §15.6.4), the error code of RFC 6749 §4.1.2.1.
  static OAuthError temporarily_unavailable(std::string description) {
    return {503, "temporarily_unavailable", std::move(description)};
  }
  static OAuthError server_error(std::string description) {
    return {500, "server_error", std::move(description)};
  }

  http::Response to_response() const;
};

}  // namespace tessera::oauth
