// One Grant per grant type (RFC 6749 §4), each in its own file under grants/. The token endpoint
// authenticates the client, checks it may use the grant, and hands over; nothing else knows
// which grant is running. Adding a grant adds a file and a line in make_grant_registry().
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "http/message.h"
#include "oauth/error.h"
#include "store/client_store.h"

namespace tessera::oauth {

class JwtAccessTokenIssuer;

struct TokenRequest {
  const http::Request& http;
  const http::Params& params;   // the form body, duplicates already refused
  const store::Client& client;  // authenticated, allowed this grant type
};

// RFC 6749 §5.1 successful response.
struct TokenResponse {
  std::string access_token;
  std::string token_type = "Bearer";
  int64_t expires_in = 0;
  std::optional<std::string> scope;
  std::optional<std::string> refresh_token;
};

class Grant {
 public:
  virtual ~Grant() = default;
  // The grant_type value (RFC 6749 §4.1.3, §4.4.2, ...).
  virtual std::string_view grant_type() const = 0;
  virtual Result<TokenResponse, OAuthError> exchange(const TokenRequest& request) const = 0;
};

class GrantRegistry {
 public:
  void add(std::unique_ptr<Grant> grant);
  const Grant* find(std::string_view grant_type) const;
  std::vector<std::string> grant_types() const;

 private:
  std::vector<std::unique_ptr<Grant>> grants_;
};

// What grants need from the server around them.
struct GrantContext {
  const JwtAccessTokenIssuer& access_tokens;
};

// grants/client_credentials.cpp
std::unique_ptr<Grant> make_client_credentials_grant(const GrantContext& context);

// Every grant this build offers.
GrantRegistry make_grant_registry(const GrantContext& context);

}  // namespace tessera::oauth
