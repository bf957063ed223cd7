#include "oauth/ciba.h"

#include <algorithm>
#include <charconv>

#include "core/audit.h"
#include "core/crypto.h"
#include "core/space_list.h"
#include "oauth/device.h"
#include "oauth/discovery.h"
#include "oauth/resource_indicator.h"
#include "oauth/scope.h"
#include "oauth/token_endpoint.h"
#include "oauth/tokens.h"

namespace tessera::oauth {
namespace {

// CIBA §13: authentication request errors are 400 with the RFC 6749 §5.2 body.
OAuthError ciba_error(std::string code, std::string description) {
  return OAuthError{400, std::move(code), std::move(description)};
}

// §7.1 binding_message: short plain text, shown on both devices. Control characters could
// rearrange what the user reads, so they are refused with the length.
// So are the bidirectional formatting characters (Unicode TR #9: U+200E-200F, U+202A-202E,
// U+2066-2069), which reorder the text around them ("Pay 10 EUR" shown as something else).
bool is_plain_message(std::string_view text) {
  size_t characters = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte < 0x20 || byte == 0x7f) return false;
    if (byte == 0xE2 && i + 2 < text.size()) {
      const auto b1 = static_cast<unsigned char>(text[i + 1]);
      const auto b2 = static_cast<unsigned char>(text[i + 2]);
      if ((b1 == 0x80 && (b2 == 0x8E || b2 == 0x8F || (b2 >= 0xAA && b2 <= 0xAE))) ||
          (b1 == 0x81 && b2 >= 0xA6 && b2 <= 0xA9)) {
        return false;
      }
    }
    if ((byte & 0xC0) != 0x80) ++characters;
  }
  return characters <= kMaxBindingMessage;
}

std::optional<int64_t> positive_integer(std::string_view text) {
  int64_t value = 0;
  const char* last = text.data() + text.size();
  auto [end, ec] = std::from_chars(text.data(), last, value);
  if (ec != std::errc() || end != last || value <= 0) return std::nullopt;
  return value;
}

// Prompts per (client, user): one client cannot lock a user away from the others.
constexpr identity::LoginThrottleOptions kPromptBudget{
    .account = {20, int64_t{15} * 60, 60, int64_t{15} * 60}};

std::string prompt_key(const std::string& client_id, const std::string& user_id) {
  return client_id + '\n' + user_id;
}

}  // namespace

void CibaInbox::add(CibaNotification notification) {
  std::lock_guard lock(mutex_);
  const int64_t now = clock_.now();
  // Expired ones go first, then the oldest of the user, then (at kTotal) anyone's oldest.
  // pending() skips expired entries, so other users' lists are swept only when the inbox is full.
  auto sweep = [&](std::vector<CibaNotification>& list) {
    total_ -= std::erase_if(list, [&](const CibaNotification& n) { return n.expires_at <= now; });
  };
  if (total_ >= kTotal) {
    for (auto it = by_user_.begin(); it != by_user_.end();) {
      sweep(it->second);
      it = it->second.empty() ? by_user_.erase(it) : std::next(it);
    }
  }
  auto& mine = by_user_[notification.user_id];
  sweep(mine);
  if (mine.size() >= kPerUser) {
    mine.erase(mine.begin());
    --total_;
  }
  if (total_ >= kTotal) {
    auto oldest =
        std::min_element(by_user_.begin(), by_user_.end(), [](const auto& a, const auto& b) {
          if (a.second.empty() || b.second.empty()) return !a.second.empty();
          return a.second.front().expires_at < b.second.front().expires_at;
        });
    if (oldest != by_user_.end() && !oldest->second.empty()) {
      oldest->second.erase(oldest->second.begin());
      --total_;
    }
  }
  mine.push_back(std::move(notification));
  ++total_;
}

std::vector<CibaNotification> CibaInbox::pending(std::string_view user_id) const {
  std::lock_guard lock(mutex_);
  std::vector<CibaNotification> out;
  auto it = by_user_.find(user_id);
  if (it == by_user_.end()) return out;
  const int64_t now = clock_.now();
  for (auto n = it->second.rbegin(); n != it->second.rend(); ++n) {
    if (n->expires_at > now) out.push_back(*n);
  }
  return out;
}

BackchannelAuthenticationEndpoint::BackchannelAuthenticationEndpoint(
    CibaOptions options, const ClientAuthenticator& clients, store::GrantStore& grants,
    store::UserStore& users, const SigningKeys& keys, CibaNotifier notify, const Clock& clock)
    : options_(std::move(options)),
      clients_(clients),
      grants_(grants),
      users_(users),
      keys_(keys),
      notify_(std::move(notify)),
      clock_(clock),
      prompts_(std::make_unique<identity::LoginThrottle>(clock, kPromptBudget)) {}

BackchannelAuthenticationEndpoint::~BackchannelAuthenticationEndpoint() = default;

http::Response BackchannelAuthenticationEndpoint::handle(const http::Request& request) const {
  auto form = read_form(request);
  if (!form) return form.error().to_response();
  // §7.1: the client authenticates as at the token endpoint; CIBA has no public clients.
  auto authenticated = clients_.authenticate(request, *form);
  if (!authenticated) return authenticated.error().to_response();
  const store::Client& client = *authenticated->client;
  if (client.type != store::ClientType::kConfidential ||
      !list_contains(client.grant_types, kCibaGrantType)) {
    return OAuthError::unauthorized_client("the client may not use the CIBA grant").to_response();
  }
  auto given = [&](std::string_view name) {
    auto v = form->get(name);
    return v && !v->empty();
  };
  // §7.1.1: signed authentication requests are not offered (no
  // backchannel_authentication_request_signing_alg_values_supported in the metadata).
  if (given("request")) {
    return ciba_error("invalid_request", "signed authentication requests are not supported")
        .to_response();
  }
  // RFC 9396 §3 allows authorization_details here; they are not carried to the approval yet, and
  // dropping them could grant more than asked, so they are refused.
  if (given("authorization_details")) {
    return OAuthError::invalid_authorization_details(
               "authorization_details are not supported with CIBA")
        .to_response();
  }
  // §7.1: scope is REQUIRED and holds openid.
  if (!given("scope")) return ciba_error("invalid_request", "scope is missing").to_response();
  auto scopes = grant_scopes(form->get("scope"), client.scopes);
  if (!scopes) return scopes.error().to_response();
  if (!list_contains(*scopes, "openid")) {
    return ciba_error("invalid_scope", "CIBA requests need the openid scope").to_response();
  }
  // §7.1: exactly one hint.
  const int hints =
      int{given("login_hint")} + int{given("id_token_hint")} + int{given("login_hint_token")};
  if (hints != 1) {
    return ciba_error("invalid_request",
                      "exactly one of login_hint, id_token_hint and login_hint_token is required")
        .to_response();
  }
  if (given("login_hint_token")) {
    return ciba_error("invalid_request", "login_hint_token is not supported; send login_hint")
        .to_response();
  }
  std::optional<store::User> user;
  if (given("login_hint")) {
    auto found = users_.find_by_username(*form->get("login_hint"));
    if (!found) return OAuthError::server_error("the store is unavailable").to_response();
    user = std::move(*found);
  } else {
    // §7.1: "An ID Token previously issued to the Client"; an expired one still names its user.
    auto hint = verify_id_token_hint(*form->get("id_token_hint"), keys_, options_.issuer, clock_);
    if (!hint || hint->client_id != client.client_id) {
      return ciba_error("invalid_request",
                        "id_token_hint is not an ID token this server issued to this client")
          .to_response();
    }
    auto found = users_.find_by_id(hint->subject);
    if (!found) return OAuthError::server_error("the store is unavailable").to_response();
    user = std::move(*found);
  }
  // §13 unknown_user_id; a disabled user cannot be asked either.
  if (!user || user->disabled) {
    return ciba_error("unknown_user_id", "the hint names no user who can be asked").to_response();
  }
  std::optional<std::string> binding_message;
  if (given("binding_message")) {
    binding_message = std::string(*form->get("binding_message"));
    if (!is_plain_message(*binding_message)) {
      return ciba_error("invalid_binding_message",
                        "binding_message must be plain text of at most " +
                            std::to_string(kMaxBindingMessage) + " characters")
          .to_response();
    }
  }
  int64_t lifetime = options_.lifetime;
  if (given("requested_expiry")) {
    auto asked = positive_integer(*form->get("requested_expiry"));
    if (!asked) {
      return ciba_error("invalid_request", "requested_expiry must be a positive integer")
          .to_response();
    }
    lifetime = std::min(lifetime, *asked);
  }
  // RFC 8707 §2, as at the device authorization endpoint.
  std::vector<std::string> audiences;
  if (form->get("resource")) {
    auto asked = grant_audiences(*form, client.audiences);
    if (!asked) return asked.error().to_response();
    audiences = std::move(*asked);
  }
  if (auto wait = prompts_->retry_after(prompt_key(client.client_id, user->id), "")) {
    http::Response r =
        OAuthError{429, "temporarily_unavailable", "this user was asked too often; try later"}
            .to_response();
    r.headers.set("Retry-After", std::to_string(*wait));
    return r;
  }

  const int64_t now = clock_.now();
  const std::string auth_req_id = crypto::random_token(32);  // §7.3: 256 bits, URL-safe
  DeviceRequest asked{std::move(*scopes), std::move(audiences)};
  asked.subject = user->id;
  asked.binding_message = binding_message;
  if (given("acr_values")) {
    auto acr = parse_scope(*form->get("acr_values"));  // space-separated, as scope
    if (!acr) return ciba_error("invalid_request", "acr_values is malformed").to_response();
    asked.acr_values = std::move(*acr);
  }
  store::DeviceAuthorization pending;
  pending.device_code_sha256 = token_hash(auth_req_id);
  pending.client_id = client.client_id;
  pending.params_json = asked.to_json();
  pending.interval = options_.interval;
  pending.expires_at = now + lifetime;
  if (auto refused = store_with_user_code(grants_, pending)) return refused->to_response();
  prompts_->record_failure(prompt_key(client.client_id, user->id), "");  // the pair's budget

  const std::string shown = format_user_code(pending.user_code);
  audit::emit("ciba.requested", {{"client_id", client.client_id}, {"user_id", user->id}});
  if (notify_) {
    notify_(CibaNotification{user->id, client.client_id, binding_message.value_or(""),
                             endpoint_url(options_.issuer, "/device") + "?user_code=" + shown,
                             shown, pending.expires_at});
  }
  // §7.3.
  http::Response r = http::Response::json(
      200,
      {{"auth_req_id", auth_req_id}, {"expires_in", lifetime}, {"interval", options_.interval}});
  r.headers.set("Cache-Control", "no-store");
  return r;
}

}  // namespace tessera::oauth
