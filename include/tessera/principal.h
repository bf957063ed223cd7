// Who is calling an API, as an access token says (RFC 9068 §2.2, RFC 7662 §2.2): the resource
// server SDK's answer after a token validates. Self-contained: the public SDK headers need only the
// standard library and nlohmann/json.
#pragma once

#include <atomic>
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

// Every claim of a token as JSON: the JWT payload, or the introspection response. A Validator
// keeps the payload's text, already checked by a strict parse, and builds the JSON tree on the
// first call of json(), so a caller that reads only the Principal's typed members never pays for
// one (for an RS256 token the tree cost about a fifth of a validation). json() and find() may be
// called from many threads at once; mutable_json() and assignment, like any change, may not.
class Claims {
 public:
  Claims() = default;  // an empty object
  // NOLINTNEXTLINE(google-explicit-constructor): `principal.claims = {{"tenant", "t1"}}`
  Claims(nlohmann::json value);
  // NOLINTNEXTLINE(google-explicit-constructor): `principal.claims = {{"a", 1}, {"b", 2}}`
  Claims(nlohmann::json::initializer_list_t init) : Claims(nlohmann::json(init)) {}
  // `text` must be JSON that tessera's strict parse accepts (what the Validator checked); text
  // that is not reads as an empty object.
  static Claims from_text(std::string text);

  Claims(const Claims& other);
  Claims(Claims&& other) noexcept;
  Claims& operator=(const Claims& other);
  Claims& operator=(Claims&& other) noexcept;
  ~Claims();

  const nlohmann::json& json() const;
  // The member `name` of an object, nullptr when there is none.
  const nlohmann::json* find(std::string_view name) const;
  nlohmann::json& mutable_json();
  // The JSON text the claims are read from (the token's payload as the issuer wrote it), before
  // and after json() parsed it, and in copies; empty when they were made as a tree or changed
  // through mutable_json(). A parsed Claims holds both.
  const std::string& text() const { return text_; }

  bool operator==(const Claims& other) const { return json() == other.json(); }

 private:
  nlohmann::json* tree() const;  // parsed on first use

  // The JSON text the claims came as: kept once parsed (another thread may be reading it), empty
  // for claims made as a tree or changed.
  std::string text_;
  mutable std::atomic<nlohmann::json*> parsed_{nullptr};
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
  Claims claims;
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
