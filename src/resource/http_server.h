// The SDK on Tessera's own HTTP server (src/http): for the gateway and the example APIs. Not part
// of the installed SDK, whose users bring their own HTTP framework.
#pragma once

#include <array>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/message.h"
#include "tessera/challenge.h"
#include "tessera/dpop.h"
#include "tessera/message_signature.h"
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

// The gateway in front of an API, as the API trusts it.
struct GatewayTrust {
  // Its origins as clients call them ("https://gw.example.com"); empty: no gateway, the API is
  // called directly and X-Forwarded-* fields are not read.
  std::vector<std::string> origins = {};
  // The keys it signs its requests with (RFC 9421 hmac-sha256, gateway.upstream_signature). With
  // keys, X-Forwarded-* fields count only under the gateway's valid signature; without, they are
  // trusted as they come.
  std::vector<HmacKey> keys = {};
  int64_t max_age_seconds = 60;       // how old a signature's `created` may be (RFC 9421 §7.2.4)
  std::function<int64_t()> now = {};  // Unix seconds; empty: the system clock
};

// The request as RFC 9421 derives its components. Views into `request`.
inline SignedMessage signed_message(const http::Request& request) {
  SignedMessage m;
  m.method = request.method();
  m.scheme = request.tls().secure ? "https" : "http";
  m.authority = request.header("Host").value_or("");
  m.target = request.target();
  for (const auto& [name, value] : request.headers()) m.fields.emplace_back(name, value);
  return m;
}

// A field's lines joined with ", " (RFC 9110 §5.3); empty when there is none.
inline std::string combined_field(const http::Request& request, std::string_view name) {
  std::string out;
  for (const auto& [field, value] : request.headers()) {
    if (!http::iequals(field, name)) continue;
    if (!out.empty()) out += ", ";
    out += value;
  }
  return out;
}

// The gateway's signature on `request` (RFC 9421 §3.2), which must cover `required` besides the
// request's method, authority, path and query. An API that reads the claim headers of a route
// (gateway.md) checks them this way.
inline SignatureCheck gateway_signature(const http::Request& request, const GatewayTrust& trust,
                                        const std::vector<std::string>& required) {
  SignaturePolicy policy;
  policy.label = kGatewaySignatureLabel;
  policy.tag = kGatewaySignatureTag;
  policy.required = {"@method", "@authority", "@path", "@query"};
  policy.required.insert(policy.required.end(), required.begin(), required.end());
  policy.keys = trust.keys;
  policy.max_age_seconds = trust.max_age_seconds;
  const int64_t now = trust.now ? trust.now()
                                : std::chrono::duration_cast<std::chrono::seconds>(
                                      std::chrono::system_clock::now().time_since_epoch())
                                      .count();
  return verify_hmac_sha256(signed_message(request), combined_field(request, "Signature-Input"),
                            combined_field(request, "Signature"), policy, now);
}

// The URL the client called (RFC 9449 §4.3 item 9: what htu is compared with), nullopt when it
// cannot be told. With `gateway.origins` (an API behind the gateway), a request that carries any
// of kForwardedUrlFields must carry each once, naming a URL of one of those origins
// (forwarded_url), and with `gateway.keys` under the gateway's valid signature covering them.
// Otherwise, RFC 9112 §3.3: the connection's scheme, the Host field and the request-target
// (target_uri).
inline std::optional<std::string> called_url(const http::Request& request,
                                             const GatewayTrust& gateway) {
  const std::vector<std::string>& trusted_origins = gateway.origins;
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
      if (!gateway.keys.empty() &&
          !gateway_signature(request, gateway,
                             {"x-forwarded-proto", "x-forwarded-host", "x-forwarded-uri"})
               .valid) {
        return std::nullopt;
      }
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

// What a caller (the gateway) already took from a request before authenticate_request: the
// access token of its one Authorization field (access_token), the scheme, and the principal the
// authenticator's claims cache holds for the token, if it holds one. Trusted as it is: fill it
// only from access_token() on the same request and from the same authenticator's cache.
struct CachedToken {
  std::string token;
  TokenScheme scheme = TokenScheme::kBearer;
  std::shared_ptr<const Principal> principal;
};

// The access token of `request` (RFC 6750 §2.1 Bearer or RFC 9449 §7.1 DPoP; exactly one
// Authorization field) through `authenticator`, then its sender constraint (DPoP proof with
// `dpop`, RFC 8705 client certificate; tessera/sender_constraint.h), then the scopes (RFC 6750
// §3.1 insufficient_scope). `cached`: the request's token, when taken out already (the
// Authorization field is not read again), and the principal found for it in the authenticator's
// claims cache (the validation is then skipped; the rest is not).
// `gateway`: the gateway in front, whose X-Forwarded-* fields name the URL a proof's htu is
// compared with (called_url), under its signature when it has keys; none at the edge.
inline RequestAuthentication authenticate_request(
    const Authenticator& authenticator, std::string_view realm, const http::Request& request,
    const std::vector<std::string>& scopes, ScopeMatch match = ScopeMatch::kAll,
    const DpopVerifier* dpop = nullptr, CachedToken cached = {}, const GatewayTrust& gateway = {}) {
  if (request.headers().count("Authorization") > 1) {
    return {nullptr, to_response(invalid_request(realm, "repeated Authorization header"))};
  }
  std::string token = std::move(cached.token);
  TokenScheme scheme = cached.scheme;
  const DpopNonces* nonces = dpop != nullptr ? dpop->nonces() : nullptr;
  // RFC 9449 §9: a refusal that concerns DPoP tells the client the nonce to use next.
  auto refuse_with_nonce = [nonces](const Challenge& c) -> RequestAuthentication {
    http::Response r = to_response(c);
    if (nonces != nullptr) r.headers.set("DPoP-Nonce", nonces->current());
    return {nullptr, std::move(r), std::nullopt};
  };
  if (!token.empty()) {
    // Taken out by the caller (access_token): a b64token of the Bearer or DPoP scheme.
  } else if (auto e = access_token(request.header("Authorization"), token, scheme)) {
    // No token: with a DPoP verifier, both schemes are accepted here, and both are named.
    if (e->failure == Failure::kMissing && dpop != nullptr) {
      return refuse_with_nonce(bearer_or_dpop_missing_token(realm, dpop->algorithms()));
    }
    return {nullptr, to_response(challenge_for(realm, *e))};
  }
  Validation v = cached.principal != nullptr ? Validation{std::move(cached.principal), {}}
                                             : authenticator.authenticate(token);
  if (!v.ok()) return {nullptr, to_response(challenge_for(realm, v.error))};
  // The proof list, the URL and the certificate matter only to a bound token or the DPoP scheme;
  // a plain bearer token (the hot path) skips building them.
  const Principal& principal = *v.principal;
  if (scheme == TokenScheme::kDpop || !principal.dpop_jkt.empty() ||
      !principal.certificate_thumbprint.empty()) {
    const std::optional<std::string> url = called_url(request, gateway);
    if (!url) {
      return {nullptr, to_response(invalid_request(
                           realm, gateway.origins.empty()
                                      ? "the Host field and the request-target name no URL"
                                      : "the Host field and the request-target name no URL, or "
                                        "X-Forwarded-Proto, -Host and -Uri do not name one of a "
                                        "trusted origin, once each, under the gateway's "
                                        "signature when it signs"))};
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
