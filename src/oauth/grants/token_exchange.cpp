// Token exchange grant (RFC 8693): a service trades the access token it received for one aimed
// at another audience, with scopes no wider than both that token's and its own allow-list. The
// new token keeps the user in `sub` and names the caller in `act` (delegation, §1.1), the
// earlier actors nested inside; a client configured with may_impersonate gets no `act` of its
// own (impersonation). Only our own access tokens are accepted as subject or actor tokens, and
// only access tokens are issued.
#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/space_list.h"
#include "oauth/grant.h"
#include "oauth/resource_indicator.h"
#include "oauth/scope.h"
#include "oauth/token_resolver.h"
#include "oauth/tokens.h"

namespace tessera::oauth {
namespace {

// RFC 8693 §3 token type identifiers.
constexpr std::string_view kAccessTokenType = "urn:ietf:params:oauth:token-type:access_token";
constexpr std::string_view kJwtTokenType = "urn:ietf:params:oauth:token-type:jwt";

// The deepest `act` chain a token may carry. Each hop nests one level (RFC 8693 §4.1); the
// claims are read back through parsers that cap JSON depth (json::Limits), so a chain past this
// would silently lose its history. Eight services calling each other for one user is plenty.
constexpr int kMaxActorChain = 8;

// RFC 8693 §2.2.2: a subject_token or actor_token that is "invalid for any reason, or
// unacceptable based on policy" MUST be answered with invalid_request.
OAuthError unacceptable_token(std::string description) {
  return OAuthError::invalid_request(std::move(description));
}

// Who is acting: `sub` and the client it acts through (RFC 8693 §4.1, §4.3).
struct Actor {
  std::string subject;
  std::string client_id;

  json::Json claim() const {
    json::Json act = {{"sub", subject}};
    // §4.3: client_id may appear inside act; said only when it adds something.
    if (client_id != subject) act["client_id"] = client_id;
    return act;
  }
};

// RFC 8693 §2.1: the token types this server can read as subject_token / actor_token.
std::optional<OAuthError> check_token_type(std::string_view type, std::string_view token,
                                           std::string_view name) {
  if (type == kAccessTokenType) return std::nullopt;
  // A JWT is acceptable when it is one of our RFC 9068 access tokens; the resolver checks that.
  if (type == kJwtTokenType) {
    if (looks_like_jwt(token)) return std::nullopt;
    return OAuthError::invalid_request(std::string(name) + " is not a JWT");
  }
  // RFC 6749 §5.2 limits error_description's characters: the value is not echoed.
  return OAuthError::invalid_request(std::string(name) + "_type is not supported; use " +
                                     std::string(kAccessTokenType));
}

// Reads a presented token back into an active access token of ours.
Result<ResolvedToken, OAuthError> resolve_access_token(const TokenResolver& resolver,
                                                       std::string_view token,
                                                       std::string_view name) {
  auto resolved = resolver.inspect(token);
  if (!resolved) {
    if (resolved.error() == TokenRejection::kStoreUnavailable) {
      return Err(OAuthError::server_error("the store is unavailable"));
    }
    return Err(
        unacceptable_token(std::string(name) + " is not active: " + to_string(resolved.error())));
  }
  if (resolved->kind != store::TokenKind::kAccess) {
    return Err(unacceptable_token(std::string(name) + " is not an access token"));
  }
  return std::move(*resolved);
}

// The depth of an act chain; nullopt when a link is not an object with a string `sub`.
std::optional<int> act_depth(const json::Json& act) {
  int depth = 0;
  const json::Json* link = &act;
  while (true) {
    if (!link->is_object()) return std::nullopt;
    auto sub = link->find("sub");
    if (sub == link->end() || !sub->is_string()) return std::nullopt;
    ++depth;
    auto next = link->find("act");
    if (next == link->end()) return depth;
    link = &*next;
  }
}

// RFC 8693 §4.4: may_act names who may act for the subject. Every identifying member it states
// (sub, client_id) must be the actor's; one stating neither names nobody.
bool may_act_allows(const json::Json& may_act, const Actor& actor) {
  if (!may_act.is_object()) return false;
  auto sub = may_act.find("sub");
  auto client_id = may_act.find("client_id");
  if (sub == may_act.end() && client_id == may_act.end()) return false;
  if (sub != may_act.end() && (!sub->is_string() || sub->get<std::string>() != actor.subject)) {
    return false;
  }
  if (client_id != may_act.end() &&
      (!client_id->is_string() || client_id->get<std::string>() != actor.client_id)) {
    return false;
  }
  return true;
}

class TokenExchangeGrant final : public Grant {
 public:
  explicit TokenExchangeGrant(const GrantContext& context) : context_(context) {}

  std::string_view grant_type() const override {
    return "urn:ietf:params:oauth:grant-type:token-exchange";  // RFC 8693 §2.1
  }

  Result<TokenResponse, OAuthError> exchange(const TokenRequest& request) const override {
    const store::Client& client = request.client;
    const http::Params& params = request.params;
    // The caller speaks for a service: it must authenticate (RFC 8693 §2.1 relies on RFC 6749
    // §3.2.1 client authentication), so public clients may not exchange.
    if (client.type != store::ClientType::kConfidential) {
      return Err(OAuthError::unauthorized_client("token exchange needs a confidential client"));
    }
    // RFC 9396 defines authorization_details for the grants of RFC 6749 only; ignoring them here
    // could hand out more than the caller asked for, so they are refused.
    if (auto details = params.get("authorization_details"); details && !details->empty()) {
      return Err(OAuthError::invalid_authorization_details(
          "authorization_details are not supported with token exchange"));
    }

    // RFC 8693 §2.1: subject_token and subject_token_type are REQUIRED.
    auto subject_token = params.get("subject_token");
    if (!subject_token || subject_token->empty()) {
      return Err(OAuthError::invalid_request("subject_token is missing"));
    }
    auto subject_type = params.get("subject_token_type");
    if (!subject_type || subject_type->empty()) {
      return Err(OAuthError::invalid_request("subject_token_type is missing"));
    }
    if (auto e = check_token_type(*subject_type, *subject_token, "subject_token")) {
      return Err(std::move(*e));
    }
    // §2.1: actor_token_type is REQUIRED with actor_token and MUST NOT appear without it.
    auto actor_token = params.get("actor_token");
    auto actor_type = params.get("actor_token_type");
    if (actor_token && actor_token->empty()) {
      return Err(OAuthError::invalid_request("actor_token is empty"));
    }
    if (actor_token && (!actor_type || actor_type->empty())) {
      return Err(OAuthError::invalid_request("actor_token_type is missing"));
    }
    if (!actor_token && actor_type) {
      return Err(OAuthError::invalid_request("actor_token_type without actor_token"));
    }
    if (actor_token) {
      if (auto e = check_token_type(*actor_type, *actor_token, "actor_token")) {
        return Err(std::move(*e));
      }
    }
    // §2.1 requested_token_type: this server issues access tokens only.
    if (auto requested = params.get("requested_token_type");
        requested && *requested != kAccessTokenType) {
      return Err(OAuthError::invalid_request("requested_token_type is not supported; only " +
                                             std::string(kAccessTokenType) + " is issued"));
    }

    auto subject = resolve_access_token(context_.resolver, *subject_token, "subject_token");
    if (!subject) return Err(subject.error());

    // The actor: the actor_token's subject, acting through the calling client; without one, the
    // calling client itself (§4.1: act identifies the party to whom authority was delegated).
    Actor actor{client.client_id, client.client_id};
    std::optional<int64_t> actor_expires_at;
    if (actor_token) {
      auto resolved = resolve_access_token(context_.resolver, *actor_token, "actor_token");
      if (!resolved) return Err(resolved.error());
      // The client must hold the actor's token, not one another client received.
      if (resolved->client_id != client.client_id) {
        return Err(unacceptable_token("the actor_token was not issued to this client"));
      }
      actor = Actor{resolved->subject, resolved->client_id};
      actor_expires_at = resolved->expires_at;
    }

    // Whether this client may use the subject token at all. §4.4: may_act, when present, is
    // the subject's own statement of who may act; otherwise the token must have been aimed at
    // this service (the API that received it is the one passing it on).
    if (auto may_act = subject->extra.find("may_act"); may_act != subject->extra.end()) {
      if (!may_act_allows(*may_act, actor)) {
        return Err(unacceptable_token("the subject token's may_act does not name the actor " +
                                      actor.subject));
      }
    } else if (std::none_of(
                   subject->audiences.begin(), subject->audiences.end(),
                   [&](const std::string& a) { return list_contains(client.audiences, a); })) {
      return Err(unacceptable_token("the subject token was not issued to this client's audience"));
    }

    // Delegation (§1.1, §4.1): act names the new actor, with the subject token's own act
    // nested inside ("the least recent actor is the most deeply nested"). Impersonation, for a
    // client configured for it and sending no actor_token: no new act, earlier actors kept.
    const bool impersonation = client.may_impersonate && !actor_token;
    std::optional<json::Json> act;
    if (auto prior = subject->extra.find("act"); prior != subject->extra.end()) {
      auto depth = act_depth(*prior);
      if (!depth) return Err(unacceptable_token("the subject token's act claim is malformed"));
      if (!impersonation && *depth >= kMaxActorChain) {
        return Err(unacceptable_token("the subject token's actor chain is too long"));
      }
      act = *prior;
    }
    if (!impersonation) {
      json::Json claim = actor.claim();
      if (act) claim["act"] = std::move(*act);
      act = std::move(claim);
    }

    // RFC 8693 §2.1 audience / RFC 8707 resource: within the client's allowed audiences,
    // invalid_target otherwise (§2.2.2); none asked: all of them.
    auto audiences = grant_audiences(params, client.audiences);
    if (!audiences) return Err(audiences.error());
    auto scopes = exchanged_scopes(params.get("scope"), subject->scopes, client.scopes);
    if (!scopes) return Err(scopes.error());

    TokenSubject minted;
    minted.subject = subject->subject;
    minted.client_id = client.client_id;
    minted.scopes = *scopes;
    minted.audiences = std::move(*audiences);
    // Under the user's grant, when the subject token names one: revoking the grant (logout,
    // refresh token reuse) revokes the exchanged opaque tokens too.
    minted.grant_id = subject->grant_id;
    // RFC 9068 §2.2.1: the user's authentication travels with the token.
    copy_authentication(subject->extra, minted);
    if (act) minted.extra["act"] = std::move(*act);
    // RFC 9449 §5: the new token is bound to this request's DPoP key, if any. A subject token
    // bound to the user's key is accepted without that key: the API exchanging it received it
    // with a proof it checked and never holds the key; the audience (or may_act) check above
    // decides who may exchange it.
    TokenResponse response;
    bind_access_token(request, minted, response);

    // A delegated token never outlives the tokens it came from.
    int64_t not_after = subject->expires_at;
    if (actor_expires_at) not_after = std::min(not_after, *actor_expires_at);
    if (not_after <= context_.clock.now()) {
      return Err(unacceptable_token("the subject or actor token has expired"));
    }
    auto token = context_.tokens.access_token(client, minted, not_after);
    if (!token) return Err(token.error());
    if (token->record) {
      auto stored = context_.grants.insert_tokens({&*token->record, 1});
      if (!stored) {
        if (stored.error().code == store::StoreError::Code::kNotFound ||
            stored.error().code == store::StoreError::Code::kConflict) {
          return Err(unacceptable_token("the subject token's grant was revoked"));
        }
        return Err(OAuthError::server_error("the store is unavailable"));
      }
    }

    // §2.2.1: access_token, issued_token_type, token_type, expires_in, scope; no refresh token.
    response.access_token = std::move(token->value);
    response.expires_in = token->expires_in;
    response.issued_token_type = std::string(kAccessTokenType);
    if (!token->scopes.empty()) response.scope = join_scope(token->scopes);
    return response;
  }

 private:
  // The scopes of the new token (§2.1 scope, RFC 6749 §3.3): each within both the subject
  // token's scopes (no escalation beyond what the user granted) and the client's allow-list;
  // omitted: every scope the two share, which must not be empty.
  static Result<std::vector<std::string>, OAuthError> exchanged_scopes(
      std::optional<std::string_view> requested, const std::vector<std::string>& granted,
      const std::vector<std::string>& allowed) {
    if (!requested) {
      std::vector<std::string> shared;
      for (const std::string& s : granted) {
        if (list_contains(allowed, s)) shared.push_back(s);
      }
      if (shared.empty()) {
        return Err(
            OAuthError::invalid_scope("the subject token has no scope this client may ask for"));
      }
      return shared;
    }
    auto parsed = parse_scope(*requested);
    if (!parsed) return Err(OAuthError::invalid_scope("scope is not a space-delimited token list"));
    for (const std::string& s : *parsed) {
      if (!list_contains(allowed, s)) {
        return Err(OAuthError::invalid_scope("scope " + s + " is not allowed for this client"));
      }
      if (!list_contains(granted, s)) {
        return Err(
            OAuthError::invalid_scope("scope " + s + " was not granted to the subject token"));
      }
    }
    return std::move(*parsed);
  }

  static void copy_authentication(const json::Json& extra, TokenSubject& out) {
    if (auto it = extra.find("auth_time"); it != extra.end() && it->is_number_integer()) {
      out.auth_time = it->get<int64_t>();
    }
    if (auto it = extra.find("acr"); it != extra.end() && it->is_string()) {
      out.acr = it->get<std::string>();
    }
    if (auto it = extra.find("amr"); it != extra.end() && it->is_array()) {
      for (const auto& m : *it) {
        if (m.is_string()) out.amr.push_back(m.get<std::string>());
      }
    }
  }

  GrantContext context_;
};

}  // namespace

std::unique_ptr<Grant> make_token_exchange_grant(const GrantContext& context) {
  return std::make_unique<TokenExchangeGrant>(context);
}

}  // namespace tessera::oauth
