// Client authentication at the token endpoint (RFC 6749 §2.3): client_secret_basic,
// client_secret_post, and none for public clients. private_key_jwt (RFC 7523) comes next.
#pragma once

#include <memory>

#include "core/result.h"
#include "http/message.h"
#include "oauth/client_cache.h"
#include "oauth/error.h"
#include "store/client_store.h"

namespace tessera::oauth {

struct AuthenticatedClient {
  std::shared_ptr<const store::Client> client;
  store::ClientAuthMethod method;
};

// Identifies and authenticates the client of `request` (form body already parsed into `form`).
// RFC 6749 §2.3: exactly one method per request, else invalid_request. Unknown client, wrong
// secret, a secret for a public client or none for a confidential one: invalid_client (401,
// RFC 6749 §5.2). Basic and post are interchangeable for a confidential client.
Result<AuthenticatedClient, OAuthError> authenticate_client(const http::Request& request,
                                                            const http::Params& form,
                                                            ClientCache& clients);

// The secret check: one SHA-256 and a constant-time compare (secrets have 256 bits of entropy,
// so a slow hash adds nothing; see store/client_store.h).
bool secret_matches(const store::Client& client, std::string_view secret);

// A new client secret: 32 random bytes, base64url (43 characters).
std::string generate_client_secret();

}  // namespace tessera::oauth
