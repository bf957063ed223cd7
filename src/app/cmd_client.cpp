// `tessera client ...`: administration of registered OAuth clients (issue 3, Administration).
//   create [--id ID] [--type public|confidential] [--auth-method M] [metadata...] [--json]
//   list [--json]
//   show CLIENT_ID [--json]
//   update CLIENT_ID [metadata...] [--rotate-secret] [--json]
//   delete CLIENT_ID
// Each works on the store named by --config FILE or --data-dir DIR (app/admin_store.h). Client
// secrets are generated here (256 bits), printed once and stored as their SHA-256 only
// (store/client_store.h). Metadata names follow RFC 7591 §2. A running server caches clients for
// up to 30 seconds (oauth/client_cache.h), so changes reach it within that time.
// Exit codes: 0 ok, 1 the operation failed (unknown client, id taken, store error), 2 bad input.
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "app/admin_store.h"
#include "app/commands.h"
#include "core/base64url.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/json.h"
#include "core/space_list.h"
#include "jose/jose.h"
#include "oauth/client_auth.h"
#include "oauth/client_metadata.h"
#include "oauth/scope.h"
#include "store/client_store.h"

namespace tessera::app {
namespace {

// The DER of the first certificate in `pem`; nullopt when there is none.
std::optional<std::string> pem_certificate_der(const std::string& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
  if (!bio) return std::nullopt;
  std::unique_ptr<X509, decltype(&X509_free)> cert(
      PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), &X509_free);
  if (!cert) return std::nullopt;
  const int length = i2d_X509(cert.get(), nullptr);
  if (length <= 0) return std::nullopt;
  std::string der(static_cast<size_t>(length), '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  i2d_X509(cert.get(), &out);
  return der;
}

// The client's yes/no settings: a flag that sets each, and on update a --no- flag that clears it.
struct Switch {
  const char* flag;
  const char* help;
  bool store::Client::*field;
};
constexpr std::array kSwitches = {
    Switch{"--skip-consent", "First-party client: users are not asked for consent",
           &store::Client::skip_consent},
    Switch{"--may-impersonate", "May exchange tokens without an actor (RFC 8693)",
           &store::Client::may_impersonate},
    Switch{"--dpop-bound-access-tokens",
           "Always uses DPoP: token requests without a proof are refused (RFC 9449 §5.2)",
           &store::Client::dpop_bound_access_tokens},
    Switch{"--require-pushed-authorization-requests",
           "Authorization requests must be pushed first (PAR, RFC 9126 §6)",
           &store::Client::require_pushed_authorization_requests},
    Switch{"--tls-client-certificate-bound-access-tokens",
           "Tokens are bound to the TLS client certificate of the token request (RFC 8705 §3)",
           &store::Client::tls_client_certificate_bound_access_tokens},
    Switch{"--require-signed-request-object",
           "Authorization requests must be signed request objects (RFC 9101 §10.5)",
           &store::Client::require_signed_request_object},
    Switch{"--backchannel-logout-session-required",
           "Logout tokens must carry sid (OpenID Back-Channel Logout §2.2; Tessera's always do)",
           &store::Client::backchannel_logout_session_required},
    Switch{"--frontchannel-logout-session-required",
           "The front-channel logout page wants iss and sid (OpenID Front-Channel Logout §2; "
           "Tessera always sends them)",
           &store::Client::frontchannel_logout_session_required},
    Switch{"--fapi2",
           "Hold the client to the FAPI 2.0 Security Profile: PAR, private_key_jwt or mTLS, "
           "sender-constrained tokens, PS256/ES256/EdDSA",
           &store::Client::fapi2},
};

std::string withdraw_flag(const Switch& on) { return "--no-" + std::string(on.flag).substr(2); }

// What create and update accept. Lists given on the command line replace the stored list.
struct MetadataOptions {
  std::string auth_method;
  std::vector<std::string> grant_types;
  std::vector<std::string> redirect_uris;
  std::vector<std::string> post_logout_redirect_uris;
  std::vector<std::string> scopes;
  std::vector<std::string> audiences;
  std::vector<std::string> details_types;  // RFC 9396 §10.2
  std::string access_token_format;
  int64_t access_token_lifetime = 0;
  int64_t refresh_token_lifetime = 0;
  std::string jwks_file;
  std::string jwks_uri;
  // RFC 8705 §2.1.2: one certificate name per metadata parameter (only one may be given).
  std::string subject_dn;
  std::string san_dns;
  std::string san_uri;
  std::string san_ip;
  std::string san_email;
  std::vector<std::string> certificate_files;  // §2.2: self-signed certificates, PEM
  std::string backchannel_logout_uri;
  std::string frontchannel_logout_uri;
  // RFC 7591 §2 display metadata.
  std::string client_name;
  std::string client_uri;
  std::string logo_uri;
  std::string policy_uri;
  std::string tos_uri;
  std::vector<std::string> contacts;
  // kSwitches: each one's flag, and on update its --no- flag (CLI11 writes to these).
  std::array<bool, kSwitches.size()> set{};
  std::array<bool, kSwitches.size()> withdraw{};
  bool json = false;
  // Which options were given (CLI::Option::count), filled when the command line is parsed.
  CLI::App* cmd = nullptr;
  bool given(const std::string& name) const {
    const CLI::Option* option = cmd->get_option_no_throw(name);
    return option != nullptr && option->count() > 0;
  }
};

void add_metadata_options(CLI::App* cmd, MetadataOptions& o, bool update) {
  o.cmd = cmd;
  cmd->add_option("--auth-method", o.auth_method,
                  "token_endpoint_auth_method: client_secret_basic, client_secret_post, "
                  "private_key_jwt, tls_client_auth, self_signed_tls_client_auth or none "
                  "(default: client_secret_basic for confidential, none for public clients)");
  cmd->add_option("--grant-type", o.grant_types,
                  "Grant type (repeatable): authorization_code, refresh_token, "
                  "client_credentials, urn:ietf:params:oauth:grant-type:token-exchange, "
                  "urn:ietf:params:oauth:grant-type:device_code, "
                  "urn:ietf:params:oauth:grant-type:jwt-bearer, "
                  "urn:openid:params:grant-type:ciba");
  cmd->add_option("--redirect-uri", o.redirect_uris, "Redirect URI (repeatable)");
  cmd->add_option("--post-logout-redirect-uri", o.post_logout_redirect_uris,
                  "Post-logout redirect URI (repeatable)");
  cmd->add_option("--scope", o.scopes, "Allowed scopes (repeatable or space-separated)");
  cmd->add_option("--audience", o.audiences, "Allowed audience / resource (repeatable)");
  cmd->add_option("--authorization-details-type", o.details_types,
                  "RFC 9396 authorization details type the client may ask for (repeatable; none: "
                  "every type the server knows)");
  cmd->add_option("--access-token-format", o.access_token_format, "jwt or opaque");
  cmd->add_option("--access-token-lifetime", o.access_token_lifetime, "Seconds (1-86400)");
  cmd->add_option("--refresh-token-lifetime", o.refresh_token_lifetime,
                  "Seconds: absolute lifetime of a refresh-token family (1-7776000)");
  cmd->add_option("--jwks-file", o.jwks_file,
                  "JWKS (or one JWK) with the client's public keys: for private_key_jwt, and "
                  "for signed request objects (JAR, RFC 9101) of any client");
  // RFC 7591 §2: what users see (the login and consent pages) and who answers for the client.
  cmd->add_option("--name", o.client_name,
                  "client_name: the name the login and consent pages show (default: the "
                  "client_id); empty to remove");
  cmd->add_option("--client-uri", o.client_uri,
                  "client_uri: the client's home page, linked from its name on the consent page");
  cmd->add_option("--logo-uri", o.logo_uri, "logo_uri: kept and returned in its metadata");
  cmd->add_option("--policy-uri", o.policy_uri,
                  "policy_uri: its privacy policy, linked from the consent page");
  cmd->add_option("--tos-uri", o.tos_uri,
                  "tos_uri: its terms of service, linked from the consent page");
  cmd->add_option("--contact", o.contacts,
                  "contacts: an e-mail address of someone responsible for the client "
                  "(repeatable; replaces the list; one empty value removes it)");
  cmd->add_option("--jwks-uri", o.jwks_uri,
                  "URL of the client's JWK Set, instead of --jwks-file (RFC 7591 §2): https, or "
                  "http to a loopback address; fetched when needed, again on an unknown kid; "
                  "empty to remove");
  // RFC 8705 §2.1.2: the one name a tls_client_auth client's certificate must carry.
  std::vector<CLI::Option*> names = {
      cmd->add_option("--tls-client-auth-subject-dn", o.subject_dn,
                      "tls_client_auth: the certificate's subject DN, RFC 4514 "
                      "(e.g. CN=client,O=Example,C=SE)"),
      cmd->add_option("--tls-client-auth-san-dns", o.san_dns,
                      "tls_client_auth: a dNSName the certificate carries"),
      cmd->add_option("--tls-client-auth-san-uri", o.san_uri,
                      "tls_client_auth: a URI subjectAltName the certificate carries"),
      cmd->add_option("--tls-client-auth-san-ip", o.san_ip,
                      "tls_client_auth: an IP address subjectAltName (IPv4 or IPv6)"),
      cmd->add_option("--tls-client-auth-san-email", o.san_email,
                      "tls_client_auth: an rfc822Name subjectAltName"),
  };
  for (CLI::Option* a : names) {
    for (CLI::Option* b : names) {
      if (a != b) a->excludes(b);
    }
  }
  cmd->add_option("--backchannel-logout-uri", o.backchannel_logout_uri,
                  "Where logout tokens are POSTed when a user's session ends (OpenID "
                  "Back-Channel Logout); an empty value removes it");
  cmd->add_option("--frontchannel-logout-uri", o.frontchannel_logout_uri,
                  "A page the signed-out page frames when a user's session ends (OpenID "
                  "Front-Channel Logout); an empty value removes it");
  cmd->add_option("--certificate-file", o.certificate_files,
                  "self_signed_tls_client_auth: the client's certificate, PEM (repeatable)");
  for (size_t i = 0; i < kSwitches.size(); ++i) {
    const Switch& on = kSwitches[i];
    CLI::Option* flag = cmd->add_flag(on.flag, o.set[i], on.help);
    if (update) {
      flag->excludes(
          cmd->add_flag(withdraw_flag(on), o.withdraw[i], "Withdraw " + std::string(on.flag)));
    }
  }
  cmd->add_flag("--json", o.json, "Print the result as JSON");
}

// Every --scope value may hold several space-separated scope tokens (RFC 6749 §3.3).
Result<std::vector<std::string>, Failure> parse_scopes(const std::vector<std::string>& values) {
  std::vector<std::string> out;
  for (const std::string& value : values) {
    auto tokens = oauth::parse_scope(value);
    if (!tokens) {
      return Err(
          Failure{kExitBadInput, "--scope " + value + ": not a valid scope (RFC 6749 §3.3)"});
    }
    for (std::string& token : *tokens) {
      if (!list_contains(out, token)) out.push_back(std::move(token));
    }
  }
  return out;
}

// The client's public keys from --jwks-file, in canonical form. RFC 7523 §2.2 verifies the
// client's assertion with a public key; a private or symmetric key has no place here.
Result<std::string, Failure> read_jwks_file(const std::string& file) {
  std::ifstream in(file);
  if (!in) return Err(Failure{kExitBadInput, "cannot read --jwks-file " + file});
  std::stringstream text;
  text << in.rdbuf();
  auto jwks = jose::Jwks::parse_key_or_set(text.str());
  if (!jwks) {
    return Err(Failure{kExitBadInput, "--jwks-file " + file +
                                          ": not a JWK or JWKS: " + jose::to_string(jwks.error())});
  }
  if (auto problem = oauth::client_keys_problem(*jwks)) {
    return Err(Failure{kExitBadInput, "--jwks-file " + file + ": " + *problem});
  }
  return jwks->to_json(false).dump();
}

// RFC 8705 §2.2.2: self-signed certificates registered as a JWK Set, each key with its
// certificate in x5c (RFC 7517 §4.7: base64 DER).
Result<std::string, Failure> read_certificate_files(const std::vector<std::string>& files) {
  json::Json keys = json::Json::array();
  for (const std::string& file : files) {
    std::ifstream in(file);
    if (!in) return Err(Failure{kExitBadInput, "cannot read --certificate-file " + file});
    std::stringstream text;
    text << in.rdbuf();
    const std::string pem = text.str();
    if (pem.find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
      return Err(Failure{kExitBadInput, "--certificate-file " + file + ": not a PEM certificate"});
    }
    auto key = jose::Jwk::from_pem(pem);
    if (!key) {
      return Err(Failure{kExitBadInput,
                         "--certificate-file " + file + ": " + jose::to_string(key.error())});
    }
    auto der = pem_certificate_der(pem);
    if (!der) {
      return Err(Failure{kExitBadInput, "--certificate-file " + file + ": not a PEM certificate"});
    }
    json::Json jwk = key->to_json(false);
    jwk["x5c"] = json::Json::array({base64::encode(*der)});
    keys.push_back(std::move(jwk));
  }
  return json::Json{{"keys", keys}}.dump();
}

// The one --tls-client-auth-* name given; nullopt when none is.
std::optional<Result<store::CertificateName, Failure>> certificate_name(const MetadataOptions& o) {
  using store::CertificateNameType;
  const std::tuple<const char*, const std::string*, CertificateNameType> options[] = {
      {"--tls-client-auth-subject-dn", &o.subject_dn, CertificateNameType::kSubjectDn},
      {"--tls-client-auth-san-dns", &o.san_dns, CertificateNameType::kSanDns},
      {"--tls-client-auth-san-uri", &o.san_uri, CertificateNameType::kSanUri},
      {"--tls-client-auth-san-ip", &o.san_ip, CertificateNameType::kSanIp},
      {"--tls-client-auth-san-email", &o.san_email, CertificateNameType::kSanEmail},
  };
  for (const auto& [flag, value, type] : options) {
    if (!o.given(flag)) continue;
    if (value->empty()) {
      return Result<store::CertificateName, Failure>(
          Err(Failure{kExitBadInput, std::string(flag) + " must not be empty"}));
    }
    std::string text = *value;
    if (type == CertificateNameType::kSanIp) {
      // Stored as inet_ntop prints it (RFC 5952 for IPv6), the form the server reads from
      // certificates.
      auto normal = oauth::canonical_ip(text);
      if (!normal) {
        return Result<store::CertificateName, Failure>(
            Err(Failure{kExitBadInput, std::string(flag) + " " + text + ": not an IP address"}));
      }
      text = std::move(*normal);
    }
    return Result<store::CertificateName, Failure>(store::CertificateName{type, std::move(text)});
  }
  return std::nullopt;
}

Result<store::ClientAuthMethod, Failure> parse_method(const std::string& text) {
  auto method = store::parse_client_auth_method(text);
  if (!method) {
    return Err(Failure{kExitBadInput, "--auth-method " + text +
                                          ": expected client_secret_basic, client_secret_post, "
                                          "private_key_jwt, tls_client_auth, "
                                          "self_signed_tls_client_auth or none"});
  }
  return *method;
}

// Applies the given options to `c`. Returns the new secret when the auth method now needs one
// and the client had none (or `rotate_secret`).
Result<std::optional<std::string>, Failure> apply(const MetadataOptions& o, store::Client& c,
                                                  bool creating, bool rotate_secret) {
  auto bad = [](std::string message) { return Err(Failure{kExitBadInput, std::move(message)}); };
  const store::ClientAuthMethod previous_method = c.auth_method;
  if (o.given("--auth-method")) {
    auto method = parse_method(o.auth_method);
    if (!method) return Err(method.error());
    c.auth_method = *method;
  }
  if (o.given("--grant-type")) {
    for (const std::string& g : o.grant_types) {
      if (!oauth::is_known_grant_type(g)) {
        std::string message = "--grant-type " + g + ": expected one of";
        for (std::string_view known : oauth::known_grant_types()) {
          message.append(message.back() == 'f' ? " " : ", ").append(known);
        }
        return bad(message);
      }
    }
    c.grant_types.clear();
    for (const std::string& g : o.grant_types) {
      if (!list_contains(c.grant_types, g)) c.grant_types.push_back(g);
    }
  }
  for (auto [name, values, field] :
       {std::tuple{"--redirect-uri", &o.redirect_uris, &c.redirect_uris},
        std::tuple{"--post-logout-redirect-uri", &o.post_logout_redirect_uris,
                   &c.post_logout_redirect_uris}}) {
    if (!o.given(name)) continue;
    field->clear();
    for (const std::string& uri : *values) {
      if (auto problem = oauth::redirect_uri_problem(uri)) {
        return bad(std::string(name) + " " + uri + ": " + *problem);
      }
      if (!list_contains(*field, uri)) field->push_back(uri);
    }
  }
  if (o.given("--scope")) {
    auto scopes = parse_scopes(o.scopes);
    if (!scopes) return Err(scopes.error());
    c.scopes = std::move(*scopes);
  }
  if (o.given("--audience")) {
    c.audiences.clear();
    for (const std::string& a : o.audiences) {
      if (a.empty() || a.find_first_of(" \t\r\n") != std::string::npos) {
        return bad("--audience must be a non-empty name or URI without spaces");
      }
      if (!list_contains(c.audiences, a)) c.audiences.push_back(a);
    }
  }
  if (o.given("--authorization-details-type")) {
    c.authorization_details_types.clear();
    for (const std::string& t : o.details_types) {
      if (t.empty() || t.find_first_of(" \t\r\n") != std::string::npos) {
        return bad("--authorization-details-type must be a type name without spaces");
      }
      if (!list_contains(c.authorization_details_types, t)) {
        c.authorization_details_types.push_back(t);
      }
    }
  }
  if (o.given("--access-token-format")) {
    auto format = store::parse_access_token_format(o.access_token_format);
    if (!format) return bad("--access-token-format " + o.access_token_format + ": jwt or opaque");
    c.access_token_format = *format;
  }
  if (o.given("--access-token-lifetime")) {
    if (o.access_token_lifetime < 1 || o.access_token_lifetime > store::kMaxAccessTokenLifetime) {
      return bad("--access-token-lifetime must be 1 to " +
                 std::to_string(store::kMaxAccessTokenLifetime) + " seconds");
    }
    c.access_token_lifetime = o.access_token_lifetime;
  }
  if (o.given("--refresh-token-lifetime")) {
    if (o.refresh_token_lifetime < 1 ||
        o.refresh_token_lifetime > store::kMaxRefreshTokenLifetime) {
      return bad("--refresh-token-lifetime must be 1 to " +
                 std::to_string(store::kMaxRefreshTokenLifetime) + " seconds");
    }
    c.refresh_token_lifetime = o.refresh_token_lifetime;
  }
  for (auto [name, value, field] :
       {std::tuple{"--backchannel-logout-uri", &o.backchannel_logout_uri,
                   &c.backchannel_logout_uri},
        std::tuple{"--frontchannel-logout-uri", &o.frontchannel_logout_uri,
                   &c.frontchannel_logout_uri}}) {
    if (!o.given(name)) continue;
    if (!value->empty()) {
      if (auto problem = oauth::logout_uri_problem(*value)) {
        return bad(std::string(name) + " " + *value + ": " + *problem);
      }
      // A client that registered itself has its POSTs dialled at public addresses only
      // (oauth/backchannel_logout.cpp): a local URI would fail every time, so it is refused.
      if (field == &c.backchannel_logout_uri && c.self_registered()) {
        if (auto problem = oauth::outbound_uri_problem(*value, name, false)) {
          return bad(*problem +
                     " (the client registered itself: its URIs are called at public "
                     "addresses only)");
        }
      }
    }
    *field = *value;
  }
  for (size_t i = 0; i < kSwitches.size(); ++i) {
    if (o.given(kSwitches[i].flag)) c.*kSwitches[i].field = true;
    if (o.given(withdraw_flag(kSwitches[i]))) c.*kSwitches[i].field = false;
  }

  for (const auto& [flag, value, field] : {std::tuple{"--name", &o.client_name, &c.client_name},
                                           std::tuple{"--client-uri", &o.client_uri, &c.client_uri},
                                           std::tuple{"--logo-uri", &o.logo_uri, &c.logo_uri},
                                           std::tuple{"--policy-uri", &o.policy_uri, &c.policy_uri},
                                           std::tuple{"--tos-uri", &o.tos_uri, &c.tos_uri}}) {
    if (o.given(flag)) *field = *value;
  }
  if (o.given("--contact")) {
    c.contacts.clear();
    for (const std::string& contact : o.contacts) {
      if (!contact.empty()) c.contacts.push_back(contact);
    }
  }
  if (o.given("--jwks-file")) {
    // private_key_jwt's keys (RFC 7523 §2.2), and any client's request object keys (RFC 9101);
    // a self-signed client registers certificates instead.
    if (c.auth_method == store::ClientAuthMethod::kSelfSignedTlsClientAuth) {
      return bad("--jwks-file: a self_signed_tls_client_auth client uses --certificate-file");
    }
    if (o.given("--jwks-uri") && !o.jwks_uri.empty()) {
      return bad("--jwks-file and --jwks-uri: a client registers one or the other (RFC 7591 §2)");
    }
    auto jwks = read_jwks_file(o.jwks_file);
    if (!jwks) return Err(jwks.error());
    c.jwks_json = std::move(*jwks);
    c.jwks_uri.clear();
  }
  if (o.given("--jwks-uri")) {
    if (!o.jwks_uri.empty()) {
      // Loopback http for an operator's own test setup, but not for a client that registered
      // itself: its set is fetched from public addresses only (oauth/client_auth.cpp).
      if (auto problem =
              oauth::jwks_uri_problem(o.jwks_uri, /*allow_loopback_http=*/!c.self_registered())) {
        return bad("--jwks-uri: " + *problem);
      }
      c.jwks_json.reset();
    }
    c.jwks_uri = o.jwks_uri;
  }
  if (o.given("--certificate-file")) {
    if (c.auth_method != store::ClientAuthMethod::kSelfSignedTlsClientAuth) {
      return bad("--certificate-file is for self_signed_tls_client_auth clients");
    }
    if (o.given("--jwks-uri") && !o.jwks_uri.empty()) {
      return bad("--certificate-file and --jwks-uri: a client registers one or the other");
    }
    auto jwks = read_certificate_files(o.certificate_files);
    if (!jwks) return Err(jwks.error());
    c.jwks_json = std::move(*jwks);
    c.jwks_uri.clear();
  }
  if (auto name = certificate_name(o)) {
    if (c.auth_method != store::ClientAuthMethod::kTlsClientAuth) {
      return bad("--tls-client-auth-* names are for tls_client_auth clients");
    }
    if (!name->ok()) return Err(name->error());
    c.tls_client_auth_name = std::move(**name);
  }
  if (c.auth_method == store::ClientAuthMethod::kPrivateKeyJwt) {
    if (!c.jwks_json && c.jwks_uri.empty()) {
      return bad("a private_key_jwt client needs --jwks-file or --jwks-uri (RFC 7523 §2.2)");
    }
    c.secret_sha256.clear();
  } else if (c.auth_method == store::ClientAuthMethod::kSelfSignedTlsClientAuth) {
    // RFC 8705 §2.2.2: its certificates, registered here or published at its jwks_uri, given
    // with the switch to this method (a private_key_jwt client's set holds keys, not
    // certificates).
    const bool has_certificates = c.jwks_json.has_value() || !c.jwks_uri.empty();
    const bool given =
        o.given("--certificate-file") || (o.given("--jwks-uri") && !o.jwks_uri.empty());
    if (!has_certificates || (previous_method != c.auth_method && !given)) {
      return bad(
          "a self_signed_tls_client_auth client needs --certificate-file or --jwks-uri "
          "(RFC 8705 §2.2.2)");
    }
  } else if (previous_method == store::ClientAuthMethod::kSelfSignedTlsClientAuth &&
             !o.given("--jwks-file")) {
    c.jwks_json.reset();  // certificates, not request object keys
  }
  if (c.auth_method == store::ClientAuthMethod::kTlsClientAuth) {
    if (!c.tls_client_auth_name) {
      return bad(
          "a tls_client_auth client needs one --tls-client-auth-subject-dn or "
          "--tls-client-auth-san-* (RFC 8705 §2.1.2)");
    }
  } else {
    c.tls_client_auth_name.reset();
  }
  if (!oauth::uses_secret(c.auth_method)) c.secret_sha256.clear();
  if (rotate_secret && !oauth::uses_secret(c.auth_method)) {
    return bad("--rotate-secret: client " + c.client_id + " authenticates with " +
               std::string(store::to_string(c.auth_method)) + ", not a secret");
  }

  if (creating && c.grant_types.empty()) {
    // Default: a client with redirect URIs logs users in; one without is a service.
    if (!c.redirect_uris.empty() || c.type == store::ClientType::kPublic) {
      c.grant_types = {"authorization_code", "refresh_token"};
    } else {
      c.grant_types = {"client_credentials"};
    }
  }
  if (auto problem = oauth::client_consistency_problem(c)) return bad(*problem);

  if (oauth::uses_secret(c.auth_method) &&
      (rotate_secret || creating || !oauth::uses_secret(previous_method) ||
       c.secret_sha256.empty())) {
    std::string secret = oauth::generate_client_secret();
    c.secret_sha256 = crypto::sha256(secret);
    return std::optional<std::string>(std::move(secret));
  }
  return std::optional<std::string>();
}

// RFC 7591 metadata names, and Tessera's own settings beside them.
json::Json client_json(const store::Client& c) {
  json::Json out = oauth::client_metadata_json(c);
  out["client_type"] = store::to_string(c.type);
  out["audiences"] = c.audiences;
  out["access_token_format"] = store::to_string(c.access_token_format);
  out["access_token_lifetime"] = c.access_token_lifetime;
  out["refresh_token_lifetime"] = c.refresh_token_lifetime;
  out["skip_consent"] = c.skip_consent;
  out["may_impersonate"] = c.may_impersonate;
  out["fapi2"] = c.fapi2;
  out["created_at"] = c.created_at;
  out["dynamically_registered"] = c.self_registered();
  return out;
}

void print_client_text(const store::Client& c) {
  auto joined = [](const std::vector<std::string>& list) {
    std::string out;
    for (const std::string& v : list) out += (out.empty() ? "" : " ") + v;
    return out.empty() ? std::string("-") : out;
  };
  std::printf("client_id:                  %s\n", c.client_id.c_str());
  std::printf("type:                       %s\n", std::string(store::to_string(c.type)).c_str());
  std::printf("auth method:                %s\n",
              std::string(store::to_string(c.auth_method)).c_str());
  std::printf("grant types:                %s\n", joined(c.grant_types).c_str());
  std::printf("redirect uris:              %s\n", joined(c.redirect_uris).c_str());
  std::printf("post-logout redirect uris:  %s\n", joined(c.post_logout_redirect_uris).c_str());
  std::printf("scope:                      %s\n", joined(c.scopes).c_str());
  std::printf("audiences:                  %s\n", joined(c.audiences).c_str());
  std::printf("authorization details:      %s\n", joined(c.authorization_details_types).c_str());
  std::printf("access token:               %s, %llds\n",
              std::string(store::to_string(c.access_token_format)).c_str(),
              static_cast<long long>(c.access_token_lifetime));
  std::printf("refresh token lifetime:     %llds\n",
              static_cast<long long>(c.refresh_token_lifetime));
  std::printf("skip consent:               %s\n", c.skip_consent ? "yes" : "no");
  std::printf("may impersonate:            %s\n", c.may_impersonate ? "yes" : "no");
  std::printf("dpop-bound access tokens:   %s\n", c.dpop_bound_access_tokens ? "yes" : "no");
  std::printf("pushed requests required:   %s\n",
              c.require_pushed_authorization_requests ? "yes" : "no");
  std::printf("certificate-bound tokens:   %s\n",
              c.tls_client_certificate_bound_access_tokens ? "yes" : "no");
  std::printf("signed requests required:   %s\n", c.require_signed_request_object ? "yes" : "no");
  std::printf("FAPI 2.0 profile:           %s\n", c.fapi2 ? "yes" : "no");
  std::printf("back-channel logout uri:    %s\n",
              c.backchannel_logout_uri.empty() ? "-" : c.backchannel_logout_uri.c_str());
  std::printf("front-channel logout uri:   %s\n",
              c.frontchannel_logout_uri.empty() ? "-" : c.frontchannel_logout_uri.c_str());
  if (c.tls_client_auth_name) {
    std::printf("certificate name:           %s=%s\n",
                std::string(store::metadata_name(c.tls_client_auth_name->type)).c_str(),
                c.tls_client_auth_name->value.c_str());
  }
  if (c.jwks_json) std::printf("jwks:                       %s\n", c.jwks_json->c_str());
  if (!c.jwks_uri.empty()) std::printf("jwks_uri:                   %s\n", c.jwks_uri.c_str());
  for (const auto& [label, value] : {std::pair{"name:                       ", &c.client_name},
                                     std::pair{"client uri:                 ", &c.client_uri},
                                     std::pair{"logo uri:                   ", &c.logo_uri},
                                     std::pair{"policy uri:                 ", &c.policy_uri},
                                     std::pair{"terms of service uri:       ", &c.tos_uri}}) {
    if (!value->empty()) std::printf("%s%s\n", label, value->c_str());
  }
  if (!c.contacts.empty()) {
    std::printf("contacts:                   %s\n", joined(c.contacts).c_str());
  }
}

// Prints the client and, once, its new secret.
// `secret` and `registration_token`, when issued, are shown this once.
void print_result(const store::Client& c, const std::optional<std::string>& secret, bool as_json,
                  const char* verb,
                  const std::optional<std::string>& registration_token = std::nullopt) {
  if (as_json) {
    json::Json out = client_json(c);
    if (secret) out["client_secret"] = *secret;
    if (registration_token) out["registration_access_token"] = *registration_token;
    std::printf("%s\n", out.dump().c_str());
    return;
  }
  std::printf("%s client %s\n", verb, c.client_id.c_str());
  print_client_text(c);
  if (secret) std::printf("client_secret:              %s\n", secret->c_str());
  if (registration_token) {
    std::printf("registration_access_token:  %s\n", registration_token->c_str());
  }
  if (secret || registration_token) std::printf("(shown once: only its hash is stored)\n");
}

// RFC 6749 §2.2 / Appendix A.1: client_id is VSCHAR; Tessera leaves out the space so ids survive
// shells and logs unquoted.
bool acceptable_client_id(const std::string& id) {
  if (id.empty() || id.size() > 200) return false;
  return std::all_of(id.begin(), id.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

struct CreateOptions {
  std::string id;
  std::string type = "confidential";
  MetadataOptions metadata;
};

Result<Ok, Failure> create_client(const StoreChoice& choice, const CreateOptions& o) {
  store::Client c;
  c.client_id = o.id.empty() ? crypto::random_identifier(16) : o.id;
  if (!acceptable_client_id(c.client_id)) {
    return Err(
        Failure{kExitBadInput, "--id must be 1 to 200 printable ASCII characters without spaces"});
  }
  auto type = store::parse_client_type(o.type);
  if (!type) return Err(Failure{kExitBadInput, "--type " + o.type + ": public or confidential"});
  c.type = *type;
  c.auth_method = c.type == store::ClientType::kPublic
                      ? store::ClientAuthMethod::kNone
                      : store::ClientAuthMethod::kClientSecretBasic;
  auto secret = apply(o.metadata, c, /*creating=*/true, /*rotate_secret=*/false);
  if (!secret) return Err(secret.error());
  auto store = open_chosen_store(choice);
  if (!store) return Err(store.error());
  c.created_at = (*store)->clock().now();
  auto inserted = (*store)->clients().insert(c);
  if (!inserted) return Err(store_failure(inserted.error()));
  print_result(c, *secret, o.metadata.json, "created");
  return Ok{};
}

Result<store::Client, Failure> find_client(store::Store& store, const std::string& id) {
  auto found = store.clients().find(id);
  if (!found) return Err(store_failure(found.error()));
  if (!*found) return Err(Failure{kExitFailed, "no such client: " + id});
  return std::move(**found);
}

Result<Ok, Failure> list_clients(const StoreChoice& choice, bool as_json) {
  auto store = open_chosen_store(choice);
  if (!store) return Err(store.error());
  auto clients = (*store)->clients().list();
  if (!clients) return Err(store_failure(clients.error()));
  if (as_json) {
    json::Json out = json::Json::array();
    for (const auto& c : *clients) out.push_back(client_json(c));
    std::printf("%s\n", out.dump().c_str());
    return Ok{};
  }
  std::printf("%-32s %-12s %-20s %s\n", "CLIENT_ID", "TYPE", "AUTH METHOD", "GRANT TYPES");
  for (const auto& c : *clients) {
    std::string grants;
    for (const auto& g : c.grant_types) grants += (grants.empty() ? "" : ",") + g;
    std::printf("%-32s %-12s %-20s %s\n", c.client_id.c_str(),
                std::string(store::to_string(c.type)).c_str(),
                std::string(store::to_string(c.auth_method)).c_str(), grants.c_str());
  }
  return Ok{};
}

Result<Ok, Failure> show_client(const StoreChoice& choice, const std::string& id, bool as_json) {
  auto store = open_chosen_store(choice);
  if (!store) return Err(store.error());
  auto c = find_client(**store, id);
  if (!c) return Err(c.error());
  if (as_json) {
    std::printf("%s\n", client_json(*c).dump().c_str());
  } else {
    print_client_text(*c);
  }
  return Ok{};
}

struct UpdateOptions {
  std::string id;
  bool rotate_secret = false;
  bool rotate_registration_token = false;
  MetadataOptions metadata;
};

Result<Ok, Failure> update_client(const StoreChoice& choice, const UpdateOptions& o) {
  auto store = open_chosen_store(choice);
  if (!store) return Err(store.error());
  auto c = find_client(**store, o.id);
  if (!c) return Err(c.error());
  std::optional<std::string> registration_token;
  if (o.rotate_registration_token) {
    // RFC 7592 §3 rotates the token in every update's answer; a client that lost that answer
    // gets a new one from an operator.
    if (!c->self_registered()) {
      return Err(Failure{kExitFailed, "client " + o.id +
                                          " was not registered dynamically (RFC 7591): it has "
                                          "no registration access token to replace"});
    }
    registration_token = crypto::random_token(32);
    c->registration_token_sha256 = crypto::sha256(*registration_token);
  }
  auto secret = apply(o.metadata, *c, /*creating=*/false, o.rotate_secret);
  if (!secret) return Err(secret.error());
  // Another operator, or a client that registered itself (RFC 7592 §3, which also rotates its
  // token), may change the client while this runs: the write lands only if nothing has, so
  // neither change undoes the other and a spent token never comes back.
  auto updated = (*store)->clients().update(*c);
  if (!updated && (updated.error().code == store::StoreError::Code::kConflict ||
                   updated.error().code == store::StoreError::Code::kNotFound)) {
    return Err(Failure{kExitFailed, "client " + o.id +
                                        " was deleted or changed while this ran; nothing was "
                                        "changed: run the command again"});
  }
  if (!updated) return Err(store_failure(updated.error()));
  print_result(*c, *secret, o.metadata.json, "updated", registration_token);
  return Ok{};
}

Result<Ok, Failure> delete_client(const StoreChoice& choice, const std::string& id) {
  auto store = open_chosen_store(choice);
  if (!store) return Err(store.error());
  // Its grants, tokens and unused codes end with it (as at RFC 7592 §2.3 deregistration).
  auto revoked = (*store)->grants().revoke_grants_for_client(id);
  if (!revoked) return Err(store_failure(revoked.error()));
  auto removed = (*store)->clients().remove(id);
  if (!removed) {
    if (removed.error().code == store::StoreError::Code::kNotFound) {
      return Err(Failure{kExitFailed, "no such client: " + id});
    }
    return Err(store_failure(removed.error()));
  }
  std::printf("deleted client %s\n", id.c_str());
  return Ok{};
}

// RFC 7591 §3 initial access tokens: `tessera client initial-token create|list|revoke`.
struct InitialTokenOptions {
  int64_t uses = 1;
  int64_t expires_in = 86400;
  std::string label;
  bool json = false;
};

json::Json initial_token_json(const store::InitialAccessToken& t) {
  return {{"id", t.id},
          {"label", t.label},
          {"uses_left", t.uses_left},
          {"created_at", t.created_at},
          {"expires_at", t.expires_at}};
}

Result<Ok, Failure> create_initial_token(const StoreChoice& choice, const InitialTokenOptions& o) {
  if (o.uses < 1 || o.uses > 1'000'000) {
    return Err(Failure{kExitBadInput, "--uses must be 1 to 1000000"});
  }
  if (o.expires_in < 60 || o.expires_in > store::kMaxRefreshTokenLifetime) {
    return Err(Failure{kExitBadInput, "--expires-in must be 60 to " +
                                          std::to_string(store::kMaxRefreshTokenLifetime) +
                                          " seconds"});
  }
  auto store = open_chosen_store(choice);
  if (!store) return Err(store.error());
  const std::string token = crypto::random_token(32);
  const int64_t now = SystemClock{}.now();
  store::InitialAccessToken t{crypto::random_identifier(8),
                              crypto::sha256(token),
                              o.label,
                              o.uses,
                              now,
                              now + o.expires_in};
  auto created = (*store)->clients().create_initial_access_token(t);
  if (!created) return Err(store_failure(created.error()));
  if (o.json) {
    json::Json out = initial_token_json(t);
    out["token"] = token;
    std::printf("%s\n", out.dump().c_str());
  } else {
    std::printf("created initial access token %s (%lld uses, expires in %llds)\n", t.id.c_str(),
                static_cast<long long>(t.uses_left), static_cast<long long>(o.expires_in));
    std::printf("token: %s\n(shown once: only its hash is stored)\n", token.c_str());
  }
  return Ok{};
}

Result<Ok, Failure> list_initial_tokens(const StoreChoice& choice, bool as_json) {
  auto store = open_chosen_store(choice);
  if (!store) return Err(store.error());
  auto tokens = (*store)->clients().list_initial_access_tokens();
  if (!tokens) return Err(store_failure(tokens.error()));
  if (as_json) {
    json::Json out = json::Json::array();
    for (const auto& t : *tokens) out.push_back(initial_token_json(t));
    std::printf("%s\n", out.dump().c_str());
    return Ok{};
  }
  std::printf("%-14s %-10s %-12s %s\n", "ID", "USES LEFT", "EXPIRES AT", "LABEL");
  for (const auto& t : *tokens) {
    std::printf("%-14s %-10lld %-12lld %s\n", t.id.c_str(), static_cast<long long>(t.uses_left),
                static_cast<long long>(t.expires_at), t.label.c_str());
  }
  return Ok{};
}

Result<Ok, Failure> revoke_initial_token(const StoreChoice& choice, const std::string& id) {
  auto store = open_chosen_store(choice);
  if (!store) return Err(store.error());
  auto revoked = (*store)->clients().revoke_initial_access_token(id);
  if (!revoked) {
    if (revoked.error().code == store::StoreError::Code::kNotFound) {
      return Err(Failure{kExitFailed, "no such initial access token: " + id});
    }
    return Err(store_failure(revoked.error()));
  }
  std::printf("revoked initial access token %s\n", id.c_str());
  return Ok{};
}

template <class Action>
int run(const char* name, Action action) {
  auto done = action();
  if (done) return 0;
  std::fprintf(stderr, "tessera client %s: %s\n", name, done.error().message.c_str());
  return done.error().code;
}

}  // namespace

void add_client_commands(CLI::App& app, int& rc) {
  auto* client = app.add_subcommand("client", "Administer OAuth clients: create, list, update");
  client->require_subcommand(1);
  static StoreChoice choice;

  static CreateOptions create;
  auto* create_cmd = client->add_subcommand("create", "Register a client");
  create_cmd->add_option("--id", create.id, "client_id (default: generated)");
  create_cmd->add_option("--type", create.type, "public or confidential (default)");
  add_metadata_options(create_cmd, create.metadata, /*update=*/false);
  add_store_options(create_cmd, choice, /*with_secret_key=*/false);
  create_cmd->callback([&rc] { rc = run("create", [] { return create_client(choice, create); }); });

  static bool list_json = false;
  auto* list_cmd = client->add_subcommand("list", "List clients");
  list_cmd->add_flag("--json", list_json, "Print a JSON array");
  add_store_options(list_cmd, choice, /*with_secret_key=*/false);
  list_cmd->callback([&rc] { rc = run("list", [] { return list_clients(choice, list_json); }); });

  static std::string target;
  static bool show_json = false;
  auto* show_cmd = client->add_subcommand("show", "Show one client");
  show_cmd->add_option("client_id", target, "client_id")->required();
  show_cmd->add_flag("--json", show_json, "Print the client as JSON");
  add_store_options(show_cmd, choice, /*with_secret_key=*/false);
  show_cmd->callback(
      [&rc] { rc = run("show", [] { return show_client(choice, target, show_json); }); });

  static UpdateOptions update;
  auto* update_cmd = client->add_subcommand("update", "Change the given fields of a client");
  update_cmd->add_option("client_id", update.id, "client_id")->required();
  update_cmd->add_flag("--rotate-secret", update.rotate_secret,
                       "Issue a new secret (printed once); the old one stops working");
  update_cmd->add_flag("--rotate-registration-token", update.rotate_registration_token,
                       "Issue a new registration access token (RFC 7592; printed once) to a "
                       "dynamically registered client; the old one stops working");
  add_metadata_options(update_cmd, update.metadata, /*update=*/true);
  add_store_options(update_cmd, choice, /*with_secret_key=*/false);
  update_cmd->callback([&rc] { rc = run("update", [] { return update_client(choice, update); }); });

  auto* delete_cmd = client->add_subcommand("delete", "Delete a client");
  delete_cmd->add_option("client_id", target, "client_id")->required();
  add_store_options(delete_cmd, choice, /*with_secret_key=*/false);
  delete_cmd->callback([&rc] { rc = run("delete", [] { return delete_client(choice, target); }); });

  // RFC 7591 §3: initial access tokens for dynamic registration (as.registration).
  auto* tokens = client->add_subcommand(
      "initial-token", "Initial access tokens for dynamic client registration (RFC 7591)");
  tokens->require_subcommand(1);
  static InitialTokenOptions token_options;
  auto* token_create = tokens->add_subcommand("create", "Create one; the token is printed once");
  token_create->add_option("--uses", token_options.uses, "Registrations it admits (default 1)");
  token_create->add_option("--expires-in", token_options.expires_in,
                           "Seconds until it expires (default 86400)");
  token_create->add_option("--label", token_options.label, "A note for operators");
  token_create->add_flag("--json", token_options.json, "Print the result as JSON");
  add_store_options(token_create, choice, /*with_secret_key=*/false);
  token_create->callback([&rc] {
    rc = run("initial-token create", [] { return create_initial_token(choice, token_options); });
  });
  static bool token_list_json = false;
  auto* token_list = tokens->add_subcommand("list", "List initial access tokens");
  token_list->add_flag("--json", token_list_json, "Print a JSON array");
  add_store_options(token_list, choice, /*with_secret_key=*/false);
  token_list->callback([&rc] {
    rc = run("initial-token list", [] { return list_initial_tokens(choice, token_list_json); });
  });
  auto* token_revoke = tokens->add_subcommand("revoke", "Revoke an initial access token");
  token_revoke->add_option("id", target, "its id (from create or list)")->required();
  add_store_options(token_revoke, choice, /*with_secret_key=*/false);
  token_revoke->callback([&rc] {
    rc = run("initial-token revoke", [] { return revoke_initial_token(choice, target); });
  });
}

}  // namespace tessera::app
