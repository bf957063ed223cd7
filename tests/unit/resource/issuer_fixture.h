// A fake authorization server for the resource SDK's tests, over real HTTP: an in-process
// http::Server on 127.0.0.1 (ephemeral port) publishing RFC 8414 metadata, a JWKS and an RFC 7662
// introspection endpoint behind client_secret_basic, counting the requests each path receives so
// tests can assert how often a validator talks to its issuer.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "core/base64url.h"
#include "core/crypto.h"
#include "http/access_log.h"
#include "http/message.h"
#include "http/router.h"
#include "http/server.h"
#include "jose/jose.h"

namespace tessera::resource::test {

class FakeIssuer {
 public:
  // What the handlers read, shared with them (they run on the server's io threads).
  struct State {
    std::mutex mu;
    std::string url;                                  // http://127.0.0.1:PORT
    std::optional<std::string> issuer;                // the metadata's "issuer"; unset: url
    bool publish_introspection = true;                // "introspection_endpoint" in the metadata
    jose::Jwks jwks;                                  // published keys (public parts only)
    std::map<std::string, jose::Json> introspection;  // token -> active response
    std::map<std::string, std::string> introspection_text;  // token -> the answer's exact text
    std::string client_id = "resource-api";
    std::string client_secret = "s3cret";
    std::string last_introspected_token;
    // RFC 9701: with a key, a request that accepts application/token-introspection+jwt gets the
    // answer signed (iss, aud = the client, iat = signed_iat, token_introspection).
    std::optional<jose::Jwk> introspection_signing_key;
    int64_t signed_iat = 0;

    std::atomic<int> metadata_requests{0};
    std::atomic<int> jwks_requests{0};
    std::atomic<int> introspection_requests{0};
    std::atomic<int> introspection_auth_failures{0};
  };

  FakeIssuer() : state_(std::make_shared<State>()) {
    http::ServerOptions options;
    options.address = "127.0.0.1";
    options.port = 0;
    options.io_threads = 2;
    options.builtin_routes = false;
    options.access_log = std::make_shared<http::NullAccessLog>();
    server_ = std::make_unique<http::Server>(std::move(options), router(state_));
    auto started = server_->start();
    if (!started) throw std::runtime_error("fake issuer: " + started.error());
    server_->set_ready(true);
    port_ = server_->port();
    std::lock_guard lock(state_->mu);
    state_->url = "http://127.0.0.1:" + std::to_string(port_);
  }
  ~FakeIssuer() { stop(); }
  FakeIssuer(const FakeIssuer&) = delete;
  FakeIssuer& operator=(const FakeIssuer&) = delete;

  // Stops serving: the port then refuses connections (an issuer that is down).
  void stop() {
    if (server_) server_->stop();
    server_.reset();
  }

  uint16_t port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string jwks_uri() const { return url() + "/jwks"; }
  std::string introspection_endpoint() const { return url() + "/introspect"; }
  std::string client_id() const {
    std::lock_guard lock(state_->mu);
    return state_->client_id;
  }
  std::string client_secret() const {
    std::lock_guard lock(state_->mu);
    return state_->client_secret;
  }
  void set_client_credentials(std::string id, std::string secret) {
    std::lock_guard lock(state_->mu);
    state_->client_id = std::move(id);
    state_->client_secret = std::move(secret);
  }

  // Publishes `key`'s public part (it keeps its kid and alg).
  void publish(const jose::Jwk& key) {
    std::lock_guard lock(state_->mu);
    state_->jwks.add(key.public_key());
  }
  // Replaces the published set by `key` alone (a rotation that retires the old keys).
  void publish_only(const jose::Jwk& key) {
    std::lock_guard lock(state_->mu);
    state_->jwks = jose::Jwks();
    state_->jwks.add(key.public_key());
  }
  void set_metadata_issuer(std::string issuer) {
    std::lock_guard lock(state_->mu);
    state_->issuer = std::move(issuer);
  }
  // The active introspection response for `token` (RFC 7662 §2.2); unknown tokens are inactive.
  void set_active(const std::string& token, jose::Json response) {
    response["active"] = true;
    std::lock_guard lock(state_->mu);
    state_->introspection[token] = std::move(response);
  }
  // The introspection answer for `token` as this exact JSON text (as another issuer may write it).
  void set_answer_text(const std::string& token, std::string text) {
    std::lock_guard lock(state_->mu);
    state_->introspection_text[token] = std::move(text);
  }
  // Revoked (or never issued): introspection answers active: false from now on.
  void set_inactive(const std::string& token) {
    std::lock_guard lock(state_->mu);
    state_->introspection.erase(token);
  }
  // RFC 9701: answer requests for the signed form with JWTs signed by `key`, iat `iat`.
  void sign_introspection(const jose::Jwk& key, int64_t iat) {
    std::lock_guard lock(state_->mu);
    state_->introspection_signing_key = key;
    state_->signed_iat = iat;
  }
  std::string last_introspected_token() const {
    std::lock_guard lock(state_->mu);
    return state_->last_introspected_token;
  }

  int metadata_requests() const { return state_->metadata_requests.load(); }
  int jwks_requests() const { return state_->jwks_requests.load(); }
  int introspection_requests() const { return state_->introspection_requests.load(); }
  int introspection_auth_failures() const { return state_->introspection_auth_failures.load(); }

 private:
  // RFC 6749 §2.3.1: client_secret_basic, the id and secret form-urlencoded before base64.
  static bool authenticated(const http::Request& request, State& state) {
    const auto authorization = request.header("Authorization");
    if (!authorization || authorization->size() < 6 ||
        !http::iequals(authorization->substr(0, 6), "Basic ")) {
      return false;
    }
    const auto decoded = base64::decode(authorization->substr(6));
    if (!decoded) return false;
    const size_t colon = decoded->find(':');
    if (colon == std::string::npos) return false;
    auto id = http::percent_decode(std::string_view(*decoded).substr(0, colon), true);
    auto secret = http::percent_decode(std::string_view(*decoded).substr(colon + 1), true);
    if (!id || !secret) return false;
    std::lock_guard lock(state.mu);
    return crypto::equal_ct(*id, state.client_id) && crypto::equal_ct(*secret, state.client_secret);
  }

  static http::Router router(const std::shared_ptr<State>& state) {
    http::Router r;
    // RFC 8414 §3: the metadata of the issuer at the root of its URL.
    r.get("/.well-known/oauth-authorization-server", [state](const http::Request&) {
      state->metadata_requests.fetch_add(1);
      std::lock_guard lock(state->mu);
      jose::Json metadata = {{"issuer", state->issuer.value_or(state->url)},
                             {"jwks_uri", state->url + "/jwks"},
                             {"token_endpoint", state->url + "/token"}};
      if (state->publish_introspection) {
        metadata["introspection_endpoint"] = state->url + "/introspect";
      }
      return http::Response::json(200, metadata);
    });
    r.get("/jwks", [state](const http::Request&) {
      state->jwks_requests.fetch_add(1);
      std::lock_guard lock(state->mu);
      return http::Response::json(200, state->jwks.to_json(false));
    });
    // RFC 7662 §2: POST token=...; the caller authenticates as a client.
    r.post("/introspect", [state](const http::Request& request) {
      state->introspection_requests.fetch_add(1);
      if (!authenticated(request, *state)) {
        state->introspection_auth_failures.fetch_add(1);
        http::Response denied = http::Response::error(401, "invalid_client", "bad credentials");
        denied.headers.set("WWW-Authenticate", "Basic realm=\"introspection\"");
        return denied;
      }
      auto form = request.form();
      if (!form || !form->get("token")) {
        return http::Response::error(400, "invalid_request", "token is required");
      }
      const std::string token(*form->get("token"));
      std::lock_guard lock(state->mu);
      state->last_introspected_token = token;
      if (auto text = state->introspection_text.find(token);
          text != state->introspection_text.end()) {
        return http::Response::text(200, text->second, "application/json");
      }
      const auto found = state->introspection.find(token);
      const jose::Json answer =
          found == state->introspection.end() ? jose::Json{{"active", false}} : found->second;
      const bool wants_jwt = request.header("Accept").value_or("").find(
                                 "application/token-introspection+jwt") != std::string_view::npos;
      if (wants_jwt && state->introspection_signing_key) {
        const jose::Json claims = {{"iss", state->issuer.value_or(state->url)},
                                   {"aud", state->client_id},
                                   {"iat", state->signed_iat},
                                   {"token_introspection", answer}};
        jose::SignOptions options;
        options.typ = "token-introspection+jwt";  // RFC 9701 §5
        auto jwt = jose::sign(claims.dump(), *state->introspection_signing_key,
                              *state->introspection_signing_key->alg(), options);
        if (!jwt) return http::Response::error(500, "server_error", "signing failed");
        return http::Response::text(200, *jwt, "application/token-introspection+jwt");
      }
      return http::Response::json(200, answer);
    });
    return r;
  }

  std::shared_ptr<State> state_;
  std::unique_ptr<http::Server> server_;
  uint16_t port_ = 0;
};

// A key for `alg` with a kid (and the alg pinned, RFC 8725 §3.1), or an exception.
inline jose::Jwk make_key(jose::Alg alg, std::string kid) {
  auto key = jose::Jwk::generate(alg);
  if (!key)
    throw std::runtime_error(std::string("key generation: ") + jose::to_string(key.error()));
  return key->with_kid(std::move(kid)).with_alg(alg);
}

// A compact JWS over `payload`, typ at+jwt unless told otherwise (RFC 9068 §2.1).
inline std::string sign_token(const jose::Json& payload, const jose::Jwk& key, jose::Alg alg,
                              std::optional<std::string> typ = std::string("at+jwt")) {
  jose::SignOptions options;
  options.typ = std::move(typ);
  auto signed_token = jose::sign(payload.dump(), key, alg, options);
  if (!signed_token) {
    throw std::runtime_error(std::string("sign: ") + jose::to_string(signed_token.error()));
  }
  return *signed_token;
}

// A port with nothing listening (bound once, then closed: the kernel hands it out only again
// after many others).
inline uint16_t closed_port() {
  http::ServerOptions options;
  options.address = "127.0.0.1";
  options.port = 0;
  options.io_threads = 1;
  options.builtin_routes = false;
  options.access_log = std::make_shared<http::NullAccessLog>();
  http::Server server(std::move(options), http::Router());
  auto started = server.start();
  if (!started) throw std::runtime_error("closed_port: " + started.error());
  const uint16_t port = server.port();
  server.stop();
  return port;
}

}  // namespace tessera::resource::test
