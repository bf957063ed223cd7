#include "tessera/challenge.h"

#include <algorithm>

#include "core/space_list.h"
#include "http/bearer.h"

namespace tessera::resource {
namespace {

std::string error_body(std::string_view error, std::string_view description) {
  nlohmann::json body = {{"error", error}};
  if (!description.empty()) body["error_description"] = description;
  return body.dump();
}

Challenge with_error(int status, std::string_view realm, std::string_view error,
                     std::string_view description, std::optional<std::string_view> scope = {}) {
  return Challenge{status, http::bearer_challenge(realm, error, description, scope),
                   error_body(error, description)};
}

}  // namespace

Challenge missing_token(std::string_view realm) {
  return Challenge{401, http::bearer_challenge(realm, std::nullopt, std::nullopt, std::nullopt),
                   "{}"};
}

Challenge invalid_request(std::string_view realm, std::string_view description) {
  return with_error(400, realm, http::kInvalidRequest, description);
}

Challenge invalid_token(std::string_view realm, std::string_view description) {
  return with_error(401, realm, http::kInvalidToken, description);
}

Challenge temporarily_unavailable(std::string_view description) {
  nlohmann::json body = {{"error", "temporarily_unavailable"}, {"error_description", description}};
  return Challenge{503, std::string(), body.dump()};
}

Challenge insufficient_scope(std::string_view realm, const std::vector<std::string>& scopes) {
  const std::string scope = join_space_list(scopes);
  return with_error(403, realm, http::kInsufficientScope,
                    "the access token does not carry the scope this resource needs", scope);
}

Challenge insufficient_user_authentication(std::string_view realm, std::string_view description,
                                           const std::vector<std::string>& acr_values,
                                           std::optional<int64_t> max_age) {
  constexpr std::string_view kError = "insufficient_user_authentication";
  Challenge c = with_error(401, realm, kError, description);
  if (!acr_values.empty()) {
    http::append_challenge_param(c.www_authenticate, "acr_values", join_space_list(acr_values));
  }
  if (max_age) {
    http::append_challenge_param(c.www_authenticate, "max_age", std::to_string(*max_age));
  }
  return c;
}

std::optional<Challenge> require_scope(const Principal& principal, std::string_view realm,
                                       const std::vector<std::string>& scopes, ScopeMatch match) {
  if (scopes.empty()) return std::nullopt;
  const bool ok = match == ScopeMatch::kAll ? principal.has_all_scopes(scopes)
                                            : principal.has_any_scope(scopes);
  if (ok) return std::nullopt;
  return insufficient_scope(realm, scopes);
}

std::optional<Challenge> require_authentication(const Principal& principal, std::string_view realm,
                                                const std::vector<std::string>& acr_values,
                                                std::optional<int64_t> max_age, int64_t now) {
  if (!acr_values.empty() &&
      std::find(acr_values.begin(), acr_values.end(), principal.acr) == acr_values.end()) {
    return insufficient_user_authentication(realm, "a stronger authentication level is required",
                                            acr_values, max_age);
  }
  if (max_age && (!principal.auth_time || now - *principal.auth_time > *max_age)) {
    return insufficient_user_authentication(realm, "a more recent authentication is required",
                                            acr_values, max_age);
  }
  return std::nullopt;
}

}  // namespace tessera::resource
