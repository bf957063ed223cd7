#include "oauth/backchannel_logout.h"

#include <memory>

#include "core/audit.h"
#include "http/client.h"
#include "oauth/authorize_request.h"

namespace tessera::oauth {

SessionEnder::Post SessionEnder::http_post() {
  http::ClientOptions options;
  options.connect_timeout = std::chrono::seconds(5);
  options.read_timeout = std::chrono::seconds(5);
  options.max_response_body_bytes = uint64_t{64} * 1024;
  auto operators = std::make_shared<http::HttpClient>(options);
  options.public_addresses_only = true;
  auto strangers = std::make_shared<http::HttpClient>(options);
  return [operators, strangers](const std::string& uri, const std::string& token,
                                bool public_only) -> Result<int, std::string> {
    http::Params form;
    form.add("logout_token", token);
    auto response = (public_only ? strangers : operators)->post_form(uri, form);
    if (!response) return Err(response.error().message);
    return response->status;
  };
}

SessionEnder::SessionEnder(store::Store& store, ClientCache& clients, const TokenService& tokens,
                           Post post)
    : store_(store),
      clients_(clients),
      tokens_(tokens),
      post_(post ? std::move(post) : http_post()),
      worker_([this] { run(); }) {}

SessionEnder::~SessionEnder() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  worker_.join();
}

Result<std::vector<std::shared_ptr<const store::Client>>> SessionEnder::end(
    const store::Session& session) {
  // Who to tell is read before the grants are revoked (§2.5: the RPs the user logged in to in
  // this session).
  auto told = store_.grants().clients_of_session(session.sid);
  if (!told) return Err(std::string("store unavailable"));
  if (!store_.grants().revoke_grants_for_session(session.sid) ||
      !store_.sessions().remove_by_sid(session.sid)) {
    return Err(std::string("store unavailable"));
  }
  std::vector<std::shared_ptr<const store::Client>> clients;
  std::deque<Delivery> deliveries;
  for (const std::string& client_id : *told) {
    auto client = clients_.find(client_id);
    if (!client || !*client) continue;
    clients.push_back(*client);
    if ((*client)->backchannel_logout_uri.empty()) continue;
    auto token = tokens_.logout_token(session.user_id, session.sid, client_id);
    if (!token) continue;
    deliveries.push_back({client_id, (*client)->backchannel_logout_uri, std::move(*token),
                          (*client)->self_registered()});
  }
  if (deliveries.empty()) return clients;
  {
    std::lock_guard lock(mutex_);
    for (Delivery& d : deliveries) {
      if (queue_.size() >= kMaxQueued) {
        audit::emit("logout.backchannel_failed",
                    {{"client_id", d.client_id}, {"sid", session.sid}, {"reason", "queue full"}});
        continue;
      }
      queue_.push_back(std::move(d));
    }
  }
  wake_.notify_one();
  return clients;
}

void SessionEnder::wait_idle() {
  std::unique_lock lock(mutex_);
  idle_.wait(lock, [this] { return queue_.empty() && !sending_; });
}

void SessionEnder::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (stopping_) {
      // Shutting down: what has not been sent is reported, not sent (a slow client must not
      // hold the process up).
      for (const Delivery& d : queue_) {
        audit::emit("logout.backchannel_failed",
                    {{"client_id", d.client_id}, {"reason", "server shutting down"}});
      }
      queue_.clear();
      idle_.notify_all();
      return;
    }
    Delivery d = std::move(queue_.front());
    queue_.pop_front();
    sending_ = true;
    lock.unlock();
    // §2.8: the RP answers 200 (or 204) when it logged the user out.
    auto status = post_(d.uri, d.token, d.public_only);
    if (status && (*status == 200 || *status == 204)) {
      audit::emit("logout.backchannel", {{"client_id", d.client_id}, {"status", *status}});
    } else {
      audit::emit("logout.backchannel_failed",
                  {{"client_id", d.client_id},
                   {"reason", status ? "status " + std::to_string(*status) : status.error()}});
    }
    lock.lock();
    sending_ = false;
    if (queue_.empty()) idle_.notify_all();
  }
}

std::vector<std::string> frontchannel_frames(
    const std::vector<std::shared_ptr<const store::Client>>& clients, const std::string& issuer,
    const std::string& sid) {
  std::vector<std::string> frames;
  for (const auto& client : clients) {
    if (client->frontchannel_logout_uri.empty()) continue;
    frames.push_back(
        redirect_with(client->frontchannel_logout_uri, {{"iss", issuer}, {"sid", sid}}));
  }
  return frames;
}

}  // namespace tessera::oauth
