#include "oauth/fapi.h"

#include <algorithm>

#include "core/json.h"

namespace tessera::oauth {

const std::vector<jose::Alg>& fapi2_algs() {
  static const std::vector<jose::Alg> algs = {jose::Alg::kPS256, jose::Alg::kES256,
                                              jose::Alg::kEdDSA, jose::Alg::kEd25519};
  return algs;
}

bool is_fapi2_alg(jose::Alg alg) {
  const auto& algs = fapi2_algs();
  return std::find(algs.begin(), algs.end(), alg) != algs.end();
}

std::vector<std::string> fapi2_alg_names() {
  std::vector<std::string> names;
  for (jose::Alg alg : fapi2_algs()) names.emplace_back(jose::to_string(alg));
  return names;
}

bool is_fapi2_auth_method(store::ClientAuthMethod method) {
  return method == store::ClientAuthMethod::kPrivateKeyJwt ||
         method == store::ClientAuthMethod::kTlsClientAuth ||
         method == store::ClientAuthMethod::kSelfSignedTlsClientAuth;
}

std::optional<OAuthError> fapi2_proof_problem(const http::Request& request) {
  auto proof = request.header("DPoP");
  if (!proof) return std::nullopt;
  // The proof has verified, so its header decodes; only the alg is read here.
  auto decoded = jose::decode_unverified(*proof);
  if (decoded) {
    auto alg = decoded->header.find("alg");
    if (alg != decoded->header.end() && alg->is_string()) {
      auto parsed = jose::alg_from_string(alg->get_ref<const std::string&>());
      if (parsed && is_fapi2_alg(*parsed)) return std::nullopt;
    }
  }
  return OAuthError::invalid_dpop_proof(
      "FAPI 2.0 (§5.4.1) allows DPoP proofs signed with PS256, ES256 or EdDSA only");
}

}  // namespace tessera::oauth
