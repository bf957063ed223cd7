// The end of a browser session, and OpenID Connect Back-Channel Logout 1.0: when a session ends
// (RP-initiated logout, or another user signing in on the same browser), the grants authorized
// in it are revoked and every client that had one and registered a backchannel_logout_uri gets a
// logout token (§2.4) by POST (§2.5). The POSTs run on a background thread, so the user's page
// does not wait on the clients: each has 5 s to connect and 5 s to answer; a failure (no answer,
// or a status other than 200 and 204) is an audit event, not retried. At most kMaxQueued tokens
// wait; beyond that they are dropped, each with an audit event.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/result.h"
#include "oauth/client_cache.h"
#include "oauth/tokens.h"
#include "store/store.h"

namespace tessera::oauth {

class SessionEnder {
 public:
  // POSTs `logout_token` (form-encoded, §2.5) to `uri`; the HTTP status, or why there is none.
  // `public_only`: the client registered itself (RFC 7591), so a stranger chose `uri`, and only
  // public addresses may be dialled (http::ClientOptions::public_addresses_only).
  using Post = std::function<Result<int, std::string>(
      const std::string& uri, const std::string& logout_token, bool public_only)>;
  static constexpr size_t kMaxQueued = 10'000;

  // `post` empty: http_post().
  SessionEnder(store::Store& store, ClientCache& clients, const TokenService& tokens,
               Post post = {});
  // The default Post: HTTP clients with 5 s to connect and 5 s to answer, one of them dialling
  // public addresses only (for `public_only`).
  static Post http_post();
  ~SessionEnder();
  SessionEnder(const SessionEnder&) = delete;
  SessionEnder& operator=(const SessionEnder&) = delete;

  // Ends `session`: revokes its grants, removes it, and queues a logout token for each client
  // with a back-channel logout URI that had a grant in it. Returns the clients that had a grant
  // in it (for front-channel logout); the error says the store failed.
  Result<std::vector<std::shared_ptr<const store::Client>>> end(const store::Session& session);
  // Blocks until every queued logout token has been sent or has failed (tests, shutdown).
  void wait_idle();

 private:
  struct Delivery {
    std::string client_id;
    std::string uri;
    std::string token;
    bool public_only = false;
  };
  void run();

  store::Store& store_;
  ClientCache& clients_;
  const TokenService& tokens_;
  Post post_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  std::deque<Delivery> queue_;
  bool sending_ = false;
  bool stopping_ = false;
  std::thread worker_;
};

// OpenID Connect Front-Channel Logout 1.0 §2, §3: the logout URIs of `clients` (those of an
// ended session) that have one, each with `iss` and the session's `sid` added: what the
// signed-out page frames.
std::vector<std::string> frontchannel_frames(
    const std::vector<std::shared_ptr<const store::Client>>& clients, const std::string& issuer,
    const std::string& sid);

}  // namespace tessera::oauth
