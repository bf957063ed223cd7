#include "tessera/validator.h"

#include <algorithm>
#include <chrono>
#include <mutex>
#include <stdexcept>

#include "core/base64url.h"
#include "core/clock.h"
#include "core/json.h"
#include "http/bearer.h"
#include "http/client.h"
#include "http/message.h"
#include "jose/jose.h"
#include "resource/jwks_cache.h"

namespace tessera::resource {
namespace {

using Json = nlohmann::json;

// RFC 8725 §3.1 and §2.1 (HS*: a shared secret is not something an issuer publishes in a JWKS).
std::vector<jose::Alg> asymmetric_algs(const std::vector<std::string>& names) {
  std::vector<jose::Alg> out;
  for (const auto& name : names) {
    auto alg = jose::alg_from_string(name);
    if (!alg) throw std::invalid_argument("unknown algorithm: " + name);
    if (*alg == jose::Alg::kHS256 || *alg == jose::Alg::kHS384 || *alg == jose::Alg::kHS512) {
      throw std::invalid_argument("symmetric algorithm " + name +
                                  " is not accepted for access tokens (RFC 8725 section 2.1)");
    }
    out.push_back(*alg);
  }
  if (out.empty()) throw std::invalid_argument("no algorithm allowed");
  return out;
}

class FunctionClock final : public Clock {
 public:
  explicit FunctionClock(std::function<int64_t()> now) : now_(std::move(now)) {}
  int64_t now() const override { return now_(); }

 private:
  std::function<int64_t()> now_;
};

ValidationError error(Failure failure, std::string description) {
  return ValidationError{failure, std::move(description)};
}

Validation failed(Failure failure, std::string description) {
  return Validation{nullptr, error(failure, std::move(description))};
}

Failure failure_of(jose::Status s) {
  using jose::Status;
  switch (s) {
    case Status::kAlgNone:
    case Status::kAlgUnknown:
    case Status::kAlgNotAllowed:
      return Failure::kAlgorithm;
    case Status::kKidNotFound:
    case Status::kAlgKeyMismatch:
      return Failure::kUnknownKey;
    case Status::kSignatureInvalid:
    case Status::kSignatureBadLength:
    case Status::kSignatureOutOfRange:
      return Failure::kBadSignature;
    case Status::kTypMismatch:
      return Failure::kWrongType;
    case Status::kIssuerMismatch:
      return Failure::kWrongIssuer;
    case Status::kAudienceMismatch:
      return Failure::kWrongAudience;
    case Status::kExpired:
      return Failure::kExpired;
    case Status::kNotYetValid:
    case Status::kIssuedInFuture:
      return Failure::kNotYetValid;
    default:
      return Failure::kMalformed;
  }
}

std::string string_member(const Json& j, const char* name) {
  auto it = j.find(name);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// A NumericDate (RFC 7519 §2) in whole seconds: it may be fractional, and one outside int64 is no
// date at all.
std::optional<int64_t> seconds_of(json::RawValue v) {
  if (v.kind != json::Kind::kNumber) return std::nullopt;
  if (auto whole = json::integer_value(v)) return whole;
  const double d = json::double_value(v);
  if (!(d > -9.2e18 && d < 9.2e18)) return std::nullopt;
  return static_cast<int64_t>(d);
}

std::string string_of(json::RawValue v) {
  return v.kind == json::Kind::kString ? json::string_value(v) : std::string();
}

std::vector<std::string> split_scope(std::string_view scope) {
  std::vector<std::string> out;
  out.reserve(static_cast<size_t>(std::count(scope.begin(), scope.end(), ' ')) + 1);
  size_t i = 0;
  while (i < scope.size()) {
    const size_t end = std::min(scope.find(' ', i), scope.size());
    if (end > i) out.emplace_back(scope.substr(i, end - i));
    i = end + 1;
  }
  return out;
}

// A string, or the strings of an array (others skipped): aud (RFC 7519 §4.1.3), amr.
std::vector<std::string> strings_of(json::RawValue v) {
  std::vector<std::string> out;
  if (v.kind == json::Kind::kString) out.push_back(json::string_value(v));
  if (v.kind == json::Kind::kArray) {
    json::for_each_element(v, [&](json::RawValue e) {
      if (e.kind == json::Kind::kString) out.push_back(json::string_value(e));
    });
  }
  return out;
}

// Delegation chains deeper than this are cut short (RFC 8693 §4.1 sets no limit; a token is
// bounded in size anyway, and no real chain is this long).
constexpr size_t kMaxActorDepth = 16;

// RFC 9701 §4: the media type of a signed introspection response.
constexpr std::string_view kTokenIntrospectionJwt = "application/token-introspection+jwt";

// The members of a token's claims (a JWT payload or an introspection response: both use the JWT
// claim names, RFC 9068 §2.2, RFC 7662 §2.2) that a Principal and a ClaimsPolicy read, as raw JSON
// values found in one pass over the text; an absent member has empty text.
struct ClaimViews {
  json::RawValue iss, sub, client_id, scope, aud, jti, iat, exp, nbf, auth_time, acr, amr, act, cnf;
  // Bit i: policy.required_claims[i], a name not held above, is a member.
  uint64_t other_required = 0;

  json::RawValue* slot(std::string_view name) { return slot_in(*this, name); }
  const json::RawValue* slot(std::string_view name) const { return slot_in(*this, name); }

  template <class Self>
  static auto slot_in(Self& self, std::string_view name) -> decltype(&self.iss) {
    using namespace std::string_view_literals;
    switch (name.size()) {
      case 3:
        switch (name[0]) {
          case 'i':
            return name == "iss"sv ? &self.iss : name == "iat"sv ? &self.iat : nullptr;
          case 's':
            return name == "sub"sv ? &self.sub : nullptr;
          case 'a':
            return name == "aud"sv   ? &self.aud
                   : name == "acr"sv ? &self.acr
                   : name == "amr"sv ? &self.amr
                   : name == "act"sv ? &self.act
                                     : nullptr;
          case 'j':
            return name == "jti"sv ? &self.jti : nullptr;
          case 'e':
            return name == "exp"sv ? &self.exp : nullptr;
          case 'n':
            return name == "nbf"sv ? &self.nbf : nullptr;
          case 'c':
            return name == "cnf"sv ? &self.cnf : nullptr;
          default:
            return nullptr;
        }
      case 5:
        return name == "scope"sv ? &self.scope : nullptr;
      case 9:
        return name == "client_id"sv   ? &self.client_id
               : name == "auth_time"sv ? &self.auth_time
                                       : nullptr;
      default:
        return nullptr;
    }
  }

  // Reads the root members of `text`, which must be a JSON object that parse_strict accepts;
  // the status when it is not.
  std::optional<jose::Status> read(std::string_view text, const jose::ClaimsPolicy* policy,
                                   json::Limits limits = {}) {
    auto root = json::scan_strict(text, limits, [&](std::string_view name, json::RawValue value) {
      if (json::RawValue* held = slot(name)) {
        *held = value;
        return;
      }
      if (policy == nullptr) return;
      for (size_t i = 0; i < policy->required_claims.size() && i < 64; ++i) {
        if (policy->required_claims[i] == name) other_required |= uint64_t{1} << i;
      }
    });
    if (!root) {
      return root.error() == json::ParseError::kDuplicateMember ? jose::Status::kDuplicateMember
                                                                : jose::Status::kPayloadNotJson;
    }
    if (root->kind != json::Kind::kObject) return jose::Status::kPayloadNotJson;
    return std::nullopt;
  }

  // What `policy` judges (jose::check_claims), from these members.
  jose::RegisteredClaims registered(const jose::ClaimsPolicy& policy) const {
    jose::RegisteredClaims r;
    auto present = [](json::RawValue v) { return !v.text.empty(); };
    for (json::RawValue v : {iss, sub, jti}) {
      if (present(v) && v.kind != json::Kind::kString) r.well_typed = false;
    }
    if (present(iss) && iss.kind == json::Kind::kString) r.iss = json::string_value(iss);
    for (auto [v, out] : {std::pair{exp, &r.exp}, std::pair{nbf, &r.nbf}, std::pair{iat, &r.iat}}) {
      if (!present(v)) continue;
      if (v.kind != json::Kind::kNumber) {
        r.well_typed = false;
      } else {
        *out = json::double_value(v);
      }
    }
    if (present(aud)) {
      r.has_aud = true;
      if (aud.kind == json::Kind::kString) {
        r.aud.push_back(json::string_value(aud));
      } else if (aud.kind == json::Kind::kArray) {
        json::for_each_element(aud, [&](json::RawValue e) {
          if (e.kind != json::Kind::kString) {
            r.well_typed = false;
          } else {
            r.aud.push_back(json::string_value(e));
          }
        });
      } else {
        r.well_typed = false;
      }
    }
    for (size_t i = 0; i < policy.required_claims.size() && i < 64; ++i) {
      const json::RawValue* held = slot(policy.required_claims[i]);
      const bool there = held != nullptr ? present(*held) : ((other_required >> i) & 1) != 0;
      if (there) r.required_present |= uint64_t{1} << i;
    }
    return r;
  }
};

// The Principal these members describe; its claims are `text`, the JSON they were read from (the
// views point into it: it is moved only once they have been read). With `checked`, the issuer and
// audiences read for the claims policy are taken from there instead of being read again.
std::shared_ptr<Principal> principal_from(const ClaimViews& v, std::string&& text,
                                          jose::RegisteredClaims* checked = nullptr) {
  auto p = std::make_shared<Principal>();
  if (checked != nullptr && checked->iss) {
    p->issuer = std::move(*checked->iss);
  } else {
    p->issuer = string_of(v.iss);
  }
  p->subject = string_of(v.sub);
  p->client_id = string_of(v.client_id);
  if (v.scope.kind == json::Kind::kString && v.scope.text.find('\\') == std::string_view::npos) {
    p->scopes = split_scope(v.scope.text.substr(1, v.scope.text.size() - 2));  // nothing escaped
  } else {
    p->scopes = split_scope(string_of(v.scope));
  }
  if (checked != nullptr && checked->well_typed) {
    p->audiences = std::move(checked->aud);
  } else {
    p->audiences = strings_of(v.aud);
  }
  p->token_id = string_of(v.jti);
  p->issued_at = seconds_of(v.iat).value_or(0);
  p->expires_at = seconds_of(v.exp).value_or(0);
  p->auth_time = seconds_of(v.auth_time);
  p->acr = string_of(v.acr);
  p->amr = strings_of(v.amr);
  // RFC 8693 §4.1: act names the current actor; a nested act, the one before it.
  json::RawValue act = v.act;
  for (size_t depth = 0; depth < kMaxActorDepth && act.kind == json::Kind::kObject; ++depth) {
    Actor actor;
    json::RawValue next;
    json::for_each_member(act, [&](std::string_view name, json::RawValue m) {
      if (name == "sub") actor.subject = string_of(m);
      if (name == "client_id") actor.client_id = string_of(m);
      if (name == "act") next = m;
    });
    p->actors.push_back(std::move(actor));
    act = next;
  }
  json::for_each_member(v.cnf, [&](std::string_view name, json::RawValue m) {
    if (name == "jkt") p->dpop_jkt = string_of(m);                     // RFC 9449 §6.1
    if (name == "x5t#S256") p->certificate_thumbprint = string_of(m);  // RFC 8705 §3.1
  });
  p->claims = Claims::from_text(std::move(text));
  return p;
}

// A Principal from an introspection response (RFC 7662 §2.2), a JSON object; null when its text
// cannot be read back (never for what parse_strict built, but a refusal must not pass as a
// principal with no audience and no expiry).
std::shared_ptr<Principal> principal_from(const Json& claims) {
  std::string text = claims.dump();
  ClaimViews views;
  json::Limits limits;
  limits.max_bytes = text.size();  // dump() may be longer than the text parsed (1E14 → 1e+14 ...)
  if (views.read(text, nullptr, limits)) return nullptr;
  return principal_from(views, std::move(text));
}

bool looks_like_jwt(std::string_view token) {
  return std::count(token.begin(), token.end(), '.') == 2;
}

// RFC 8414 §3.1: the well-known suffix goes between the host and the issuer's path.
std::string well_known(const std::string& issuer, std::string_view suffix) {
  const size_t scheme = issuer.find("://");
  const size_t path =
      scheme == std::string::npos ? std::string::npos : issuer.find('/', scheme + 3);
  std::string origin = path == std::string::npos ? issuer : issuer.substr(0, path);
  std::string rest = path == std::string::npos ? std::string() : issuer.substr(path);
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  return origin + "/.well-known/" + std::string(suffix) + rest;
}

// RFC 6749 §2.3.1: client_id and secret are form-encoded before they are joined for Basic.
std::string basic_credentials(const std::string& id, const std::string& secret) {
  auto encode = [](const std::string& s) {
    http::Params p;
    p.add("v", s);
    return http::form_encode(p).substr(2);
  };
  return "Basic " + base64::encode(encode(id) + ":" + encode(secret));
}

}  // namespace

const char* to_string(Failure failure) {
  switch (failure) {
    case Failure::kMissing:
      return "missing";
    case Failure::kInvalidRequest:
      return "invalid_request";
    case Failure::kMalformed:
      return "malformed";
    case Failure::kAlgorithm:
      return "algorithm";
    case Failure::kUnknownKey:
      return "unknown_key";
    case Failure::kBadSignature:
      return "bad_signature";
    case Failure::kWrongType:
      return "wrong_type";
    case Failure::kWrongIssuer:
      return "wrong_issuer";
    case Failure::kWrongAudience:
      return "wrong_audience";
    case Failure::kExpired:
      return "expired";
    case Failure::kNotYetValid:
      return "not_yet_valid";
    case Failure::kInactive:
      return "inactive";
    case Failure::kUnavailable:
      return "unavailable";
  }
  return "unknown";
}

Challenge challenge_for(std::string_view realm, const ValidationError& error) {
  switch (error.failure) {
    case Failure::kMissing:
      return missing_token(realm);
    case Failure::kInvalidRequest:
      return invalid_request(realm, error.description);
    case Failure::kUnavailable:
      return temporarily_unavailable(error.description);
    default:
      return invalid_token(realm, error.description);
  }
}

std::optional<ValidationError> bearer_token(std::optional<std::string_view> authorization,
                                            std::string& token) {
  if (!authorization) return error(Failure::kMissing, "no access token");
  auto credential = http::bearer_credential(*authorization);
  if (!credential) return error(Failure::kInvalidRequest, credential.error());
  if (!*credential) return error(Failure::kMissing, "no bearer access token");
  token = std::move(**credential);
  return std::nullopt;
}

class Validator::Impl {
 public:
  explicit Impl(ValidatorOptions o)
      : options_(std::move(o)),
        algs_(asymmetric_algs(options_.algorithms)),
        clock_(options_.now ? options_.now : [] { return SystemClock::instance().now(); }),
        client_(client_options(options_)),
        jwks_([this] { return fetch_jwks(); }, options_.jwks_refresh_seconds,
              options_.jwks_min_refetch_seconds, [this] { return clock_.now(); }) {
    if (options_.issuer.empty()) throw std::invalid_argument("the issuer is required");
    if (options_.audiences.empty()) {
      throw std::invalid_argument("at least one audience is required (RFC 9068 section 4)");
    }
    if (options_.accept != TokenForm::kJwt && options_.introspection_client_id.empty()) {
      throw std::invalid_argument("introspection needs a client_id (RFC 7662 section 2.1)");
    }
    policy_.issuer = options_.issuer;
    policy_.audiences = options_.audiences;
    if (options_.require_at_jwt) policy_.typ = "at+jwt";
    // RFC 9068 §2.2: the claims every JWT access token carries.
    policy_.required_claims = {"iss", "exp", "aud", "sub", "client_id", "iat", "jti"};
    policy_.leeway_seconds = options_.leeway_seconds;
    policy_.clock = &clock_;
    verify_.allowed_algs = algs_;
    // RFC 9701 §5: the signed introspection response names the issuer, the client that asked
    // (aud) and when (iat); it has no exp of its own. Its typ keeps it from passing as an access
    // token and the other way round (RFC 8725 §3.11).
    for (auto [policy, audiences] :
         {std::pair{&signed_response_policy_,
                    std::vector<std::string>{options_.introspection_client_id}},
          std::pair{&forwarded_policy_, options_.introspection_jwt_audiences}}) {
      policy->issuer = options_.issuer;
      policy->audiences = audiences;
      policy->typ = "token-introspection+jwt";
      policy->required_claims = {"iss", "aud", "iat", "token_introspection"};
      policy->require_exp = false;
      policy->leeway_seconds = options_.leeway_seconds;
      policy->clock = &clock_;
    }
    if (options_.introspection_jwt && options_.accept == TokenForm::kJwt) {
      throw std::invalid_argument("introspection_jwt needs introspection (accept opaque or any)");
    }
  }

  Validation validate(std::string_view token) {
    const bool jwt = options_.accept == TokenForm::kJwt ||
                     (options_.accept == TokenForm::kAny && looks_like_jwt(token));
    return jwt ? validate_jwt(token) : introspect(token);
  }

  std::string prefetch() {
    if (options_.accept != TokenForm::kOpaque) {
      auto keys = jwks_.keys();
      if (!keys) return keys.error();
    }
    if (options_.accept != TokenForm::kJwt) {
      auto endpoint = introspection_endpoint();
      if (!endpoint) return endpoint.error();
    }
    return std::string();
  }

  bool validates_without_waiting(std::string_view token) {
    const bool jwt = options_.accept == TokenForm::kJwt ||
                     (options_.accept == TokenForm::kAny && looks_like_jwt(token));
    if (!jwt) return false;
    auto header = jose::decode_header(token, verify_.max_size);
    if (!header) return true;  // refused as it is
    const auto alg = allowed_alg(*header);
    if (!alg) return true;
    auto keys = jwks_.current_without_fetch();
    if (!keys) return false;
    std::optional<std::string_view> kid;
    auto kid_member = header->find("kid");
    if (kid_member != header->end() && kid_member->is_string()) {
      kid = kid_member->get_ref<const std::string&>();
    }
    // An unknown kid may be the issuer's next key: validate() would fetch the set again.
    return !keys->candidates(kid, *alg).empty();
  }

  Stats stats() const { return Stats{jwks_.fetches(), introspections_.load()}; }
  int64_t now() const { return clock_.now(); }

 private:
  static http::ClientOptions client_options(const ValidatorOptions& o) {
    http::ClientOptions c;
    c.connect_timeout = std::chrono::milliseconds(o.http_timeout_ms);
    c.read_timeout = std::chrono::milliseconds(o.http_timeout_ms);
    c.verify_tls = o.verify_tls;
    c.ca_file = o.ca_file;
    c.max_response_body_bytes = uint64_t{1} << 20;
    c.user_agent = "tessera-resource";
    return c;
  }

  // The header's alg when it is one of the allowed algorithms (RFC 8725 §3.1); nullopt otherwise.
  std::optional<jose::Alg> allowed_alg(const Json& header) const {
    auto member = header.find("alg");
    const auto alg = member != header.end() && member->is_string()
                         ? jose::alg_from_string(member->get<std::string>())
                         : std::nullopt;
    if (!alg || std::find(algs_.begin(), algs_.end(), *alg) == algs_.end()) return std::nullopt;
    return alg;
  }

  static ValidationError invalid(jose::Status s) {
    using jose::Status;
    if (s == Status::kAlgMissing || s == Status::kAlgNone || s == Status::kAlgUnknown ||
        s == Status::kAlgNotAllowed) {
      return ValidationError{
          Failure::kAlgorithm,
          "the access token is not valid: its alg is not allowed (RFC 8725 section 3.1)"};
    }
    return ValidationError{failure_of(s),
                           std::string("the access token is not valid: ") + jose::to_string(s)};
  }

  // A JWT whose signature verified, and the claims policy it is held to.
  struct Verified {
    jose::VerifiedJws jws;
    const jose::ClaimsPolicy* policy;
  };

  // Verifies the signature of a JWT of the issuer against its JWKS, and picks its claims policy
  // with `choose` from the header. With the issuer's keys at hand (the usual case) the token goes
  // straight to jose::verify(), which checks the header, its alg against the allow-list (RFC 8725
  // §3.1) and the signature. Otherwise what can be refused without the keys is refused before
  // they are fetched, so garbage, "none" and HS* tokens get their 401 even while the issuer is
  // down and never make the gateway fetch anything.
  template <class Choose>
  Result<Verified, ValidationError> verify_with_jwks(std::string_view token, Choose choose) {
    JwksCache::KeySet keys = jwks_.current_without_fetch();
    if (!keys) {
      auto header = jose::decode_header(token, verify_.max_size);
      if (!header) return Err(invalid(header.error()));
      if (!allowed_alg(*header)) return Err(invalid(jose::Status::kAlgNotAllowed));
      auto fetched = jwks_.keys();
      if (!fetched) {
        return Err(ValidationError{Failure::kUnavailable, "the issuer's keys are not available"});
      }
      keys = std::move(*fetched);
    }
    auto jws = jose::verify(token, *keys, verify_);
    if (!jws && jws.error() == jose::Status::kKidNotFound) {
      // RFC 7517 §4.5: a kid we have not seen may be the issuer's next key.
      auto fresh = jwks_.refresh_for_unknown_kid(keys);
      if (fresh && *fresh != keys) jws = jose::verify(token, **fresh, verify_);
    }
    if (!jws) {
      // Refused: said as the path without keys says it, the alg first (jose::verify looks at
      // embedded keys and crit before the allow-list).
      if (auto header = jose::decode_header(token, verify_.max_size);
          header && !allowed_alg(*header)) {
        return Err(invalid(jose::Status::kAlgNotAllowed));
      }
      return Err(invalid(jws.error()));
    }
    const jose::ClaimsPolicy& policy = choose(jws->header);
    return Verified{std::move(*jws), &policy};
  }

  // The claims of a verified JWT as a JSON tree, held to its policy: for signed introspection
  // answers, read for one nested member.
  static Result<Json, ValidationError> claims_tree(const Verified& v) {
    auto claims = json::parse_strict(v.jws.payload);
    if (!claims || !claims->is_object()) {
      return Err(invalid(!claims && claims.error() == json::ParseError::kDuplicateMember
                             ? jose::Status::kDuplicateMember
                             : jose::Status::kPayloadNotJson));
    }
    const jose::Status checked = jose::validate_claims(v.jws.header, *claims, *v.policy);
    if (checked != jose::Status::kOk) return Err(invalid(checked));
    return std::move(*claims);
  }

  static bool is_signed_introspection(const Json& header) {
    auto typ = header.find("typ");
    if (typ == header.end() || !typ->is_string()) return false;
    std::string t = typ->get<std::string>();
    std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return std::tolower(c); });
    return t == "token-introspection+jwt" || t == "application/token-introspection+jwt";
  }

  Validation validate_jwt(std::string_view token) {
    const bool phantom_accepted = !options_.introspection_jwt_audiences.empty();
    bool forwarded = false;
    auto verified = verify_with_jwks(token, [&](const Json& header) -> const jose::ClaimsPolicy& {
      forwarded = phantom_accepted && is_signed_introspection(header);
      return forwarded ? forwarded_policy_ : policy_;
    });
    if (!verified) return Validation{nullptr, verified.error()};
    if (!forwarded) {
      // An access token: its claims are read in one pass over the payload and no JSON tree is
      // built (Principal::claims keeps the text and parses it if asked).
      ClaimViews views;
      if (auto bad = views.read(verified->jws.payload, &policy_)) {
        return Validation{nullptr, invalid(*bad)};
      }
      jose::RegisteredClaims registered = views.registered(policy_);
      const jose::Status checked = jose::check_claims(verified->jws.header, registered, policy_);
      if (checked != jose::Status::kOk) return Validation{nullptr, invalid(checked)};
      return Validation{principal_from(views, std::move(verified->jws.payload), &registered), {}};
    }
    // A phantom token (RFC 9701) a trusted gateway forwarded: as fresh as configured, then its
    // token_introspection member is checked like an introspection answer.
    auto claims = claims_tree(*verified);
    if (!claims) return Validation{nullptr, claims.error()};
    const double iat = (*claims)["iat"].get<double>();  // required, a number: checked
    if (static_cast<double>(clock_.now()) - iat >
        static_cast<double>(options_.introspection_jwt_max_age_seconds + options_.leeway_seconds)) {
      return failed(Failure::kExpired, "the forwarded introspection response is too old");
    }
    return from_introspection((*claims)["token_introspection"]);
  }

  Validation introspect(std::string_view token) {
    if (token.empty() || token.size() > verify_.max_size) {
      return failed(Failure::kMalformed, "the access token is empty or too long");
    }
    auto endpoint = introspection_endpoint();
    if (!endpoint) return failed(Failure::kUnavailable, endpoint.error());
    http::Params form;
    form.add("token", std::string(token));
    form.add("token_type_hint", "access_token");  // RFC 7662 §2.1
    http::Headers headers;
    headers.set("Authorization", basic_credentials(options_.introspection_client_id,
                                                   options_.introspection_client_secret));
    // RFC 9701 §4: the signed form when asked for it.
    headers.set("Accept", options_.introspection_jwt ? std::string(kTokenIntrospectionJwt)
                                                     : std::string("application/json"));
    introspections_.fetch_add(1, std::memory_order_relaxed);
    auto response = client_.post_form(*endpoint, form, headers);
    if (!response) {
      return failed(Failure::kUnavailable,
                    std::string("introspection failed: ") + http::to_string(response.error().code));
    }
    if (response->status != 200) {
      return failed(Failure::kUnavailable,
                    "introspection answered HTTP " + std::to_string(response->status));
    }
    if (!options_.introspection_jwt) {
      auto body = json::parse_strict(response->body);
      if (!body) {
        return failed(Failure::kUnavailable, "introspection answered something other than JSON");
      }
      return from_introspection(*body);
    }
    // RFC 9701 §5: the answer is a JWT signed by the issuer for us (aud = our client_id).
    auto type = response->headers.get("Content-Type");
    if (!type || type->substr(0, kTokenIntrospectionJwt.size()) != kTokenIntrospectionJwt) {
      return failed(Failure::kUnavailable, "introspection did not answer with a signed JWT");
    }
    auto verified = verify_with_jwks(
        response->body,
        [this](const Json&) -> const jose::ClaimsPolicy& { return signed_response_policy_; });
    auto claims = verified ? claims_tree(*verified) : Err(verified.error());
    if (!claims) {
      return failed(Failure::kUnavailable, "the signed introspection response does not verify");
    }
    auto v = from_introspection((*claims)["token_introspection"]);
    if (v.ok()) {
      auto p = std::const_pointer_cast<Principal>(v.principal);
      p->signed_introspection = std::move(response->body);
    }
    return v;
  }

  // An introspection answer (RFC 7662 §2.2), from the endpoint or inside a signed response.
  Validation from_introspection(const Json& body) {
    if (!body.is_object()) {
      return failed(Failure::kUnavailable, "introspection answered something other than JSON");
    }
    // RFC 7662 §2.2: active is the one required member.
    auto active = body.find("active");
    if (active == body.end() || !active->is_boolean()) {
      return failed(Failure::kUnavailable, "introspection answered without a boolean active");
    }
    if (!active->get<bool>()) return failed(Failure::kInactive, "the access token is not active");
    // RFC 7662 §2.2 token_type, when given, is an access token type (RFC 6749 §7.1: Bearer, or
    // DPoP per RFC 9449 §6); anything else is no credential at an API. Neither is a token the
    // answer calls a refresh (RFC 6749 §1.5) or ID token in the `token_use` extension member
    // that Ory Hydra and Tessera send.
    // The member is not registered, so issuers differ (Cognito-style claim sets say "access" or
    // "id"): only values that name another kind of token are refused.
    if (auto use = body.find("token_use"); use != body.end() && use->is_string()) {
      const std::string& kind = use->get_ref<const std::string&>();
      if (kind == "refresh_token" || kind == "refresh" || kind == "id" || kind == "id_token") {
        return failed(Failure::kInactive, "the token is not an access token");
      }
    }
    if (auto type = body.find("token_type"); type != body.end()) {
      const bool access =
          type->is_string() && (http::iequals(type->get_ref<const std::string&>(), "Bearer") ||
                                http::iequals(type->get_ref<const std::string&>(), "DPoP"));
      if (!access) return failed(Failure::kInactive, "the token is not an access token");
    }
    auto p = principal_from(body);
    if (!p) return failed(Failure::kUnavailable, "the introspection answer could not be read");
    if (!p->issuer.empty() && p->issuer != options_.issuer) {
      return failed(Failure::kWrongIssuer, "the access token was issued by another issuer");
    }
    // RFC 7662 §2.2 iss is optional: the issuer asked is the token's issuer.
    if (p->issuer.empty()) p->issuer = options_.issuer;
    // RFC 7662 §2.2 aud is optional; when the issuer says whom the token is for, it must be us.
    if (!p->audiences.empty() &&
        std::none_of(p->audiences.begin(), p->audiences.end(), [&](const std::string& a) {
          return std::find(options_.audiences.begin(), options_.audiences.end(), a) !=
                 options_.audiences.end();
        })) {
      return failed(Failure::kWrongAudience, "the access token is meant for another audience");
    }
    if (p->expires_at != 0 && clock_.now() >= p->expires_at + options_.leeway_seconds) {
      return failed(Failure::kExpired, "the access token has expired");
    }
    return Validation{std::move(p), {}};
  }

  // RFC 8414 §3: the issuer's metadata, read once (a failure is retried after
  // jwks_min_refetch_seconds). Its issuer must be ours exactly (§3.3).
  Result<Json, std::string> metadata() {
    std::lock_guard lock(metadata_mutex_);
    if (metadata_) return *metadata_;
    const int64_t now = clock_.now();
    if (metadata_attempted_ && now - metadata_attempt_ < options_.jwks_min_refetch_seconds) {
      return Err(metadata_error_);
    }
    metadata_attempted_ = true;
    metadata_attempt_ = now;
    for (const char* suffix : {"oauth-authorization-server", "openid-configuration"}) {
      auto response = client_.get(well_known(options_.issuer, suffix));
      if (!response) {
        metadata_error_ = std::string("the issuer's metadata could not be fetched: ") +
                          http::to_string(response.error().code);
        return Err(metadata_error_);
      }
      if (response->status == 404) continue;
      auto body = json::parse_strict(response->body);
      if (response->status != 200 || !body || !body->is_object()) {
        metadata_error_ = "the issuer's metadata is not a JSON object";
        return Err(metadata_error_);
      }
      if (string_member(*body, "issuer") != options_.issuer) {
        metadata_error_ = "the issuer's metadata names another issuer (RFC 8414 section 3.3)";
        return Err(metadata_error_);
      }
      metadata_ = std::move(*body);
      return *metadata_;
    }
    metadata_error_ = "the issuer publishes no metadata";
    return Err(metadata_error_);
  }

  Result<std::string, std::string> endpoint(const std::string& configured, const char* member) {
    if (!configured.empty()) return configured;
    auto m = metadata();
    if (!m) return Err(m.error());
    std::string url = string_member(*m, member);
    if (url.empty()) return Err(std::string("the issuer's metadata has no ") + member);
    // Keys are fetched and client secrets sent there: TLS (RFC 8414 §2 "URL using the https
    // scheme"), plain http only to a loopback address, as the issuer itself.
    if (!http::is_https_or_loopback(url)) {
      return Err(std::string("the issuer's metadata names a ") + member + " without https");
    }
    return url;
  }

  Result<std::string, std::string> introspection_endpoint() {
    return endpoint(options_.introspection_endpoint, "introspection_endpoint");
  }

  Result<jose::Jwks, std::string> fetch_jwks() {
    auto uri = endpoint(options_.jwks_uri, "jwks_uri");
    if (!uri) return Err(uri.error());
    return resource::fetch_jwks(client_, *uri);
  }

  ValidatorOptions options_;
  std::vector<jose::Alg> algs_;
  FunctionClock clock_;
  http::HttpClient client_;
  JwksCache jwks_;
  jose::VerifyOptions verify_;
  jose::ClaimsPolicy policy_;
  jose::ClaimsPolicy signed_response_policy_;  // RFC 9701 answers to this validator's requests
  jose::ClaimsPolicy forwarded_policy_;        // RFC 9701 answers a trusted gateway forwarded
  std::atomic<uint64_t> introspections_{0};

  std::mutex metadata_mutex_;
  std::optional<Json> metadata_;
  bool metadata_attempted_ = false;
  int64_t metadata_attempt_ = 0;
  std::string metadata_error_;
};

Validator::Validator(ValidatorOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}
Validator::~Validator() = default;

Validation Validator::validate(std::string_view token) const { return impl_->validate(token); }
std::string Validator::prefetch() { return impl_->prefetch(); }
bool Validator::validates_without_waiting(std::string_view token) const {
  return impl_->validates_without_waiting(token);
}
Validator::Stats Validator::stats() const { return impl_->stats(); }
int64_t Validator::now() const { return impl_->now(); }

Authenticator::Authenticator(std::shared_ptr<const Validator> validator,
                             std::shared_ptr<ClaimsCache> cache, ClaimsProvider provider,
                             int64_t max_cache_seconds)
    : validator_(std::move(validator)),
      cache_(std::move(cache)),
      provider_(std::move(provider)),
      max_cache_seconds_(max_cache_seconds) {}

Validation Authenticator::authenticate(std::string_view token) const {
  const int64_t now = validator_->now();
  if (cache_) {
    if (auto hit = cache_->find(token, now)) return Validation{std::move(hit), {}};
  }
  Validation v = validator_->validate(token);
  if (!v.ok()) return v;
  if (provider_) {
    auto enriched = std::make_shared<Principal>(*v.principal);
    try {
      enriched->domain_claims = provider_(*enriched);
    } catch (const std::exception&) {
      // The API's own look-up failed (its database is down, say): not the client's fault.
      return Validation{nullptr, error(Failure::kUnavailable, "the claims provider failed")};
    }
    v.principal = std::move(enriched);
  }
  if (cache_) {
    cache_->insert(
        token, v.principal, now,
        max_cache_seconds_ > 0 ? std::optional<int64_t>(now + max_cache_seconds_) : std::nullopt);
  }
  return v;
}

Validation Authenticator::authenticate_header(std::optional<std::string_view> authorization) const {
  std::string token;
  if (auto e = bearer_token(authorization, token)) return Validation{nullptr, std::move(*e)};
  return authenticate(token);
}

}  // namespace tessera::resource
