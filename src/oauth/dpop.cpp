#include "oauth/dpop.h"

#include "core/json.h"
#include "jose/jose.h"
#include "resource/http_server.h"

namespace tessera::oauth {
namespace {

resource::DpopOptions verifier_options(const DpopServerOptions& options, const Clock& clock) {
  resource::DpopOptions out;
  out.algorithms = options.algorithms;
  out.max_age_seconds = options.max_age_seconds;
  out.nonces = options.nonces;
  out.shared_replay = options.shared_replay;
  out.now = [&clock] { return clock.now(); };
  return out;
}

}  // namespace

std::string_view proof_url(const http::Request& request, const EndpointUrls& urls) {
  if (urls.size() < 2) return urls.empty() ? std::string_view() : std::string_view(urls.front());
  // Read before the signature check only to pick which of this server's own URLs to check the
  // proof against; the verifier then checks it as it would with one URL.
  auto field = request.header("DPoP");
  if (!field) return urls.front();
  auto unverified = jose::decode_unverified(*field);
  if (!unverified) return urls.front();
  auto claims = json::parse_strict(unverified->payload);
  if (!claims || !claims->is_object()) return urls.front();
  auto htu = claims->find("htu");
  if (htu == claims->end() || !htu->is_string()) return urls.front();
  auto named = resource::normalize_htu(htu->get_ref<const std::string&>());
  for (const std::string& url : urls) {
    if (named && resource::normalize_htu(url) == named) return url;
  }
  return urls.front();
}

DpopProofs::DpopProofs(const DpopServerOptions& options, EndpointUrls token_urls,
                       const Clock& clock)
    : verifier_(verifier_options(options, clock)), token_urls_(std::move(token_urls)) {}

std::string DpopProofs::current_nonce() const {
  const resource::DpopNonces* nonces = verifier_.nonces();
  return nonces != nullptr ? nonces->current() : std::string();
}

Result<std::optional<std::string>, OAuthError> DpopProofs::proof_key(
    const http::Request& request, const EndpointUrls& urls) const {
  resource::DpopRequest proof;
  proof.proofs = resource::dpop_fields(request);
  if (proof.proofs.empty()) return std::optional<std::string>();
  // §5, §10.1: htm POST and htu the endpoint; no access token yet, so no ath.
  proof.method = request.method();
  proof.url = proof_url(request, urls);
  resource::DpopVerification verified = verifier_.verify(proof);
  if (verified.ok()) return std::optional<std::string>(std::move(verified.proof->jkt));
  if (verified.error.failure == resource::DpopFailure::kNonce) {
    return Err(OAuthError::use_dpop_nonce(verified.error.description, current_nonce()));
  }
  if (verified.error.failure == resource::DpopFailure::kUnavailable) {
    return Err(OAuthError::temporarily_unavailable(verified.error.description));
  }
  return Err(OAuthError::invalid_dpop_proof(verified.error.description));
}

}  // namespace tessera::oauth
