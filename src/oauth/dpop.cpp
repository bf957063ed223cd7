#include "oauth/dpop.h"

#include "resource/http_server.h"

namespace tessera::oauth {
namespace {

resource::DpopOptions verifier_options(const DpopServerOptions& options, const Clock& clock) {
  resource::DpopOptions out;
  out.algorithms = options.algorithms;
  out.max_age_seconds = options.max_age_seconds;
  out.nonces = options.nonces;
  out.now = [&clock] { return clock.now(); };
  return out;
}

}  // namespace

DpopProofs::DpopProofs(const DpopServerOptions& options, std::string token_url, const Clock& clock)
    : verifier_(verifier_options(options, clock)), token_url_(std::move(token_url)) {}

std::string DpopProofs::current_nonce() const {
  const resource::DpopNonces* nonces = verifier_.nonces();
  return nonces != nullptr ? nonces->current() : std::string();
}

Result<std::optional<std::string>, OAuthError> DpopProofs::proof_key(const http::Request& request,
                                                                     std::string_view url) const {
  resource::DpopRequest proof;
  proof.proofs = resource::dpop_fields(request);
  if (proof.proofs.empty()) return std::optional<std::string>();
  // §5, §10.1: htm POST and htu the endpoint; no access token yet, so no ath.
  proof.method = request.method();
  proof.url = url;
  resource::DpopVerification verified = verifier_.verify(proof);
  if (verified.ok()) return std::optional<std::string>(std::move(verified.proof->jkt));
  if (verified.error.failure == resource::DpopFailure::kNonce) {
    return Err(OAuthError::use_dpop_nonce(verified.error.description, current_nonce()));
  }
  return Err(OAuthError::invalid_dpop_proof(verified.error.description));
}

}  // namespace tessera::oauth
