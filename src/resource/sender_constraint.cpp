#include "tessera/sender_constraint.h"

#include <algorithm>

#include "core/base64url.h"
#include "core/crypto.h"
#include "http/bearer.h"
#include "http/message.h"

namespace tessera::resource {

std::optional<ValidationError> access_token(std::optional<std::string_view> authorization,
                                            std::string& token, TokenScheme& scheme) {
  if (!authorization) return ValidationError{Failure::kMissing, "no access token"};
  for (auto [name, value] :
       {std::pair{"Bearer", TokenScheme::kBearer}, std::pair{"DPoP", TokenScheme::kDpop}}) {
    auto credential = http::scheme_credential(*authorization, name);
    if (!credential) return ValidationError{Failure::kInvalidRequest, credential.error()};
    if (*credential) {
      token = std::move(**credential);
      scheme = value;
      return std::nullopt;
    }
  }
  return ValidationError{Failure::kMissing, "no Bearer or DPoP access token"};
}

std::optional<Challenge> require_binding(const Principal& principal, const Presentation& p,
                                         const DpopVerifier* dpop, std::string_view realm) {
  static const std::vector<std::string> kNoAlgs;
  const std::vector<std::string>& algs = dpop ? dpop->algorithms() : kNoAlgs;
  if (!principal.dpop_jkt.empty()) {
    // RFC 9449 §7.2: a DPoP-bound token sent as a bearer token is refused.
    if (p.scheme != TokenScheme::kDpop) {
      return dpop_invalid_token(realm, "this access token is DPoP-bound: use the DPoP scheme",
                                algs);
    }
    if (dpop == nullptr) {
      return dpop_invalid_token(realm, "DPoP-bound access tokens are not accepted here", algs);
    }
    DpopRequest request{p.dpop_proofs, p.method, p.url, p.token, principal.dpop_jkt, {}};
    auto verified = dpop->verify(request);
    if (!verified.ok()) return dpop_challenge_for(realm, verified.error, algs);
  } else if (p.scheme == TokenScheme::kDpop) {
    return dpop_invalid_token(realm, "this access token is not DPoP-bound", algs);
  }
  if (!principal.certificate_thumbprint.empty()) {
    // RFC 8705 §3: the token is used only with the certificate it was issued for.
    const std::string presented = p.client_certificate_der.empty()
                                      ? std::string()
                                      : base64url::encode(crypto::sha256(p.client_certificate_der));
    if (presented.empty() || !crypto::equal_ct(presented, principal.certificate_thumbprint)) {
      return invalid_token(realm,
                           "this access token is bound to a client certificate this connection "
                           "did not present (RFC 8705 section 3)");
    }
  }
  return std::nullopt;
}

namespace {

// RFC 3986 §3.3-3.4: pchar (unreserved, pct-encoded, sub-delims, ":", "@"), and the "/" and "?"
// of a path and a query.
bool target_char(char c) {
  static constexpr std::string_view kOther = "-._~%!$&'()*+,;=:@/?";
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         kOther.find(c) != std::string_view::npos;
}

}  // namespace

std::optional<std::string> target_uri(std::string_view scheme, std::string_view host,
                                      std::string_view request_target) {
  if (scheme != "http" && scheme != "https") return std::nullopt;
  if (!http::valid_authority(host)) return std::nullopt;
  if (request_target.empty() || request_target.front() != '/' ||
      !std::all_of(request_target.begin(), request_target.end(), target_char)) {
    return std::nullopt;
  }
  std::string url(scheme);
  url += "://";
  url += host;
  url += request_target;
  return url;
}

std::optional<std::string> forwarded_url(std::string_view proto, std::string_view host,
                                         std::string_view uri,
                                         const std::vector<std::string>& trusted_origins) {
  auto url = target_uri(proto, host, uri);
  if (!url) return std::nullopt;
  const auto origin = normalize_htu(std::string(proto) + "://" + std::string(host) + "/");
  if (!origin) return std::nullopt;
  const bool trusted =
      std::any_of(trusted_origins.begin(), trusted_origins.end(), [&](const std::string& o) {
        return normalize_htu(o.ends_with('/') ? o : o + "/") == origin;
      });
  if (!trusted) return std::nullopt;
  return url;
}

}  // namespace tessera::resource
