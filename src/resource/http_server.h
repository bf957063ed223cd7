// The SDK on Tessera's own HTTP server (src/http): for the gateway and the example APIs. Not part
// of the installed SDK, whose users bring their own HTTP framework.
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/message.h"
#include "tessera/challenge.h"
#include "tessera/dpop.h"
#include "tessera/sender_constraint.h"
#include "tessera/validator.h"

namespace tessera::resource {

// RFC 6750 §3: the status, the WWW-Authenticate field and the JSON body; never cached.
inline http::Response to_response(const Challenge& c) {
  http::Response r(c.status);
  r.body = c.body;
  r.headers.set("Content-Type", "application/json");
  r.headers.set("Cache-Control", "no-store");
  if (!c.www_authenticate.empty()) r.headers.set("WWW-Authenticate", c.www_authenticate);
  if (c.status == 503) r.headers.set("Retry-After", "1");  // RFC 9110 §10.2.3
  return r;
}

// Who calls, or the answer that refuses the request.
struct RequestAuthentication {
  std::shared_ptr<const Principal> principal;  // set when the request may go on
  std::optional<http::Response> refusal;       // set otherwise
  // RFC 9449 §9: the server nonce for the DPoP-Nonce field of the answer to a request that used
  // DPoP, when the verifier requires nonces (a refusal carries it already).
  std::optional<std::string> dpop_nonce = std::nullopt;
};

// The fields a reverse proxy in front of an API asserts the client's URL with (the gateway sets
// them and drops any a client sent); tessera/sender_constraint.h forwarded_url.
inline constexpr std::array<std::string_view, 3> kForwardedUrlFields = {
    "X-Forwarded-Proto", "X-Forwarded-Host", "X-Forwarded-Uri"};

// The URL the client called (RFC 9449 §4.3 item 9: what htu is compared with), nullopt when it
// cannot be told. With `trusted_origins` (an API behind the gateway: the gateway's origins), a
// request that carries any of kForwardedUrlFields must carry each once, naming a URL of one of
// those origins (forwarded_url). Otherwise, RFC 9112 §3.3: the connection's scheme, the Host
// field and the request-target (target_uri).
inline std::optional<std::string> called_url(const http::Request& request,
                                             const std::vector<std::string>& trusted_origins) {
  if (!trusted_origins.empty()) {
    std::array<std::string_view, kForwardedUrlFields.size()> values;
    size_t present = 0;
    for (size_t i = 0; i < values.size(); ++i) {
      const size_t n = request.headers().count(kForwardedUrlFields[i]);
      if (n > 1) return std::nullopt;
      if (n == 1) {
        values[i] = *request.header(kForwardedUrlFields[i]);
        ++present;
      }
    }
    if (present == values.size()) {
      return forwarded_url(values[0], values[1], values[2], trusted_origins);
    }
    if (present != 0) return std::nullopt;
  }
  const auto host = request.headers().count("Host") == 1 ? request.header("Host") : std::nullopt;
  if (!host) return std::nullopt;
  return target_uri(request.tls().secure ? "https" : "http", *host, request.target());
}

// Every DPoP field value of `request`, in order (RFC 9449 §4.3 item 1 refuses more than one).
inline std::vector<std::string_view> dpop_fields(const http::Request& request) {
  std::vector<std::string_view> out;
  for (const auto& [name, value] : request.headers()) {
    if (http::iequals(name, "DPoP")) out.emplace_back(value);
  }
  return out;
}

// How `request` presented `token` under `scheme`, for require_binding: its DPoP proofs, method,
// client certificate, and `url`, what a proof's htu is compared with. Views into `request`,
// `token` and `url`, which must outlive it.
inline Presentation presentation_of(const http::Request& request, TokenScheme scheme,
                                    std::string_view token, std::string_view url) {
  Presentation presented;
  presented.scheme = scheme;
  presented.token = token;
  presented.dpop_proofs = dpop_fields(request);
  presented.method = request.method();
  presented.url = url;
  if (const http::ClientCertificate* cert = request.client_certificate()) {
    presented.client_certificate_der = cert->der;
  }
  return presented;
}

// The access token of `request` (RFC 6750 §2.1 Bearer or RFC 9449 §7.1 DPoP; exactly one
// Authorization field) through `authenticator`, then its sender constraint (DPoP proof with
// `dpop`, RFC 8705 client certificate; tessera/sender_constraint.h), then the scopes (RFC 6750
// §3.1 insufficient_scope). `cached`: the principal a caller already found for the request's
// token in the authenticator's claims cache (the validation is then skipped; the rest is not).
// `forwarded_origins`: the origins of a gateway in front, whose X-Forwarded-* fields name the
// URL a proof's htu is compared with (called_url); empty at the edge.
inline RequestAuthentication authenticate_request(
    const Authenticator& authenticator, std::string_view realm, const http::Request& request,
    const std::vector<std::string>& scopes, ScopeMatch match = ScopeMatch::kAll,
    const DpopVerifier* dpop = nullptr, std::shared_ptr<const Principal> cached = nullptr,
    const std::vector<std::string>& forwarded_origins = {}) {
  if (request.headers().count("Authorization") > 1) {
    return {nullptr, to_response(invalid_request(realm, "repeated Authorization header"))};
  }
  std::string token;
  TokenScheme scheme = TokenScheme::kBearer;
  const DpopNonces* nonces = dpop != nullptr ? dpop->nonces() : nullptr;
  // RFC 9449 §9: a refusal that concerns DPoP tells the client the nonce to use next.
  auto refuse_with_nonce = [nonces](const Challenge& c) -> RequestAuthentication {
    http::Response r = to_response(c);
    if (nonces != nullptr) r.headers.set("DPoP-Nonce", nonces->current());
    return {nullptr, std::move(r), std::nullopt};
  };
  if (auto e = access_token(request.header("Authorization"), token, scheme)) {
    // No token: with a DPoP verifier, both schemes are accepted here, and both are named.
    if (e->failure == Failure::kMissing && dpop != nullptr) {
      return refuse_with_nonce(bearer_or_dpop_missing_token(realm, dpop->algorithms()));
    }
    return {nullptr, to_response(challenge_for(realm, *e))};
  }
  Validation v =
      cached != nullptr ? Validation{std::move(cached), {}} : authenticator.authenticate(token);
  if (!v.ok()) return {nullptr, to_response(challenge_for(realm, v.error))};
  // The proof list, the URL and the certificate matter only to a bound token or the DPoP scheme;
  // a plain bearer token (the hot path) skips building them.
  const Principal& principal = *v.principal;
  if (scheme == TokenScheme::kDpop || !principal.dpop_jkt.empty() ||
      !principal.certificate_thumbprint.empty()) {
    const std::optional<std::string> url = called_url(request, forwarded_origins);
    if (!url) {
      return {nullptr, to_response(invalid_request(
                           realm, forwarded_origins.empty()
                                      ? "the Host field and the request-target name no URL"
                                      : "the Host field and the request-target name no URL, or "
                                        "X-Forwarded-Proto, -Host and -Uri do not name one of a "
                                        "trusted origin, once each"))};
    }
    const Presentation presented = presentation_of(request, scheme, token, *url);
    if (auto c = require_binding(principal, presented, dpop, realm)) {
      return scheme == TokenScheme::kDpop ? refuse_with_nonce(*c)
                                          : RequestAuthentication{nullptr, to_response(*c)};
    }
  }
  if (auto c = require_scope(*v.principal, realm, scopes, match)) return {nullptr, to_response(*c)};
  std::optional<std::string> next_nonce;
  if (scheme == TokenScheme::kDpop && nonces != nullptr) next_nonce = nonces->current();
  return {v.principal, std::nullopt, std::move(next_nonce)};
}

}  // namespace tessera::resource
