// Who is calling an API, as an access token says (RFC 9068 §2.2, RFC 7662 §2.2): the resource
// server SDK's answer after a token validates. Self-contained: the public SDK headers need only the
// standard library and nlohmann/json.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tessera::resource {

// One link of a delegation chain (RFC 8693 §4.1): the party acting on the subject's behalf.
struct Actor {
  std::string subject;    // act.sub
  std::string client_id;  // act.client_id, when present

  bool operator==(const Actor&) const = default;
};

struct Principal {
  std::string issuer;
  std::string subject;    // sub: the user (or the client itself for client credentials)
  std::string client_id;  // client_id (RFC 9068 §2.2; RFC 7662 §2.2)
  std::vector<std::string> scopes;
  std::vector<std::string> audiences;
  std::string token_id;  // jti, when present
  int64_t issued_at = 0;
  int64_t expires_at = 0;  // exp: the cache keeps the principal until then
  std::optional<int64_t> auth_time;
  std::string acr;               // RFC 9068 §2.2.1, OpenID Core §2
  std::vector<std::string> amr;  // RFC 8176
  // RFC 8693 §4.1: the current actor first, then the actor before it (act.act), and so on.
  std::vector<Actor> actors;
  // RFC 7800 confirmation: the DPoP key thumbprint (RFC 9449 §6) or the client certificate
  // thumbprint (RFC 8705 §3.1) the token is bound to; empty when it is a plain bearer token.
  std::string dpop_jkt;
  std::string certificate_thumbprint;
  // RFC 9701: the issuer's signed introspection response for this token, when the validator
  // asked for it (ValidatorOptions::introspection_jwt): the JWT a phantom-token gateway forwards
  // upstream in place of the opaque token.
  std::string signed_introspection;
  // Every claim of the token: the JWT payload, or the introspection response (RFC 7662 §2.2).
  nlohmann::json claims = nlohmann::json::object();
  // What a ClaimsProvider added (tenant, roles, ...): looked up once per token, cached with it.
  nlohmann::json domain_claims = nlohmann::json::object();

  bool has_scope(std::string_view scope) const;
  bool has_all_scopes(const std::vector<std::string>& required) const;
  bool has_any_scope(const std::vector<std::string>& required) const;
  // True when the token was delegated (token exchange, RFC 8693 §4.1).
  bool delegated() const { return !actors.empty(); }

  bool operator==(const Principal&) const = default;
};

}  // namespace tessera::resource
