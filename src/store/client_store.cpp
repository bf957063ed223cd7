#include "store/client_store.h"

#include <algorithm>
#include <utility>

#include "core/json.h"
#include "store/sql_lists.h"
#include "store/sql_stores.h"

namespace tessera::store {

std::string_view to_string(ClientType type) {
  return type == ClientType::kPublic ? "public" : "confidential";
}

std::optional<ClientType> parse_client_type(std::string_view text) {
  if (text == "public") return ClientType::kPublic;
  if (text == "confidential") return ClientType::kConfidential;
  return std::nullopt;
}

std::string_view to_string(ClientAuthMethod method) {
  switch (method) {
    case ClientAuthMethod::kClientSecretBasic:
      return "client_secret_basic";
    case ClientAuthMethod::kClientSecretPost:
      return "client_secret_post";
    case ClientAuthMethod::kPrivateKeyJwt:
      return "private_key_jwt";
    case ClientAuthMethod::kNone:
      return "none";
    case ClientAuthMethod::kTlsClientAuth:
      return "tls_client_auth";
    case ClientAuthMethod::kSelfSignedTlsClientAuth:
      return "self_signed_tls_client_auth";
  }
  return "none";
}

std::optional<ClientAuthMethod> parse_client_auth_method(std::string_view text) {
  if (text == "client_secret_basic") return ClientAuthMethod::kClientSecretBasic;
  if (text == "client_secret_post") return ClientAuthMethod::kClientSecretPost;
  if (text == "private_key_jwt") return ClientAuthMethod::kPrivateKeyJwt;
  if (text == "none") return ClientAuthMethod::kNone;
  if (text == "tls_client_auth") return ClientAuthMethod::kTlsClientAuth;
  if (text == "self_signed_tls_client_auth") return ClientAuthMethod::kSelfSignedTlsClientAuth;
  return std::nullopt;
}

namespace {

constexpr std::pair<CertificateNameType, std::string_view> kCertificateNameTypes[] = {
    {CertificateNameType::kSubjectDn, "tls_client_auth_subject_dn"},
    {CertificateNameType::kSanDns, "tls_client_auth_san_dns"},
    {CertificateNameType::kSanUri, "tls_client_auth_san_uri"},
    {CertificateNameType::kSanIp, "tls_client_auth_san_ip"},
    {CertificateNameType::kSanEmail, "tls_client_auth_san_email"},
};

}  // namespace

std::string_view metadata_name(CertificateNameType type) {
  for (auto [t, name] : kCertificateNameTypes) {
    if (t == type) return name;
  }
  return "";
}

std::optional<CertificateNameType> parse_certificate_name_type(std::string_view metadata_name) {
  for (auto [t, name] : kCertificateNameTypes) {
    if (name == metadata_name) return t;
  }
  return std::nullopt;
}

std::string_view to_string(AccessTokenFormat format) {
  return format == AccessTokenFormat::kJwt ? "jwt" : "opaque";
}

std::optional<AccessTokenFormat> parse_access_token_format(std::string_view text) {
  if (text == "jwt") return AccessTokenFormat::kJwt;
  if (text == "opaque") return AccessTokenFormat::kOpaque;
  return std::nullopt;
}

namespace {

// Valid UTF-8 (RFC 3629: shortest forms, no surrogates) without C0 or C1 controls, DEL, the
// bidirectional formatting characters (Unicode TR9: U+061C, U+200E-200F, U+202A-202E,
// U+2066-2069) or the invisible U+200B-200D, U+2060, U+FEFF: what a page shows is what is there.
bool displayable(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto b = static_cast<unsigned char>(text[i]);
    uint32_t cp = 0;
    size_t n = 0;
    if (b < 0x80) {
      cp = b;
      n = 1;
    } else if (b >= 0xc2 && b <= 0xdf) {
      cp = b & 0x1fU;
      n = 2;
    } else if (b >= 0xe0 && b <= 0xef) {
      cp = b & 0x0fU;
      n = 3;
    } else if (b >= 0xf0 && b <= 0xf4) {
      cp = b & 0x07U;
      n = 4;
    } else {
      return false;
    }
    if (i + n > text.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      const auto c = static_cast<unsigned char>(text[i + k]);
      if ((c & 0xc0U) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3fU);
    }
    const bool overlong = (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000);
    if (overlong || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x061c || (cp >= 0x200b && cp <= 0x200f) ||
        (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2060 && cp <= 0x2069) || cp == 0xfeff) {
      return false;
    }
    i += n;
  }
  return true;
}

// RFC 7517 §5 / RFC 7591 §2 jwks for private_key_jwt, checked by shape: a "keys" array of public
// RSA, EC or OKP keys (RFC 7518 §6.3.2, §6.2.1, RFC 8037 §2) with their public members. Private
// members (RFC 7518 §6.2.2, §6.3.2, RFC 8037 §2 "d") and "oct" keys (§6.4) are refused: the
// server must hold no client secret material.
std::optional<std::string> jwks_problem(const std::string& text, bool need_certificates) {
  auto parsed = json::parse_strict(text);
  if (!parsed || !parsed->is_object()) return "jwks must be a JSON object";
  auto keys = parsed->find("keys");
  if (keys == parsed->end() || !keys->is_array() || keys->empty()) {
    return "jwks must have a non-empty keys array";
  }
  for (const auto& key : *keys) {
    if (!key.is_object()) return "jwks keys must be objects";
    auto kty = key.find("kty");
    if (kty == key.end() || !kty->is_string()) return "jwks key without kty";
    const auto& type = kty->get_ref<const std::string&>();
    std::vector<const char*> required;
    if (type == "RSA") {
      required = {"n", "e"};
    } else if (type == "EC") {
      required = {"crv", "x", "y"};
    } else if (type == "OKP") {
      required = {"crv", "x"};
    } else {
      return "jwks key type " + type + " is not a public asymmetric key";
    }
    for (const char* member : required) {
      auto it = key.find(member);
      if (it == key.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
        return "jwks " + type + " key lacks " + member;
      }
    }
    for (const char* secret : {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}) {
      if (key.contains(secret)) return "jwks must hold public keys only";
    }
    // RFC 8705 §2.2.2: the self-signed method registers the certificate itself (RFC 7517 §4.7
    // x5c, base64 DER, the key's own certificate first).
    auto x5c = key.find("x5c");
    if (need_certificates &&
        (x5c == key.end() || !x5c->is_array() || x5c->empty() || !(*x5c)[0].is_string() ||
         (*x5c)[0].get_ref<const std::string&>().empty())) {
      return "every jwks key of a self_signed_tls_client_auth client needs its certificate in x5c";
    }
  }
  return std::nullopt;
}

}  // namespace

StoreResult<Ok> validate_client(const Client& c) {
  auto invalid = [&](const std::string& why) {
    return store_error(StoreError::Code::kInvalidArgument, "client " + c.client_id + ": " + why);
  };
  if (c.client_id.empty() || c.client_id.size() > 200) {
    return invalid("client_id must be 1 to 200 characters");
  }
  if (c.type == ClientType::kPublic) {
    if (c.auth_method != ClientAuthMethod::kNone) return invalid("a public client uses none");
    if (!c.secret_sha256.empty()) return invalid("a public client has no secret");
  } else if (c.auth_method == ClientAuthMethod::kNone) {
    return invalid("a confidential client must authenticate");
  } else if (c.auth_method == ClientAuthMethod::kPrivateKeyJwt) {
    // RFC 7523 §2.2: the client proves itself with its private key; a secret would be a second,
    // weaker credential.
    if (!c.secret_sha256.empty()) return invalid("a private_key_jwt client has no secret");
    if (!c.jwks_json && c.jwks_uri.empty()) {
      return invalid("a private_key_jwt client needs jwks or jwks_uri");
    }
    if (c.jwks_json) {
      if (auto problem = jwks_problem(*c.jwks_json, false)) return invalid(*problem);
    }
  } else if (c.auth_method == ClientAuthMethod::kTlsClientAuth) {
    // RFC 8705 §2.1.2: exactly one certificate name identifies the client.
    if (!c.secret_sha256.empty()) return invalid("a tls_client_auth client has no secret");
    if (!c.tls_client_auth_name || c.tls_client_auth_name->value.empty()) {
      return invalid("a tls_client_auth client needs the certificate name it is known by");
    }
  } else if (c.auth_method == ClientAuthMethod::kSelfSignedTlsClientAuth) {
    if (!c.secret_sha256.empty()) {
      return invalid("a self_signed_tls_client_auth client has no secret");
    }
    // RFC 8705 §2.2.2: its certificates in jwks, or in the set at jwks_uri (checked there).
    if (!c.jwks_json && c.jwks_uri.empty()) {
      return invalid("a self_signed_tls_client_auth client needs jwks or jwks_uri");
    }
    if (c.jwks_json) {
      if (auto problem = jwks_problem(*c.jwks_json, true)) return invalid(*problem);
    }
  } else if (c.secret_sha256.size() != 32) {
    return invalid("secret_sha256 must be 32 bytes");
  }
  if (!c.registration_token_sha256.empty() && c.registration_token_sha256.size() != 32) {
    return invalid("registration_token_sha256 must be 32 bytes");
  }
  // RFC 7591 §2 jwks of another client: the keys its request objects are signed with (RFC 9101).
  if (c.jwks_json && c.auth_method != ClientAuthMethod::kPrivateKeyJwt &&
      c.auth_method != ClientAuthMethod::kSelfSignedTlsClientAuth) {
    if (auto problem = jwks_problem(*c.jwks_json, false)) return invalid(*problem);
  }
  // RFC 7591 §2: "The jwks_uri and jwks parameters MUST NOT both be present". The URL is checked
  // for shape here; which schemes and hosts a client may name is the caller's policy
  // (oauth::jwks_uri_problem).
  if (!c.jwks_uri.empty()) {
    if (c.jwks_json) return invalid("jwks and jwks_uri must not both be present");
    if (c.jwks_uri.size() > 2048 ||
        (!c.jwks_uri.starts_with("https://") && !c.jwks_uri.starts_with("http://")) ||
        c.jwks_uri.find_first_of("# \t\r\n") != std::string::npos) {
      return invalid("jwks_uri must be an absolute http(s) URL of at most 2048 characters");
    }
  }
  if (c.tls_client_auth_name && c.auth_method != ClientAuthMethod::kTlsClientAuth) {
    return invalid("a certificate name is for tls_client_auth clients only");
  }
  // FAPI 2.0 Security Profile §5.3.2.1: confidential clients only, authenticated with
  // private_key_jwt or mutual TLS.
  if (c.fapi2 && c.auth_method != ClientAuthMethod::kPrivateKeyJwt &&
      c.auth_method != ClientAuthMethod::kTlsClientAuth &&
      c.auth_method != ClientAuthMethod::kSelfSignedTlsClientAuth) {
    return invalid(
        "a FAPI 2.0 client authenticates with private_key_jwt, tls_client_auth or "
        "self_signed_tls_client_auth");
  }
  if (c.access_token_lifetime <= 0 || c.access_token_lifetime > kMaxAccessTokenLifetime) {
    return invalid("access_token_lifetime must be 1 to " + std::to_string(kMaxAccessTokenLifetime) +
                   " seconds");
  }
  if (c.refresh_token_lifetime <= 0 || c.refresh_token_lifetime > kMaxRefreshTokenLifetime) {
    return invalid("refresh_token_lifetime must be 1 to " +
                   std::to_string(kMaxRefreshTokenLifetime) + " seconds");
  }
  for (const auto* list :
       {&c.grant_types, &c.redirect_uris, &c.scopes, &c.audiences, &c.post_logout_redirect_uris}) {
    for (const std::string& v : *list) {
      if (v.empty()) return invalid("list entries must not be empty");
    }
  }
  // RFC 7591 §2 display metadata: shown to users, so bounded, valid UTF-8 and free of what could
  // hide or reorder text around it (RFC 7591 §5: a name must not pass for another client).
  auto control = [](std::string_view text) { return !displayable(text); };
  if (c.client_name.size() > kMaxClientNameBytes || control(c.client_name)) {
    return invalid("client_name must be at most " + std::to_string(kMaxClientNameBytes) +
                   " bytes of UTF-8 without control, bidirectional or invisible characters");
  }
  for (const auto& [name, field] : kDisplayStrings) {
    const std::string* uri = &(c.*field);
    if (field == &Client::client_name || uri->empty()) continue;
    if (uri->size() > 2048 || (!uri->starts_with("https://") && !uri->starts_with("http://")) ||
        uri->find_first_of(" \"<>`") != std::string::npos || control(*uri)) {
      return invalid(std::string(name) + " must be an absolute http(s) URL of at most 2048 bytes");
    }
  }
  if (c.contacts.size() > kMaxContacts) {
    return invalid("at most " + std::to_string(kMaxContacts) + " contacts");
  }
  for (const std::string& contact : c.contacts) {
    if (contact.empty() || contact.size() > kMaxContactBytes || control(contact)) {
      return invalid("contacts must be non-empty, at most " + std::to_string(kMaxContactBytes) +
                     " bytes each, UTF-8 without control, bidirectional or invisible characters");
    }
  }
  return Ok{};
}

namespace {

constexpr std::string_view kSelectClients =
    "SELECT client_id, client_type, token_endpoint_auth_method, secret_sha256, grant_types,"
    " redirect_uris, scopes, audiences, access_token_format, access_token_lifetime, created_at,"
    " jwks, post_logout_redirect_uris, refresh_token_lifetime, skip_consent, may_impersonate,"
    " dpop_bound_access_tokens, require_pushed_authorization_requests,"
    " tls_client_certificate_bound_access_tokens, tls_client_auth_name_type, tls_client_auth_name,"
    " fapi2, require_signed_request_object, registration_token_sha256, backchannel_logout_uri,"
    " backchannel_logout_session_required, frontchannel_logout_uri,"
    " frontchannel_logout_session_required, authorization_details_types, jwks_uri, display,"
    " revision FROM clients";

// The display metadata (Client::client_name ...) as one JSON object; NULL when there is none.
Value display_value(const Client& c) {
  json::Json out = json::Json::object();
  for (const auto& [name, field] : kDisplayStrings) {
    if (!(c.*field).empty()) out[std::string(name)] = c.*field;
  }
  if (!c.contacts.empty()) out["contacts"] = c.contacts;
  if (out.empty()) return nullptr;
  return out.dump();
}

bool read_display(std::string_view text, Client& c) {
  auto parsed = json::parse_strict(text);
  if (!parsed || !parsed->is_object()) return false;
  for (const auto& [name, field] : kDisplayStrings) {
    auto it = parsed->find(name);
    if (it == parsed->end()) continue;
    if (!it->is_string()) return false;
    c.*field = it->get<std::string>();
  }
  if (auto it = parsed->find("contacts"); it != parsed->end()) {
    if (!it->is_array()) return false;
    for (const auto& contact : *it) {
      if (!contact.is_string()) return false;
      c.contacts.push_back(contact.get<std::string>());
    }
  }
  return true;
}

StoreResult<Client> client_from_row(const Row& row) {
  Client c;
  c.client_id = row.text(0);
  auto corrupt = [&](const char* what) {
    return store_error(StoreError::Code::kInternal,
                       "client " + c.client_id + " has an unreadable " + what);
  };
  auto type = parse_client_type(row.text(1));
  auto method = parse_client_auth_method(row.text(2));
  auto format = parse_access_token_format(row.text(8));
  if (!type) return corrupt("client_type");
  if (!method) return corrupt("token_endpoint_auth_method");
  if (!format) return corrupt("access_token_format");
  c.type = *type;
  c.auth_method = *method;
  c.access_token_format = *format;
  if (!row.is_null(3)) c.secret_sha256 = row.blob(3);
  std::pair<size_t, std::vector<std::string>*> lists[] = {{4, &c.grant_types},
                                                          {5, &c.redirect_uris},
                                                          {6, &c.scopes},
                                                          {7, &c.audiences},
                                                          {12, &c.post_logout_redirect_uris},
                                                          {28, &c.authorization_details_types}};
  for (auto [column, field] : lists) {
    auto list = list_from_text(row.text(column));
    if (!list) return corrupt("list");
    *field = std::move(*list);
  }
  c.access_token_lifetime = row.integer(9);
  c.created_at = row.integer(10);
  if (!row.is_null(11)) c.jwks_json = row.text(11);
  c.refresh_token_lifetime = row.integer(13);
  c.skip_consent = row.integer(14) != 0;
  c.may_impersonate = row.integer(15) != 0;
  c.dpop_bound_access_tokens = row.integer(16) != 0;
  c.require_pushed_authorization_requests = row.integer(17) != 0;
  c.tls_client_certificate_bound_access_tokens = row.integer(18) != 0;
  if (!row.is_null(19)) {
    auto name_type = parse_certificate_name_type(row.text(19));
    if (!name_type) return corrupt("tls_client_auth_name_type");
    c.tls_client_auth_name = CertificateName{*name_type, row.text(20)};
  }
  c.fapi2 = row.integer(21) != 0;
  c.require_signed_request_object = row.integer(22) != 0;
  if (!row.is_null(23)) c.registration_token_sha256 = row.blob(23);
  if (!row.is_null(24)) c.backchannel_logout_uri = row.text(24);
  c.backchannel_logout_session_required = row.integer(25) != 0;
  if (!row.is_null(26)) c.frontchannel_logout_uri = row.text(26);
  c.frontchannel_logout_session_required = row.integer(27) != 0;
  if (!row.is_null(29)) c.jwks_uri = row.text(29);
  if (!row.is_null(30) && !read_display(row.text(30), c)) return corrupt("display");
  c.revision = row.integer(31);
  return c;
}

Value secret_value(const Client& c) {
  if (c.secret_sha256.empty()) return nullptr;
  return Blob{c.secret_sha256};
}

// An optional text column: NULL for the empty string.
Value text_or_null(const std::string& text) {
  if (text.empty()) return nullptr;
  return text;
}

Value registration_token_value(const Client& c) {
  if (c.registration_token_sha256.empty()) return nullptr;
  return Blob{c.registration_token_sha256};
}

Value jwks_value(const Client& c) {
  if (!c.jwks_json) return nullptr;
  return *c.jwks_json;
}

Value name_type_value(const Client& c) {
  if (!c.tls_client_auth_name) return nullptr;
  return std::string(metadata_name(c.tls_client_auth_name->type));
}

Value name_value(const Client& c) {
  if (!c.tls_client_auth_name) return nullptr;
  return c.tls_client_auth_name->value;
}

// Every column of a client but client_id and created_at, in the order of setting_values().
constexpr std::string_view kSettingColumns[] = {"client_type",
                                                "token_endpoint_auth_method",
                                                "secret_sha256",
                                                "grant_types",
                                                "redirect_uris",
                                                "scopes",
                                                "audiences",
                                                "access_token_format",
                                                "access_token_lifetime",
                                                "jwks",
                                                "post_logout_redirect_uris",
                                                "refresh_token_lifetime",
                                                "skip_consent",
                                                "may_impersonate",
                                                "dpop_bound_access_tokens",
                                                "require_pushed_authorization_requests",
                                                "tls_client_certificate_bound_access_tokens",
                                                "tls_client_auth_name_type",
                                                "tls_client_auth_name",
                                                "fapi2",
                                                "require_signed_request_object",
                                                "registration_token_sha256",
                                                "backchannel_logout_uri",
                                                "backchannel_logout_session_required",
                                                "frontchannel_logout_uri",
                                                "frontchannel_logout_session_required",
                                                "authorization_details_types",
                                                "jwks_uri",
                                                "display"};

// The values of kSettingColumns for `c`, written by insert and update alike.
std::vector<Value> setting_values(const Client& c) {
  std::vector<Value> values = {to_string(c.type),
                               to_string(c.auth_method),
                               secret_value(c),
                               list_to_text(c.grant_types),
                               list_to_text(c.redirect_uris),
                               list_to_text(c.scopes),
                               list_to_text(c.audiences),
                               to_string(c.access_token_format),
                               c.access_token_lifetime,
                               jwks_value(c),
                               list_to_text(c.post_logout_redirect_uris),
                               c.refresh_token_lifetime,
                               int64_t{c.skip_consent},
                               int64_t{c.may_impersonate},
                               int64_t{c.dpop_bound_access_tokens},
                               int64_t{c.require_pushed_authorization_requests},
                               int64_t{c.tls_client_certificate_bound_access_tokens},
                               name_type_value(c),
                               name_value(c),
                               int64_t{c.fapi2},
                               int64_t{c.require_signed_request_object},
                               registration_token_value(c),
                               text_or_null(c.backchannel_logout_uri),
                               int64_t{c.backchannel_logout_session_required},
                               text_or_null(c.frontchannel_logout_uri),
                               int64_t{c.frontchannel_logout_session_required},
                               list_to_text(c.authorization_details_types),
                               text_or_null(c.jwks_uri),
                               display_value(c)};
  return values;
}

constexpr std::string_view kSelectInitialTokens =
    "SELECT id, token_sha256, label, uses_left, created_at, expires_at FROM initial_access_tokens";

InitialAccessToken initial_token_from_row(const Row& row) {
  return InitialAccessToken{row.text(0),    row.blob(1),    row.text(2),
                            row.integer(3), row.integer(4), row.integer(5)};
}

class SqlClientStore final : public ClientStore {
 public:
  SqlClientStore(Database& database, const Clock& clock) : database_(database), clock_(clock) {}

  StoreResult<Ok> insert(const Client& c) override { return register_client(c, std::nullopt); }

  StoreResult<Ok> register_client(const Client& c,
                                  std::optional<std::string> initial_token_sha256) override {
    if (auto valid = validate_client(c); !valid) return valid;
    std::vector<Value> values = setting_values(c);
    values.emplace_back(c.client_id);
    values.emplace_back(c.created_at != 0 ? c.created_at : clock_.now());
    static const std::string insert_sql = [] {
      std::string columns, marks;
      for (std::string_view column : kSettingColumns) {
        columns.append(column).append(", ");
        marks.append("?, ");
      }
      return "INSERT INTO clients (" + columns + "client_id, created_at) VALUES (" + marks +
             "?, ?) ON CONFLICT DO NOTHING";
    }();
    return database_.in_transaction([&](Connection& connection) -> StoreResult<Ok> {
      if (initial_token_sha256) {
        // The UPDATE is the compare-and-set: the last use goes to one registration only.
        auto spent = connection.execute(
            "UPDATE initial_access_tokens SET uses_left = uses_left - 1"
            " WHERE token_sha256 = ? AND uses_left > 0 AND expires_at > ?",
            {Blob{*initial_token_sha256}, clock_.now()});
        if (!spent) return Err(spent.error());
        if (*spent == 0) {
          return store_error(StoreError::Code::kNotFound,
                             "the initial access token is unknown, expired or used up");
        }
      }
      // The primary key decides: a duplicate is kConflict on both backends, and a failed
      // registration spends nothing (the transaction rolls back).
      auto inserted = connection.run(insert_sql, values);
      if (!inserted) return Err(inserted.error());
      if (inserted->affected_rows == 0) {
        return store_error(StoreError::Code::kConflict, "client " + c.client_id + " exists");
      }
      return Ok{};
    });
  }

  StoreResult<Ok> create_initial_access_token(const InitialAccessToken& t) override {
    if (t.id.empty() || t.token_sha256.size() != 32 || t.uses_left < 1) {
      return store_error(StoreError::Code::kInvalidArgument,
                         "an initial access token needs an id, a 32-byte hash and a use");
    }
    auto inserted = database_.execute(
        "INSERT INTO initial_access_tokens (id, token_sha256, label, uses_left, created_at,"
        " expires_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        {t.id, Blob{t.token_sha256}, t.label, t.uses_left,
         t.created_at != 0 ? t.created_at : clock_.now(), t.expires_at});
    if (!inserted) return Err(inserted.error());
    if (*inserted == 0) {
      return store_error(StoreError::Code::kConflict, "initial access token " + t.id + " exists");
    }
    return Ok{};
  }

  StoreResult<std::optional<InitialAccessToken>> find_initial_access_token(
      std::string_view token_sha256) override {
    auto rows = database_.query(std::string(kSelectInitialTokens) +
                                    " WHERE token_sha256 = ? AND uses_left > 0 AND expires_at > ?",
                                {Blob{std::string(token_sha256)}, clock_.now()});
    if (!rows) return Err(rows.error());
    if (rows->empty()) return std::optional<InitialAccessToken>();
    return std::optional<InitialAccessToken>(initial_token_from_row(rows->front()));
  }

  StoreResult<std::vector<InitialAccessToken>> list_initial_access_tokens() override {
    auto rows = database_.query(std::string(kSelectInitialTokens) + " ORDER BY id");
    if (!rows) return Err(rows.error());
    std::vector<InitialAccessToken> out;
    for (const Row& row : *rows) out.push_back(initial_token_from_row(row));
    return out;
  }

  StoreResult<Ok> revoke_initial_access_token(std::string_view id) override {
    auto deleted = database_.execute("DELETE FROM initial_access_tokens WHERE id = ?", {id});
    if (!deleted) return Err(deleted.error());
    if (*deleted == 0) {
      return store_error(StoreError::Code::kNotFound,
                         "initial access token " + std::string(id) + " does not exist");
    }
    return Ok{};
  }

  StoreResult<std::optional<Client>> find(std::string_view client_id) override {
    auto rows = database_.query(std::string(kSelectClients) + " WHERE client_id = ?", {client_id});
    if (!rows) return Err(rows.error());
    if (rows->empty()) return std::optional<Client>();
    auto client = client_from_row(rows->front());
    if (!client) return Err(client.error());
    return std::optional<Client>(std::move(*client));
  }

  StoreResult<std::vector<Client>> list() override {
    auto rows = database_.query(std::string(kSelectClients) + " ORDER BY client_id");
    if (!rows) return Err(rows.error());
    std::vector<Client> out;
    for (const Row& row : *rows) {
      auto client = client_from_row(row);
      if (!client) return Err(client.error());
      out.push_back(std::move(*client));
    }
    return out;
  }

  StoreResult<Ok> update(const Client& c) override { return replace(c, std::nullopt); }

  StoreResult<Ok> update_registration(const Client& c,
                                      std::string_view current_token_sha256) override {
    return replace(c, current_token_sha256);
  }

  StoreResult<Ok> remove(std::string_view client_id) override {
    return erase(client_id, std::nullopt);
  }

  StoreResult<Ok> remove_registration(std::string_view client_id,
                                      std::string_view current_token_sha256) override {
    return erase(client_id, current_token_sha256);
  }

 private:
  // Why a conditional write on `client_id` touched no row: kNotFound when the client is absent or
  // (with `token_sha256`) holds another registration token, kConflict when only its revision moved.
  StoreResult<Ok> missed(const std::string& client_id,
                         std::optional<std::string_view> token_sha256) {
    auto rows = database_.query("SELECT registration_token_sha256 FROM clients WHERE client_id = ?",
                                {client_id});
    if (!rows) return Err(rows.error());
    if (rows->empty() ||
        (token_sha256 && (rows->front().is_null(0) || rows->front().blob(0) != *token_sha256))) {
      return store_error(
          StoreError::Code::kNotFound,
          token_sha256 ? "client " + client_id + " does not exist or its registration token changed"
                       : "client " + client_id + " does not exist");
    }
    return store_error(StoreError::Code::kConflict,
                       "client " + client_id + " was updated since it was read");
  }

  // UPDATE of every setting column while the stored revision is c.revision; with
  // `token_sha256`, only while it is the stored registration_token_sha256 too.
  StoreResult<Ok> replace(const Client& c, std::optional<std::string_view> token_sha256) {
    if (auto valid = validate_client(c); !valid) return valid;
    std::vector<Value> values = setting_values(c);
    values.emplace_back(c.client_id);
    values.emplace_back(c.revision);
    static const std::string update_sql = [] {
      std::string sql = "UPDATE clients SET ";
      for (std::string_view column : kSettingColumns) sql.append(column).append(" = ?, ");
      return sql + "revision = revision + 1 WHERE client_id = ? AND revision = ?";
    }();
    static const std::string conditional_sql = update_sql + " AND registration_token_sha256 = ?";
    if (token_sha256) values.emplace_back(Blob{std::string(*token_sha256)});
    auto updated = database_.execute(token_sha256 ? conditional_sql : update_sql, values);
    if (!updated) return Err(updated.error());
    if (*updated == 0) return missed(c.client_id, token_sha256);
    return Ok{};
  }

  StoreResult<Ok> erase(std::string_view client_id, std::optional<std::string_view> token_sha256) {
    auto deleted =
        token_sha256
            ? database_.execute(
                  "DELETE FROM clients WHERE client_id = ? AND registration_token_sha256 = ?",
                  {client_id, Blob{std::string(*token_sha256)}})
            : database_.execute("DELETE FROM clients WHERE client_id = ?", {client_id});
    if (!deleted) return Err(deleted.error());
    if (*deleted == 0) {
      return store_error(StoreError::Code::kNotFound,
                         "client " + std::string(client_id) +
                             (token_sha256 ? " does not exist or its registration token changed"
                                           : " does not exist"));
    }
    return Ok{};
  }

  Database& database_;
  const Clock& clock_;
};

}  // namespace

std::unique_ptr<ClientStore> make_sql_client_store(Database& database, const Clock& clock) {
  return std::make_unique<SqlClientStore>(database, clock);
}

}  // namespace tessera::store
