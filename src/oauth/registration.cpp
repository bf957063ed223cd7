#include "oauth/registration.h"

#include <algorithm>
#include <array>

#include "core/crypto.h"
#include "core/space_list.h"
#include "http/bearer.h"
#include "oauth/client_auth.h"
#include "oauth/client_metadata.h"
#include "oauth/device.h"
#include "oauth/discovery.h"
#include "oauth/scope.h"
#include "oauth/tokens.h"

namespace tessera::oauth {
namespace {

// RFC 7591 §3.2.2 error codes.
constexpr std::string_view kInvalidRedirectUri = "invalid_redirect_uri";
constexpr std::string_view kInvalidClientMetadata = "invalid_client_metadata";
constexpr std::string_view kInvalidSoftwareStatement = "invalid_software_statement";
constexpr std::string_view kUnapprovedSoftwareStatement = "unapproved_software_statement";

// The grant types a client may register itself for. Token exchange and the JWT bearer grant
// stay with operators: both let a client speak for subjects other than its users.
constexpr std::array<std::string_view, 4> kRegistrableGrantTypes = {
    "authorization_code", "refresh_token", "client_credentials", kDeviceCodeGrantType};

// RFC 7592 §2.2: members of the client information response a client must not send back.
constexpr std::array<std::string_view, 4> kServerOnlyMembers = {
    "registration_access_token", "registration_client_uri", "client_secret_expires_at",
    "client_id_issued_at"};

// Claims of a software statement that describe the statement, not the client.
constexpr std::array<std::string_view, 6> kStatementOnlyClaims = {"iss", "aud", "exp",
                                                                  "nbf", "iat", "jti"};

// The largest registration request body: metadata, keys and a software statement fit well.
constexpr size_t kMaxBody = size_t{64} * 1024;

template <size_t N>
bool is_one_of(const std::array<std::string_view, N>& list, std::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

http::Response no_store(http::Response r) {
  r.headers.set("Cache-Control", "no-store");
  r.headers.set("Pragma", "no-cache");
  return r;
}

}  // namespace

RegistrationEndpoint::RegistrationEndpoint(RegistrationOptions options, store::ClientStore& clients,
                                           store::GrantStore& grants, ClientCache& cache,
                                           const Clock& clock)
    : options_(std::move(options)),
      clients_(clients),
      grants_(grants),
      cache_(cache),
      clock_(clock),
      throttle_(std::make_unique<identity::LoginThrottle>(clock)) {
  if (!options_.software_statement_issuers.empty()) {
    statement_keys_ = std::make_unique<IssuerKeys>(options_.software_statement_issuers,
                                                   options_.fetch, options_.jwks_refresh_seconds,
                                                   options_.jwks_min_refetch_seconds, clock);
  }
}

std::string RegistrationEndpoint::client_uri(std::string_view client_id) const {
  // Registered ids are base64url (crypto::random_token): nothing to escape in a path.
  return endpoint_url(options_.issuer, "/register/") + std::string(client_id);
}

Result<store::Client, RegistrationEndpoint::Failure> RegistrationEndpoint::client_from_metadata(
    const json::Json& given, const store::Client* existing) const {
  auto fail = [](std::string_view code, std::string description) {
    return Err(Failure{400, std::string(code), std::move(description)});
  };
  json::Json metadata = given;
  // RFC 7591 §2.3, §3.1.1: a software statement is checked, and its claims win.
  if (auto statement = metadata.find("software_statement"); statement != metadata.end()) {
    if (!statement->is_string()) {
      return fail(kInvalidSoftwareStatement, "software_statement must be a JWT");
    }
    if (!statement_keys_) {
      return fail(kUnapprovedSoftwareStatement, "this server trusts no software statement issuer");
    }
    jose::VerifyOptions verify_options;
    verify_options.allowed_algs = client_assertion_algs();  // asymmetric only (RFC 8725 §3.1)
    auto verified =
        statement_keys_->verify(statement->get_ref<const std::string&>(), verify_options);
    if (!verified) {
      switch (verified.error().failure) {
        case IssuerKeys::Failure::kUntrusted:
          return fail(kUnapprovedSoftwareStatement,
                      "the software statement's issuer is not trusted: " + verified.error().detail);
        case IssuerKeys::Failure::kUnavailable:
          return Err(Failure{503, "temporarily_unavailable", verified.error().detail});
        case IssuerKeys::Failure::kMalformed:
        case IssuerKeys::Failure::kSignature:
          return fail(kInvalidSoftwareStatement,
                      "the software statement: " + verified.error().detail);
      }
    }
    jose::ClaimsPolicy policy;
    policy.issuer = verified->issuer;
    policy.require_exp = false;  // §2.3: statements may be long-lived
    policy.clock = &clock_;
    if (auto status = jose::validate_claims(verified->header, verified->claims, policy);
        status != jose::Status::kOk) {
      return fail(kInvalidSoftwareStatement,
                  std::string("the software statement's claims: ") + jose::to_string(status));
    }
    for (const auto& [name, value] : verified->claims.items()) {
      if (!is_one_of(kStatementOnlyClaims, name)) metadata[name] = value;
    }
    metadata.erase("software_statement");
  } else if (options_.require_software_statement) {
    return fail(kInvalidSoftwareStatement, "a software statement is required");
  }

  // Typed readers: a member of the wrong type is an error, an absent one is nullopt.
  std::string type_error;
  auto string_member = [&](const char* name) -> std::optional<std::string> {
    auto it = metadata.find(name);
    if (it == metadata.end() || it->is_null()) return std::nullopt;
    if (!it->is_string()) {
      type_error = std::string(name) + " must be a string";
      return std::nullopt;
    }
    return it->get<std::string>();
  };
  auto list_member = [&](const char* name) -> std::optional<std::vector<std::string>> {
    auto it = metadata.find(name);
    if (it == metadata.end() || it->is_null()) return std::nullopt;
    std::vector<std::string> out;
    if (!it->is_array()) {
      type_error = std::string(name) + " must be an array of strings";
      return std::nullopt;
    }
    for (const json::Json& v : *it) {
      if (!v.is_string()) {
        type_error = std::string(name) + " must be an array of strings";
        return std::nullopt;
      }
      if (!list_contains(out, v.get_ref<const std::string&>())) out.push_back(v.get<std::string>());
    }
    return out;
  };
  auto bool_member = [&](const char* name) -> bool {
    auto it = metadata.find(name);
    if (it == metadata.end() || it->is_null()) return false;
    if (!it->is_boolean()) {
      type_error = std::string(name) + " must be true or false";
      return false;
    }
    return it->get<bool>();
  };

  store::Client c;
  if (existing != nullptr) {
    c.client_id = existing->client_id;
    c.created_at = existing->created_at;
    c.registration_token_sha256 = existing->registration_token_sha256;
    c.revision = existing->revision;
    // What only operators set (`tessera client update`) stays as they left it: the client
    // replaces its RFC 7591 metadata, not the server's policy for it.
    c.audiences = existing->audiences;
    c.access_token_format = existing->access_token_format;
    c.access_token_lifetime = existing->access_token_lifetime;
    c.refresh_token_lifetime = existing->refresh_token_lifetime;
    c.skip_consent = existing->skip_consent;
    c.may_impersonate = existing->may_impersonate;
    c.fapi2 = existing->fapi2;
  } else {
    c.audiences = options_.audiences;
  }
  // RFC 7591 §2 token_endpoint_auth_method: client_secret_basic when omitted.
  const std::string method_name =
      string_member("token_endpoint_auth_method")
          .value_or(std::string(store::to_string(store::ClientAuthMethod::kClientSecretBasic)));
  auto method = store::parse_client_auth_method(method_name);
  const bool mtls_method = method == store::ClientAuthMethod::kTlsClientAuth ||
                           method == store::ClientAuthMethod::kSelfSignedTlsClientAuth;
  if (!method || (mtls_method && !options_.mutual_tls)) {
    return fail(kInvalidClientMetadata,
                "token_endpoint_auth_method " + method_name + " is not offered by this server");
  }
  c.auth_method = *method;
  c.type = c.auth_method == store::ClientAuthMethod::kNone ? store::ClientType::kPublic
                                                           : store::ClientType::kConfidential;
  // FAPI 2.0 §5.3.2.1, when the profile holds for every client.
  if (options_.profile.fapi2 && !is_fapi2_auth_method(c.auth_method)) {
    return fail(kInvalidClientMetadata,
                "this server follows FAPI 2.0: token_endpoint_auth_method must be "
                "private_key_jwt, tls_client_auth or self_signed_tls_client_auth");
  }

  // §2: grant_types defaults to authorization_code; §2.1: response_types to code, and the two
  // agree.
  c.grant_types =
      list_member("grant_types").value_or(std::vector<std::string>{"authorization_code"});
  for (const std::string& g : c.grant_types) {
    if (!is_one_of(kRegistrableGrantTypes, g)) {
      return fail(kInvalidClientMetadata,
                  "grant type " + g +
                      " cannot be registered here: authorization_code, refresh_token, "
                      "client_credentials or urn:ietf:params:oauth:grant-type:device_code");
    }
  }
  const bool code_flow = list_contains(c.grant_types, "authorization_code");
  const std::vector<std::string> response_types =
      list_member("response_types")
          .value_or(code_flow ? std::vector<std::string>{"code"} : std::vector<std::string>{});
  for (const std::string& r : response_types) {
    if (r != "code") {
      return fail(kInvalidClientMetadata, "response type " + r + " is not supported: only code");
    }
  }
  if (code_flow != list_contains(response_types, "code")) {
    return fail(kInvalidClientMetadata,
                "grant_types and response_types disagree: authorization_code goes with the "
                "code response type (RFC 7591 §2.1)");
  }

  for (auto [name, field] :
       {std::pair{"redirect_uris", &c.redirect_uris},
        std::pair{"post_logout_redirect_uris", &c.post_logout_redirect_uris}}) {
    *field = list_member(name).value_or(std::vector<std::string>{});
    if (field->size() > kMaxRegisteredUris) {
      return fail(kInvalidRedirectUri,
                  std::string(name) + ": at most " + std::to_string(kMaxRegisteredUris) + " URIs");
    }
    for (const std::string& uri : *field) {
      if (auto problem = redirect_uri_problem(uri)) {
        return fail(kInvalidRedirectUri, std::string(name) + " " + uri + ": " + *problem);
      }
    }
  }

  // §2 scope: within what the operator lets registered clients have.
  if (auto scope = string_member("scope")) {
    auto scopes = parse_scope(*scope);
    if (!scopes) return fail(kInvalidClientMetadata, "scope is malformed (RFC 6749 §3.3)");
    for (const std::string& s : *scopes) {
      if (!list_contains(options_.scopes, s)) {
        return fail(kInvalidClientMetadata, "scope " + s + " may not be registered");
      }
    }
    c.scopes = std::move(*scopes);
  } else {
    c.scopes = options_.scopes;
  }

  // §2 jwks: the client's public keys (private_key_jwt, request objects); RFC 8705 §2.2.2:
  // a self-signed client's certificates, each key with its x5c.
  if (auto jwks = metadata.find("jwks"); jwks != metadata.end() && !jwks->is_null()) {
    if (!jwks->is_object()) return fail(kInvalidClientMetadata, "jwks must be a JWK Set object");
    auto keys = jose::Jwks::from_json(*jwks);
    if (!keys) {
      return fail(kInvalidClientMetadata,
                  std::string("jwks is not a JWK Set: ") + jose::to_string(keys.error()));
    }
    if (auto problem = client_keys_problem(*keys)) {
      return fail(kInvalidClientMetadata, "jwks " + *problem);
    }
    // RFC 8705 §2.2.2: every key of a self-signed client's set carries its certificate, and is
    // one this server reads (a key it would skip would take its certificate with it).
    if (c.auth_method == store::ClientAuthMethod::kSelfSignedTlsClientAuth) {
      const auto& raw = (*jwks)["keys"];
      if (!raw.is_array() || certificates_of(*keys).size() != raw.size()) {
        return fail(kInvalidClientMetadata,
                    "jwks: each key of a self_signed_tls_client_auth client carries its "
                    "certificate in x5c, and is an RSA, EC or Ed25519 signing key");
      }
    }
    c.jwks_json = c.auth_method == store::ClientAuthMethod::kSelfSignedTlsClientAuth
                      ? jwks->dump()
                      : keys->to_json(false).dump();
  }
  // §2 jwks_uri: the keys by reference (RFC 8705 §2.2.2: or a self-signed client's
  // certificates), https only (a registrant must not point the server at local services); never
  // with jwks.
  if (auto uri = metadata.find("jwks_uri"); uri != metadata.end() && !uri->is_null()) {
    if (!uri->is_string()) return fail(kInvalidClientMetadata, "jwks_uri must be a string");
    if (c.jwks_json) {
      return fail(kInvalidClientMetadata, "jwks and jwks_uri must not both be present");
    }
    const std::string& text = uri->get_ref<const std::string&>();
    if (auto problem = jwks_uri_problem(text, /*allow_loopback_http=*/false)) {
      return fail(kInvalidClientMetadata, *problem);
    }
    if (text.size() > 2048) return fail(kInvalidClientMetadata, "jwks_uri is too long");
    c.jwks_uri = text;
  }
  // §2 human-readable metadata, shown to users (the store bounds their sizes). The pages link
  // to the URLs, so https only. §2.2 language-tagged variants (`client_name#fr`) are not kept:
  // an unknown member, ignored as §2 allows.
  for (const auto& [member, field] : store::kDisplayStrings) {
    const std::string name(member);
    auto value = string_member(name.c_str());
    if (!value) continue;
    if (field != &store::Client::client_name &&
        (!value->starts_with("https://") || value->size() == 8)) {
      return fail(kInvalidClientMetadata, name + " must be an https URL");
    }
    c.*field = *value;
  }
  if (auto contacts = list_member("contacts")) c.contacts = *contacts;
  // RFC 8705 §2.1.2: one certificate name for a tls_client_auth client.
  for (store::CertificateNameType type :
       {store::CertificateNameType::kSubjectDn, store::CertificateNameType::kSanDns,
        store::CertificateNameType::kSanUri, store::CertificateNameType::kSanIp,
        store::CertificateNameType::kSanEmail}) {
    const std::string name(store::metadata_name(type));
    auto value = string_member(name.c_str());
    if (!value) continue;
    if (c.auth_method != store::ClientAuthMethod::kTlsClientAuth) {
      return fail(kInvalidClientMetadata, name + " is for tls_client_auth clients");
    }
    if (c.tls_client_auth_name) {
      return fail(kInvalidClientMetadata, "only one tls_client_auth_* name may be registered");
    }
    if (value->empty()) return fail(kInvalidClientMetadata, name + " must not be empty");
    if (type == store::CertificateNameType::kSanIp) {
      auto normal = canonical_ip(*value);
      if (!normal) return fail(kInvalidClientMetadata, name + " is not an IP address");
      value = std::move(normal);
    }
    c.tls_client_auth_name = store::CertificateName{type, std::move(*value)};
  }
  if (c.auth_method == store::ClientAuthMethod::kTlsClientAuth && !c.tls_client_auth_name) {
    return fail(kInvalidClientMetadata,
                "a tls_client_auth client registers one tls_client_auth_subject_dn or "
                "tls_client_auth_san_* (RFC 8705 §2.1.2)");
  }
  if ((c.auth_method == store::ClientAuthMethod::kPrivateKeyJwt ||
       c.auth_method == store::ClientAuthMethod::kSelfSignedTlsClientAuth) &&
      !c.jwks_json && c.jwks_uri.empty()) {
    return fail(kInvalidClientMetadata, "token_endpoint_auth_method " + method_name +
                                            " needs the client's keys in jwks or jwks_uri");
  }

  // OpenID Connect Back-Channel Logout 1.0 §2.2 and Front-Channel Logout 1.0 §2.
  for (auto [name, field] : {std::pair{"backchannel_logout_uri", &c.backchannel_logout_uri},
                             std::pair{"frontchannel_logout_uri", &c.frontchannel_logout_uri}}) {
    if (auto uri = string_member(name)) {
      if (auto problem = logout_uri_problem(*uri)) {
        return fail(kInvalidClientMetadata, std::string(name) + " " + *uri + ": " + *problem);
      }
      // The server posts to the back-channel URI itself: https, and (as for jwks_uri) not this
      // machine or a private network; the post dials public addresses only.
      if (field == &c.backchannel_logout_uri) {
        if (auto problem = outbound_uri_problem(*uri, name, /*allow_loopback_http=*/false)) {
          return fail(kInvalidClientMetadata, *problem);
        }
      }
      *field = std::move(*uri);
    }
  }
  // RFC 9396 §10.2: the authorization details types the client uses, each one the server knows.
  c.authorization_details_types =
      list_member("authorization_details_types").value_or(std::vector<std::string>{});
  for (const std::string& type : c.authorization_details_types) {
    if (!options_.authorization_details_types.knows(type)) {
      return fail(kInvalidClientMetadata, "authorization details type " + type + " is not known");
    }
  }
  c.backchannel_logout_session_required = bool_member("backchannel_logout_session_required");
  c.frontchannel_logout_session_required = bool_member("frontchannel_logout_session_required");
  c.dpop_bound_access_tokens = bool_member("dpop_bound_access_tokens");
  c.require_pushed_authorization_requests = bool_member("require_pushed_authorization_requests");
  c.tls_client_certificate_bound_access_tokens =
      bool_member("tls_client_certificate_bound_access_tokens");
  c.require_signed_request_object = bool_member("require_signed_request_object");
  if (c.tls_client_certificate_bound_access_tokens && !options_.mutual_tls) {
    return fail(kInvalidClientMetadata,
                "tls_client_certificate_bound_access_tokens: this server does not ask for client "
                "certificates");
  }
  if (!type_error.empty()) return fail(kInvalidClientMetadata, type_error);
  if (auto problem = client_consistency_problem(c)) {
    return fail(c.redirect_uris.empty() && code_flow ? kInvalidRedirectUri : kInvalidClientMetadata,
                *problem);
  }
  return c;
}

http::Response RegistrationEndpoint::answer(int status, const Registration& r) const {
  // RFC 7591 §3.2.1, RFC 7592 §3.
  json::Json body = client_metadata_json(r.client);
  if (r.client_secret) {
    body["client_secret"] = *r.client_secret;
    body["client_secret_expires_at"] = 0;  // never
  }
  body["registration_access_token"] = r.registration_access_token;
  body["registration_client_uri"] = client_uri(r.client.client_id);
  return no_store(http::Response::json(status, body));
}

namespace {

// The request's JSON object (RFC 7591 §3.1: application/json).
Result<json::Json, http::Response> read_metadata(const http::Request& request) {
  auto bad = [](const std::string& why) {
    return Err(no_store(http::Response::error(400, kInvalidClientMetadata, why)));
  };
  auto type = request.header("Content-Type");
  if (!type || !(type->starts_with("application/json") &&
                 (type->size() == 16 || (*type)[16] == ';' || (*type)[16] == ' '))) {
    return bad("the request must be application/json (RFC 7591 §3.1)");
  }
  if (request.body().size() > kMaxBody) {
    return bad("the request is over " + std::to_string(kMaxBody) + " bytes");
  }
  auto metadata = request.json();
  if (!metadata || !metadata->is_object()) return bad("the request is not a JSON object");
  return std::move(*metadata);
}

// RFC 7592 §2 and RFC 6750 §3.1: the token is not this client's (or there is no such client).
http::Response registration_token_refused(const std::string& realm) {
  return http::bearer_error(401, realm, http::kInvalidToken,
                            "the registration access token is not valid for this client",
                            std::nullopt);
}

}  // namespace

http::Response RegistrationEndpoint::register_client(const http::Request& request) const {
  const std::string realm = options_.issuer;
  const std::string address = identity::throttle_address(request.peer_address());
  std::optional<std::string> initial_hash;
  if (!options_.open) {
    // RFC 7591 §3: the initial access token is a bearer token (RFC 6750).
    if (auto wait = throttle_->retry_after("", address)) {
      http::Response r =
          http::bearer_error(401, realm, http::kInvalidToken,
                             "too many invalid initial access tokens; try later", std::nullopt);
      r.headers.set("Retry-After", std::to_string(*wait));
      return r;
    }
    auto bearer = http::extract_bearer_token(request);
    if (!bearer) return http::bearer_error(400, realm, http::kInvalidRequest, bearer.error(), {});
    if (!*bearer) return http::bearer_error(401, realm, std::nullopt, std::nullopt, std::nullopt);
    initial_hash = crypto::sha256((*bearer)->value);
    auto live = clients_.find_initial_access_token(*initial_hash);
    if (!live) {
      return no_store(http::Response::error(503, "temporarily_unavailable", "store unavailable"));
    }
    if (!*live) {
      throttle_->record_failure("", address);
      return http::bearer_error(401, realm, http::kInvalidToken,
                                "the initial access token is unknown, expired or used up",
                                std::nullopt);
    }
  }
  if (options_.open) {
    // Open registration: at most the login throttle's failure budget (50 per 15 minutes) of
    // registrations per address (IPv6 per /64), so one caller cannot fill the store.
    if (auto wait = throttle_->retry_after("", address)) {
      http::Response r = no_store(http::Response::error(
          429, "temporarily_unavailable", "too many registrations from this address; try later"));
      r.headers.set("Retry-After", std::to_string(*wait));
      return r;
    }
  }
  auto metadata = read_metadata(request);
  if (!metadata) return metadata.error();
  auto client = client_from_metadata(*metadata, nullptr);
  if (!client) {
    const Failure& f = client.error();
    return no_store(http::Response::error(f.status, f.code, f.description));
  }
  Registration registration;
  registration.client = std::move(*client);
  store::Client& c = registration.client;
  c.client_id = crypto::random_identifier(16);
  c.created_at = clock_.now();
  if (uses_secret(c.auth_method)) {
    registration.client_secret = generate_client_secret();
    c.secret_sha256 = crypto::sha256(*registration.client_secret);
  }
  registration.registration_access_token = crypto::random_token(32);
  c.registration_token_sha256 = crypto::sha256(registration.registration_access_token);
  auto stored = clients_.register_client(c, initial_hash);
  if (!stored) {
    switch (stored.error().code) {
      case store::StoreError::Code::kNotFound:  // the token's last use went to another request
        return http::bearer_error(401, realm, http::kInvalidToken,
                                  "the initial access token is unknown, expired or used up",
                                  std::nullopt);
      case store::StoreError::Code::kInvalidArgument:
        return no_store(http::Response::error(400, kInvalidClientMetadata, stored.error().message));
      default:
        return no_store(
            http::Response::error(503, "temporarily_unavailable", "the store is unavailable"));
    }
  }
  if (options_.open) throttle_->record_failure("", address);  // counts toward the budget
  return answer(201, registration);
}

Result<store::Client, http::Response> RegistrationEndpoint::authorize_management(
    const http::Request& request, std::string* token) const {
  const std::string realm = options_.issuer;
  auto bearer = http::extract_bearer_token(request);
  if (!bearer) {
    return Err(http::bearer_error(400, realm, http::kInvalidRequest, bearer.error(), {}));
  }
  if (!*bearer) {
    return Err(http::bearer_error(401, realm, std::nullopt, std::nullopt, std::nullopt));
  }
  // RFC 7592 §2: an unknown client and a wrong token look alike (401), so the endpoint does not
  // tell which client ids exist.
  auto invalid = [&] { return Err(registration_token_refused(realm)); };
  auto client_id = request.param("client_id");
  if (!client_id) return invalid();
  auto found = clients_.find(*client_id);
  if (!found) {
    return Err(
        no_store(http::Response::error(503, "temporarily_unavailable", "store unavailable")));
  }
  if (!*found || !(*found)->self_registered() ||
      !crypto::equal_ct(crypto::sha256((*bearer)->value), (*found)->registration_token_sha256)) {
    return invalid();
  }
  *token = (*bearer)->value;
  return std::move(**found);
}

http::Response RegistrationEndpoint::read(const http::Request& request) const {
  std::string token;
  auto client = authorize_management(request, &token);
  if (!client) return client.error();
  // RFC 7592 §2.1: the secret is not shown again (only its hash is kept).
  return answer(200, Registration{std::move(*client), std::nullopt, token});
}

http::Response RegistrationEndpoint::update(const http::Request& request) const {
  // An operator's `tessera client update` may land between update_once's read of the client and
  // its write. The store then refuses the write (the client's revision moved) and the update is
  // made again on top of the operator's change, so neither undoes the other.
  constexpr int kAttempts = 3;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    if (auto answered = update_once(request)) return std::move(*answered);
  }
  return no_store(http::Response::error(503, "temporarily_unavailable",
                                        "the client kept changing while it was updated"));
}

std::optional<http::Response> RegistrationEndpoint::update_once(
    const http::Request& request) const {
  std::string token;
  auto existing = authorize_management(request, &token);
  if (!existing) return existing.error();
  auto metadata = read_metadata(request);
  if (!metadata) return metadata.error();
  auto bad = [](const std::string& why) {
    return no_store(http::Response::error(400, kInvalidClientMetadata, why));
  };
  // RFC 7592 §2.2: client_id is sent and is this client's; the server's own members are not
  // sent back; a client_secret sent must be the current one.
  auto id = metadata->find("client_id");
  if (id == metadata->end() || !id->is_string() ||
      id->get_ref<const std::string&>() != existing->client_id) {
    return bad("client_id must be sent and be this client's (RFC 7592 §2.2)");
  }
  for (std::string_view member : kServerOnlyMembers) {
    if (metadata->contains(member)) {
      return bad(std::string(member) + " must not be sent in an update (RFC 7592 §2.2)");
    }
  }
  if (auto secret = metadata->find("client_secret"); secret != metadata->end()) {
    if (!secret->is_string() || existing->secret_sha256.empty() ||
        !crypto::equal_ct(crypto::sha256(secret->get_ref<const std::string&>()),
                          existing->secret_sha256)) {
      return bad("client_secret is not the client's current secret (RFC 7592 §2.2)");
    }
  }
  auto client = client_from_metadata(*metadata, &*existing);
  if (!client) {
    const Failure& f = client.error();
    return no_store(http::Response::error(f.status, f.code, f.description));
  }
  // RFC 7592 §3: the answer carries a new registration access token and the one used here stops
  // working (as Keycloak does), so a token that leaked is good only until the client's next
  // update. The store swaps the hash only if no other update has swapped it since this one
  // was authorized, so two updates made with one token cannot both land and leave the client
  // holding a token that no longer works.
  Registration registration{std::move(*client), std::nullopt, crypto::random_token(32)};
  store::Client& c = registration.client;
  c.registration_token_sha256 = crypto::sha256(registration.registration_access_token);
  // The secret stays while the client authenticates with one; a client that starts to gets one.
  if (uses_secret(c.auth_method)) {
    if (!existing->secret_sha256.empty()) {
      c.secret_sha256 = existing->secret_sha256;
    } else {
      registration.client_secret = generate_client_secret();
      c.secret_sha256 = crypto::sha256(*registration.client_secret);
    }
  }
  auto updated = clients_.update_registration(c, existing->registration_token_sha256);
  cache_.invalidate(c.client_id);
  if (!updated) {
    if (updated.error().code == store::StoreError::Code::kInvalidArgument) {
      return bad(updated.error().message);
    }
    if (updated.error().code == store::StoreError::Code::kNotFound) {
      // Deleted, or updated with this token, since authorize_management read it.
      return registration_token_refused(options_.issuer);
    }
    if (updated.error().code == store::StoreError::Code::kConflict) return std::nullopt;
    return no_store(
        http::Response::error(503, "temporarily_unavailable", "the store is unavailable"));
  }
  return answer(200, registration);
}

http::Response RegistrationEndpoint::remove(const http::Request& request) const {
  std::string token;
  auto client = authorize_management(request, &token);
  if (!client) return client.error();
  // RFC 7592 §2.3: the client's grants and tokens end with it.
  auto revoked = grants_.revoke_grants_for_client(client->client_id);
  if (!revoked) {
    return no_store(
        http::Response::error(503, "temporarily_unavailable", "the store is unavailable"));
  }
  // Only while the token that authorized this is still the client's: an update that rotated it
  // (RFC 7592 §3) in the meantime wins, and this request is refused as if it came after it. The
  // grants revoked above then stay revoked (the token holder asked for that).
  auto removed = clients_.remove_registration(client->client_id, client->registration_token_sha256);
  cache_.invalidate(client->client_id);
  if (!removed) {
    if (removed.error().code == store::StoreError::Code::kNotFound) {
      return registration_token_refused(options_.issuer);
    }
    return no_store(
        http::Response::error(503, "temporarily_unavailable", "the store is unavailable"));
  }
  // A grant issued between the revocation above and the delete would outlive the client.
  if (!grants_.revoke_grants_for_client(client->client_id)) {
    return no_store(
        http::Response::error(503, "temporarily_unavailable", "the store is unavailable"));
  }
  return no_store(http::Response(204));
}

}  // namespace tessera::oauth
