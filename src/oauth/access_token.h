// JWT access tokens (RFC 9068). Issuing one is a signature over claims held in memory: no store
// access, so client credentials scale with the CPU.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "oauth/error.h"
#include "oauth/keys.h"

namespace tessera::oauth {

struct AccessTokenGrant {
  std::string subject;  // RFC 9068 §2.2: the client_id when no user is involved
  std::string client_id;
  std::vector<std::string> audiences;  // at least one
  std::vector<std::string> scopes;
  int64_t lifetime = 300;  // seconds
};

struct IssuedAccessToken {
  std::string token;
  int64_t expires_in;
};

class JwtAccessTokenIssuer {
 public:
  JwtAccessTokenIssuer(std::string issuer, const SigningKeys& keys, const Clock& clock);
  Result<IssuedAccessToken, OAuthError> issue(const AccessTokenGrant& grant) const;

 private:
  std::string issuer_;
  const SigningKeys& keys_;
  const Clock& clock_;
};

}  // namespace tessera::oauth
