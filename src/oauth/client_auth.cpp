#include "oauth/client_auth.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <optional>
#include <string>

#include "core/base64url.h"
#include "core/crypto.h"
#include "core/json.h"
#include "http/client_internal.h"
#include "oauth/fapi.h"

namespace tessera::oauth {
namespace {

using store::ClientAuthMethod;

constexpr size_t kMaxParsedKeySets = 10'000;
constexpr size_t kMaxJtiLength = 256;

struct Credentials {
  ClientAuthMethod method;
  std::string client_id;                 // empty for private_key_jwt: the assertion names it
  std::optional<std::string> secret;     // basic and post
  std::optional<std::string> assertion;  // private_key_jwt
};

// RFC 6749 §2.3.1: the client id and secret are form-urlencoded (Appendix B) before they are
// joined with ':' and base64-encoded (RFC 7617 §2).
Result<Credentials, OAuthError> parse_basic(std::string_view value) {
  auto bad = [](const char* why) { return Err(OAuthError::invalid_client(why)); };
  auto space = value.find(' ');
  if (space == std::string_view::npos) return bad("malformed Basic credentials");
  std::string_view encoded = value.substr(space + 1);
  while (!encoded.empty() && encoded.front() == ' ') encoded.remove_prefix(1);
  auto decoded = base64::decode(encoded);
  if (!decoded) return bad("Basic credentials are not base64");
  auto colon = decoded->find(':');
  if (colon == std::string::npos) return bad("Basic credentials lack ':'");
  auto id = http::percent_decode(std::string_view(*decoded).substr(0, colon), true);
  auto secret = http::percent_decode(std::string_view(*decoded).substr(colon + 1), true);
  if (!id || !secret) return bad("Basic credentials are not form-urlencoded");
  if (id->empty()) return bad("Basic credentials carry no client id");
  return Credentials{ClientAuthMethod::kClientSecretBasic, std::move(*id), std::move(*secret),
                     std::nullopt};
}

bool is_basic(std::string_view authorization) {
  return authorization.size() >= 6 && http::iequals(authorization.substr(0, 6), "Basic ");
}

// Which single method the request uses (RFC 6749 §2.3: "MUST NOT use more than one
// authentication method in each request").
Result<Credentials, OAuthError> read_credentials(const http::Request& request,
                                                 const http::Params& form) {
  const size_t authorizations = request.headers().count("Authorization");
  if (authorizations > 1) return Err(OAuthError::invalid_request("repeated Authorization header"));
  auto body_id = form.get("client_id");
  auto body_secret = form.get("client_secret");
  auto assertion = form.get("client_assertion");
  auto assertion_type = form.get("client_assertion_type");
  const bool header_method = authorizations == 1;
  const bool jwt_method = assertion || assertion_type;
  if (int{header_method} + int{body_secret.has_value()} + int{jwt_method} > 1) {
    return Err(OAuthError::invalid_request(
        "more than one client authentication method in the request; use one"));
  }
  if (header_method) {
    auto value = *request.header("Authorization");
    if (!is_basic(value)) {
      return Err(OAuthError::invalid_client("unsupported Authorization scheme"));
    }
    auto creds = parse_basic(value);
    if (!creds) return creds;
    // client_id in the body as well is tolerated when it names the same client.
    if (body_id && *body_id != creds->client_id) {
      return Err(OAuthError::invalid_request("client_id differs from the Basic credentials"));
    }
    return creds;
  }
  if (jwt_method) {
    // RFC 7521 §4.2: both parameters are REQUIRED.
    if (!assertion || !assertion_type) {
      return Err(OAuthError::invalid_request(
          "client_assertion and client_assertion_type must be sent together"));
    }
    // RFC 7523 §2.2: the one assertion type this server accepts.
    if (*assertion_type != kJwtBearerAssertionType) {
      return Err(OAuthError::invalid_client("unsupported client_assertion_type"));
    }
    return Credentials{ClientAuthMethod::kPrivateKeyJwt, std::string(body_id.value_or("")),
                       std::nullopt, std::string(*assertion)};
  }
  if (!body_id || body_id->empty()) {
    return Err(OAuthError::invalid_client("no client authentication"));
  }
  if (body_secret) {
    return Credentials{ClientAuthMethod::kClientSecretPost, std::string(*body_id),
                       std::string(*body_secret), std::nullopt};
  }
  return Credentials{ClientAuthMethod::kNone, std::string(*body_id), std::nullopt, std::nullopt};
}

// One message for every failure a caller without the client's credential could provoke, so it
// cannot probe which ids exist or how they authenticate.
Result<AuthenticatedClient, OAuthError> authentication_failed() {
  return Err(OAuthError::invalid_client("client authentication failed"));
}

Result<AuthenticatedClient, OAuthError> assertion_invalid(const std::string& why) {
  return Err(OAuthError::invalid_client("client_assertion " + why));
}

// A string claim, or nullopt when absent or not a string.
std::optional<std::string> string_claim(const json::Json& claims, const char* name) {
  auto it = claims.find(name);
  if (it == claims.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

std::string describe_claims_failure(jose::Status status) {
  switch (status) {
    case jose::Status::kClaimMissing:
      return "lacks a required claim (exp, aud and jti are required)";
    case jose::Status::kClaimInvalid:
      return "has a claim of the wrong type";
    case jose::Status::kAudienceMismatch:
      return "aud must name the issuer, the token endpoint or the PAR endpoint";
    case jose::Status::kExpired:
      return "has expired";
    case jose::Status::kNotYetValid:
      return "is not valid yet (nbf)";
    case jose::Status::kIssuedInFuture:
      return "is issued in the future (iat)";
    default:
      return std::string("is invalid: ") + jose::to_string(status);
  }
}

}  // namespace

const std::vector<jose::Alg>& client_assertion_algs() {
  static const std::vector<jose::Alg> algs = {
      jose::Alg::kRS256, jose::Alg::kRS384, jose::Alg::kRS512,  jose::Alg::kPS256,
      jose::Alg::kPS384, jose::Alg::kPS512, jose::Alg::kES256,  jose::Alg::kES384,
      jose::Alg::kES512, jose::Alg::kEdDSA, jose::Alg::kEd25519};
  return algs;
}

Result<jose::Jwks, std::string> parse_client_jwks(std::string_view text) {
  auto parsed = jose::Jwks::parse(text);
  if (!parsed) {
    return Err(std::string("jwks is not a usable JWK Set: ") + to_string(parsed.error()));
  }
  if (parsed->keys().empty()) return Err(std::string("jwks holds no usable key"));
  for (const jose::Jwk& key : parsed->keys()) {
    // The server verifies; it must never hold a client's signing secret.
    if (key.kty() == jose::KeyType::kOct) return Err(std::string("jwks must not hold oct keys"));
    if (key.is_private()) return Err(std::string("jwks must hold public keys only"));
  }
  return std::move(*parsed);
}

bool uses_certificate(ClientAuthMethod method) {
  return method == ClientAuthMethod::kTlsClientAuth ||
         method == ClientAuthMethod::kSelfSignedTlsClientAuth;
}

bool certificate_has_name(const http::ClientCertificate& certificate,
                          const store::CertificateName& name) {
  using store::CertificateNameType;
  const auto any_of = [](const std::vector<std::string>& values, auto equal) {
    return std::any_of(values.begin(), values.end(), equal);
  };
  const auto exact = [&](const std::string& v) { return v == name.value; };
  switch (name.type) {
    case CertificateNameType::kSubjectDn:
      // RFC 8705 §2.1.2: the subject DN as an RFC 4514 string; the server prints it that way
      // (most significant RDN last, e.g. "CN=client,O=Example,C=SE").
      return !certificate.subject.empty() && certificate.subject == name.value;
    case CertificateNameType::kSanDns:
      // DNS names compare without regard to case (RFC 4343).
      return any_of(certificate.san_dns,
                    [&](const std::string& v) { return http::iequals(v, name.value); });
    case CertificateNameType::kSanUri:
      return any_of(certificate.san_uri, exact);
    case CertificateNameType::kSanIp:
      // Both sides in inet_ntop's text form (registration normalises the value).
      return any_of(certificate.san_ip, exact);
    case CertificateNameType::kSanEmail:
      return any_of(certificate.san_email, exact);
  }
  return false;
}

std::vector<std::string> certificates_of(const jose::Jwks& keys) {
  std::vector<std::string> out;
  for (const jose::Jwk& key : keys.keys()) {
    if (!key.certificate_der().empty()) out.push_back(key.certificate_der());
  }
  return out;
}

bool secret_matches(const store::Client& client, std::string_view secret) {
  if (client.secret_sha256.size() != 32) return false;
  return crypto::equal_ct(crypto::sha256(secret), client.secret_sha256);
}

std::string generate_client_secret() { return crypto::random_token(32); }

namespace {

// Clients' jwks_uri are fetched while a request waits (on an io thread), and a registrant names
// them: short timeouts and a small body, so a slow or huge key set costs little.
http::ClientOptions jwks_fetch_options(bool public_only) {
  http::ClientOptions o;
  o.public_addresses_only = public_only;
  o.connect_timeout = std::chrono::milliseconds(2'000);
  o.read_timeout = std::chrono::milliseconds(3'000);
  o.max_response_body_bytes = uint64_t{256} * 1024;
  o.max_idle_per_host = 2;
  return o;
}

}  // namespace

ClientAuthenticator::ClientAuthenticator(ClientCache& clients, store::ReplayCache& replay,
                                         const Clock& clock, ClientAuthOptions options)
    : clients_(clients),
      replay_(replay),
      clock_(clock),
      options_(std::move(options)),
      http_(jwks_fetch_options(false)),
      registered_http_(jwks_fetch_options(true)) {}

Result<AuthenticatedClient, OAuthError> ClientAuthenticator::authenticate(
    const http::Request& request, const http::Params& form) const {
  auto authenticated = authenticate_credentials(request, form);
  if (!authenticated) return authenticated;
  // FAPI 2.0 §5.3.2.1 item 3: private_key_jwt or mutual TLS; a client registered before the
  // server-wide switch with a secret (or none) is refused, saying why.
  if (fapi2_applies(ProfileOptions{options_.fapi2}, *authenticated->client) &&
      !is_fapi2_auth_method(authenticated->method)) {
    return Err(OAuthError::invalid_client(
        "FAPI 2.0 requires private_key_jwt, tls_client_auth or self_signed_tls_client_auth"));
  }
  return authenticated;
}

Result<AuthenticatedClient, OAuthError> ClientAuthenticator::authenticate_credentials(
    const http::Request& request, const http::Params& form) const {
  auto creds = read_credentials(request, form);
  if (!creds) return Err(creds.error());
  if (creds->method == ClientAuthMethod::kPrivateKeyJwt) {
    std::optional<std::string_view> body_id;
    if (form.contains("client_id")) body_id = creds->client_id;
    return authenticate_assertion(*creds->assertion, body_id);
  }
  auto found = clients_.find(creds->client_id);
  if (!found) return Err(OAuthError::server_error("client registry unavailable"));
  const std::shared_ptr<const store::Client>& client = *found;
  if (!client) return authentication_failed();
  // RFC 8705 §2: a client registered for mutual TLS sends only its client_id (RFC 6749 §2.3's
  // "none" shape) and is authenticated by the TLS client certificate of the connection.
  if (creds->method == ClientAuthMethod::kNone && uses_certificate(client->auth_method)) {
    if (!certificate_authenticates(*client, request.client_certificate())) {
      return authentication_failed();
    }
    return AuthenticatedClient{client, client->auth_method};
  }
  // RFC 7591 §2: the client authenticates with the token_endpoint_auth_method it registered,
  // and only with it: a secret registered for basic is not accepted in the body, and a
  // confidential client cannot fall back to none.
  if (creds->method != client->auth_method) return authentication_failed();
  if (creds->method == ClientAuthMethod::kNone) {
    if (client->type != store::ClientType::kPublic) return authentication_failed();
  } else if (!creds->secret || !secret_matches(*client, *creds->secret)) {
    return authentication_failed();
  }
  return AuthenticatedClient{client, creds->method};
}

// RFC 7523 §2.2 and §3, with the client's registered keys.
Result<AuthenticatedClient, OAuthError> ClientAuthenticator::authenticate_assertion(
    std::string_view assertion, std::optional<std::string_view> body_client_id) const {
  // Checks that need no client: the JWT's shape and its algorithm.
  auto unverified = jose::decode_unverified(assertion);
  if (!unverified) return assertion_invalid("is not a JWS compact serialization");
  const auto& algs = client_assertion_algs();
  auto alg_member = string_claim(unverified->header, "alg");
  auto alg = alg_member ? jose::alg_from_string(*alg_member) : std::nullopt;
  if (!alg || std::find(algs.begin(), algs.end(), *alg) == algs.end()) {
    // RFC 8725 §3.1: never "none"; HMAC needs a secret the server does not hold.
    return assertion_invalid(
        "must be signed with RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, "
        "EdDSA or Ed25519");
  }
  auto unverified_claims = json::parse_strict(unverified->payload);
  if (!unverified_claims || !unverified_claims->is_object()) {
    return assertion_invalid("payload is not a JSON object");
  }
  // RFC 7523 §3 items 1 and 2: for client authentication iss and sub are both the client_id.
  auto sub = string_claim(*unverified_claims, "sub");
  if (!sub || sub->empty()) return assertion_invalid("must carry sub, the client_id");
  if (string_claim(*unverified_claims, "iss") != sub) {
    return assertion_invalid("iss and sub must both be the client_id");
  }
  // RFC 7521 §4.2: a client_id parameter, when sent, identifies the same client.
  if (body_client_id && *body_client_id != *sub) {
    return assertion_invalid("sub differs from client_id");
  }

  // Checks that need the client: until its key verifies the signature, one message for all.
  auto found = clients_.find(*sub);
  if (!found) return Err(OAuthError::server_error("client registry unavailable"));
  const std::shared_ptr<const store::Client>& client = *found;
  if (!client || client->auth_method != ClientAuthMethod::kPrivateKeyJwt) {
    return authentication_failed();
  }
  jose::VerifyOptions verify_options;
  verify_options.allowed_algs = algs;
  // RFC 7515 §4.1.4 kid: when present it picks the key (Jwks::candidates).
  auto verified = verify_signed_by(*client, assertion, verify_options);
  if (!verified) return authentication_failed();

  // Signed by the client: the remaining failures may say what is wrong.
  auto claims = json::parse_strict(verified->payload);
  if (!claims || !claims->is_object()) return assertion_invalid("payload is not a JSON object");
  jose::ClaimsPolicy policy;
  policy.issuer = client->client_id;
  // RFC 7523 §3 item 3: the authorization server identifies itself by its issuer or by the
  // token endpoint URL; RFC 9126 §2: or by the pushed authorization request endpoint URL.
  for (const std::string* audience :
       {&options_.issuer, &options_.token_endpoint, &options_.par_endpoint}) {
    if (!audience->empty()) policy.audiences.push_back(*audience);
  }
  policy.audiences.insert(policy.audiences.end(), options_.endpoint_aliases.begin(),
                          options_.endpoint_aliases.end());
  // RFC 7523 §3 item 4 requires exp; item 7 makes jti optional, this server requires it to
  // refuse replays.
  policy.required_claims = {"sub", "aud", "exp", "jti"};
  policy.require_exp = true;
  policy.leeway_seconds = options_.leeway;
  policy.clock = &clock_;
  if (auto status = jose::validate_claims(verified->header, *claims, policy);
      status != jose::Status::kOk) {
    return assertion_invalid(describe_claims_failure(status));
  }
  if (fapi2_applies(ProfileOptions{options_.fapi2}, *client)) {
    // FAPI 2.0 §5.4.1: PS256, ES256 and EdDSA only.
    auto alg = jose::alg_from_string(string_claim(verified->header, "alg").value_or(""));
    if (!alg || !is_fapi2_alg(*alg)) {
      return assertion_invalid("must be signed with PS256, ES256 or EdDSA under FAPI 2.0");
    }
    // FAPI 2.0 §5.3.2.1 item 8: the issuer identifier as a string, nothing else (the audience
    // injection of draft-ietf-oauth-rfc7523bis §1: an assertion made out to another endpoint
    // URL must not authenticate here).
    auto aud = claims->find("aud");
    if (!aud->is_string() || aud->get_ref<const std::string&>() != options_.issuer) {
      return assertion_invalid("aud must be the issuer identifier, as a string, under FAPI 2.0");
    }
  }
  const int64_t now = clock_.now();
  const double exp = claims->at("exp").get<double>();
  // A short-lived assertion bounds how long the replay cache must remember its jti.
  if (exp > static_cast<double>(now + options_.max_assertion_lifetime + options_.leeway)) {
    return assertion_invalid("expires more than " +
                             std::to_string(options_.max_assertion_lifetime) + " seconds from now");
  }
  auto jti = string_claim(*claims, "jti");
  if (!jti || jti->empty() || jti->size() > kMaxJtiLength) {
    return assertion_invalid("jti must be 1 to " + std::to_string(kMaxJtiLength) + " characters");
  }
  // RFC 7523 §3 item 7: a jti is accepted once while the assertion could still be valid.
  const int64_t remember_until = static_cast<int64_t>(std::ceil(exp)) + options_.leeway;
  auto first =
      replay_.remember_once("client_assertion", client->client_id + " " + *jti, remember_until);
  if (!first) return Err(OAuthError::server_error("replay cache unavailable"));
  if (!*first) return assertion_invalid("jti was already used");
  return AuthenticatedClient{client, ClientAuthMethod::kPrivateKeyJwt};
}

std::shared_ptr<const ClientAuthenticator::RegisteredKeys> ClientAuthenticator::registered_keys(
    const store::Client& client) const {
  if (!client.jwks_json) return nullptr;
  {
    std::lock_guard lock(keys_mutex_);
    auto it = keys_.find(client.client_id);
    if (it != keys_.end() && it->second.jwks_json == *client.jwks_json) return it->second.keys;
  }
  // Parsed outside the lock: RSA and EC imports are not free. A key set that does not parse
  // leaves keys null, remembered so a broken registration does not cost a parse per request.
  auto registered = std::make_shared<RegisteredKeys>();
  if (auto parsed = parse_client_jwks(*client.jwks_json)) {
    registered->keys = std::make_shared<const jose::Jwks>(std::move(*parsed));
    registered->certificates = certificates_of(*registered->keys);
  }
  std::lock_guard lock(keys_mutex_);
  if (keys_.size() >= kMaxParsedKeySets) keys_.clear();  // crude bound, as in ClientCache
  keys_.insert_or_assign(client.client_id, ParsedKeys{*client.jwks_json, registered});
  return registered;
}

std::shared_ptr<resource::JwksCache> ClientAuthenticator::fetched_keys(
    const store::Client& client) const {
  std::lock_guard lock(keys_mutex_);
  auto it = fetched_.find(client.client_id);
  if (it != fetched_.end() && it->second.jwks_uri == client.jwks_uri) return it->second.cache;
  if (fetched_.size() >= kMaxParsedKeySets) fetched_.clear();  // crude bound, as above
  auto fetch = [this, uri = client.jwks_uri, public_only = client.self_registered()] {
    return fetch_client_jwks(uri, public_only);
  };
  auto cache = std::make_shared<resource::JwksCache>(fetch, options_.jwks_refresh_seconds,
                                                     options_.jwks_min_refetch_seconds,
                                                     [this] { return clock_.now(); });
  fetched_.insert_or_assign(client.client_id, FetchedKeys{client.jwks_uri, cache});
  return cache;
}

Result<jose::Jwks, std::string> ClientAuthenticator::fetch_client_jwks(const std::string& uri,
                                                                       bool public_only) const {
  if (options_.fetch_jwks) return options_.fetch_jwks(uri);
  return resource::fetch_jwks(public_only ? registered_http_ : http_, uri);
}

Result<resource::JwksCache::KeySet, std::string> ClientAuthenticator::client_key_set(
    const store::Client& client, resource::JwksCache& cache,
    const resource::JwksCache::KeySet* seen) const {
  if (seen == nullptr) {
    if (auto current = cache.current_without_fetch()) return current;
  }
  // This call may fetch, or wait for a fetch. For a client that registered itself (a stranger
  // chose the URI, and may have made it slow) it runs within max_concurrent_jwks_fetches; past
  // the cap it fails at once, before the cache records an attempt, so no io thread waits.
  const bool capped = client.self_registered();
  if (capped && fetching_.fetch_add(1) >= options_.max_concurrent_jwks_fetches) {
    fetching_.fetch_sub(1);
    // The set held, however old, serves meanwhile (as JwksCache does when a refresh fails).
    if (seen != nullptr) return *seen;
    if (auto held = cache.held()) return held;
    return Err(std::string("too many client key sets are being fetched at once; try later"));
  }
  struct Done {
    std::atomic<int>* n;
    ~Done() {
      if (n != nullptr) n->fetch_sub(1);
    }
  } done{capped ? &fetching_ : nullptr};
  return seen == nullptr ? cache.keys() : cache.refresh_for_unknown_kid(*seen);
}

bool ClientAuthenticator::fetched_certificate_matches(const store::Client& client,
                                                      const std::string& der) const {
  auto holds = [&der](const jose::Jwks& set) {
    return std::any_of(set.keys().begin(), set.keys().end(), [&der](const jose::Jwk& key) {
      return !key.certificate_der().empty() && crypto::equal_ct(key.certificate_der(), der);
    });
  };
  auto cache = fetched_keys(client);
  auto set = client_key_set(client, *cache, nullptr);
  if (!set) return false;
  if (holds(**set)) return true;
  auto fresh = client_key_set(client, *cache, &*set);
  return fresh && *fresh != *set && holds(**fresh);
}

Result<jose::VerifiedJws, jose::Status> ClientAuthenticator::verify_signed_by(
    const store::Client& client, std::string_view jws, const jose::VerifyOptions& options) const {
  if (client.jwks_uri.empty()) {
    auto registered = registered_keys(client);
    if (!registered || !registered->keys) return Err(jose::Status::kKeyInvalid);
    return jose::verify(jws, *registered->keys, options);
  }
  // Fetched outside keys_mutex_ (JwksCache serialises its own fetches).
  auto cache = fetched_keys(client);
  auto checked = verify_with_rotation(
      [&](const resource::JwksCache::KeySet* seen) { return client_key_set(client, *cache, seen); },
      jws, options);
  if (!checked) return Err(jose::Status::kKeyInvalid);
  return std::move(*checked);
}

namespace {

// `host` (a URL's host as http::internal::parse_url gives it: a name, an IPv4 literal or an
// IPv6 literal without brackets) as an address literal: nullopt for a name.
std::optional<boost::asio::ip::address> address_of(const std::string& host) {
  boost::system::error_code ec;
  auto address = boost::asio::ip::make_address(host, ec);
  if (ec) return std::nullopt;
  return address;
}

std::string lowercase(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// 127.0.0.0/8 or ::1 (either spelling of the first), or the name localhost.
bool loopback_host(const std::string& host) {
  if (lowercase(host) == "localhost") return true;
  auto address = address_of(host);
  if (!address) return false;
  if (address->is_v4()) return address->to_v4().is_loopback();
  const auto v6 = address->to_v6();
  return v6.is_loopback() ||
         (v6.is_v4_mapped() &&
          boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, v6).is_loopback());
}

// Whether `host` names this machine or a private network by itself: localhost names and the
// address literals http::internal::refused_address refuses (private and special ranges, and the
// addresses of this host's interfaces). Names that resolve there are caught when they are
// fetched (ClientOptions::public_addresses_only).
bool local_host(const std::string& host) {
  const std::string lower = lowercase(host);
  if (lower == "localhost" || lower.ends_with(".localhost")) return true;
  auto address = address_of(host);
  return address &&
         http::internal::refused_address(*address, http::internal::interface_addresses());
}

}  // namespace

std::optional<std::string> outbound_uri_problem(std::string_view uri, std::string_view member,
                                                bool allow_loopback_http) {
  const std::string name(member);
  // The URL is read by the parser the fetch uses (no userinfo, RFC 3986 §3.2.1: it would make
  // the host another one than it reads as), so the host checked is the host fetched.
  auto url = http::internal::parse_url(uri);
  if (!url || uri.find('#') != std::string_view::npos) {
    return name + " must be an absolute https URL without userinfo or a fragment";
  }
  if (url->secure) {
    if (!allow_loopback_http && local_host(url->host)) {
      return name + " must not name this machine or a private network";
    }
    return std::nullopt;
  }
  if (allow_loopback_http) {
    if (loopback_host(url->host)) return std::nullopt;
    return name + " must use https (or http to a loopback address)";
  }
  return name + " must use https";
}

std::optional<std::string> jwks_uri_problem(std::string_view uri, bool allow_loopback_http) {
  return outbound_uri_problem(uri, "jwks_uri", allow_loopback_http);
}

bool ClientAuthenticator::certificate_authenticates(
    const store::Client& client, const http::ClientCertificate* certificate) const {
  if (certificate == nullptr) return false;
  if (client.auth_method == ClientAuthMethod::kTlsClientAuth) {
    // RFC 8705 §2.1: the PKI method. The chain must verify to a trusted client CA, and the
    // certificate must carry the one name the client registered (§2.1.2).
    return certificate->chain_verified && client.tls_client_auth_name &&
           certificate_has_name(*certificate, *client.tls_client_auth_name);
  }
  if (client.auth_method == ClientAuthMethod::kSelfSignedTlsClientAuth) {
    // RFC 8705 §2.2: the certificate is one the client registered in its jwks (x5c), or
    // publishes at its jwks_uri; its chain does not matter. The TLS handshake proved the
    // private key.
    if (!client.jwks_uri.empty()) return fetched_certificate_matches(client, certificate->der);
    auto registered = registered_keys(client);
    if (!registered) return false;
    return std::any_of(
        registered->certificates.begin(), registered->certificates.end(),
        [&](const std::string& der) { return crypto::equal_ct(der, certificate->der); });
  }
  return false;
}

}  // namespace tessera::oauth
