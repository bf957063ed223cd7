#include "oauth/error.h"

namespace tessera::oauth {

http::Response OAuthError::to_response() const {
  http::Response r = http::Response::error(status, code, description);
  // RFC 6749 §5.1 asks the same of token responses; errors follow so no cache keeps either.
  r.headers.set("Pragma", "no-cache");
  // RFC 6749 §5.2 and RFC 9110 §11.6.1: a 401 names the scheme the client can use.
  if (status == 401 && challenge_basic) {
    r.headers.set("WWW-Authenticate", "Basic realm=\"tessera\", charset=\"UTF-8\"");
  }
  if (!dpop_nonce.empty()) r.headers.set("DPoP-Nonce", dpop_nonce);
  if (status == 503) r.headers.set("Retry-After", "1");  // RFC 9110 §10.2.3
  return r;
}

}  // namespace tessera::oauth
