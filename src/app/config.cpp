#include "app/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include "core/json_schema.h"
#include "http/client.h"
#include "http/server.h"

namespace tessera::app {
namespace {

// Thrown only inside this file, turned into a Result at the boundary.
struct ConfigError {
  std::string message;
};

class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}

  [[noreturn]] void fail(const YAML::Node& node, const std::string& key,
                         const std::string& what) const {
    std::ostringstream out;
    out << file_;
    if (node.Mark().line >= 0) out << ":" << node.Mark().line + 1;
    out << ": key '" << key << "': " << what;
    throw ConfigError{out.str()};
  }

  // Every key of `map` must be one of `known`: typos never pass silently.
  void expect_map(const YAML::Node& map, const std::string& path,
                  std::initializer_list<const char*> known) const {
    if (!map.IsMap()) fail(map, path, "expected a mapping");
    for (const auto& kv : map) {
      auto k = kv.first.as<std::string>();
      if (std::none_of(known.begin(), known.end(), [&](const char* n) { return k == n; })) {
        fail(kv.first, join(path, k), "unknown key");
      }
    }
  }

  std::string str(const YAML::Node& n, const std::string& key) const {
    if (!n.IsScalar()) fail(n, key, "expected a string");
    return n.as<std::string>();
  }

  int64_t integer(const YAML::Node& n, const std::string& key, int64_t lo, int64_t hi) const {
    if (!n.IsScalar()) fail(n, key, "expected an integer");
    int64_t v = 0;
    if (!YAML::convert<int64_t>::decode(n, v)) fail(n, key, "expected an integer");
    if (v < lo || v > hi) {
      fail(n, key, "must be between " + std::to_string(lo) + " and " + std::to_string(hi));
    }
    return v;
  }

  bool boolean(const YAML::Node& n, const std::string& key) const {
    bool v = false;
    if (!n.IsScalar() || !YAML::convert<bool>::decode(n, v)) fail(n, key, "expected true or false");
    return v;
  }

  std::string one_of(const YAML::Node& n, const std::string& key,
                     std::initializer_list<const char*> allowed) const {
    auto v = str(n, key);
    if (std::none_of(allowed.begin(), allowed.end(), [&](const char* a) { return v == a; })) {
      std::string list;
      for (const char* a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      fail(n, key, "must be one of: " + list);
    }
    return v;
  }

  static std::string join(const std::string& path, const std::string& k) {
    return path.empty() ? k : path + "." + k;
  }

 private:
  std::string file_;
};

void read_tls(const Reader& r, const YAML::Node& n, TlsConfig& tls) {
  r.expect_map(
      n, "http.tls",
      {"cert_file", "key_file", "client_ca_file", "client_auth", "session_ticket_key_files"});
  for (auto [key, field] :
       {std::pair{"cert_file", &tls.cert_file}, std::pair{"key_file", &tls.key_file},
        std::pair{"client_ca_file", &tls.client_ca_file}}) {
    if (n[key]) *field = r.str(n[key], std::string("http.tls.") + key);
  }
  if (n["client_auth"]) {
    tls.client_auth = r.one_of(n["client_auth"], "http.tls.client_auth",
                               {"none", "optional", "required", "optional_any_issuer"});
  }
  if (tls.cert_file.empty()) r.fail(n, "http.tls.cert_file", "required when http.tls is set");
  if (tls.key_file.empty()) r.fail(n, "http.tls.key_file", "required when http.tls is set");
  if ((tls.client_auth == "optional" || tls.client_auth == "required") &&
      tls.client_ca_file.empty()) {
    r.fail(n, "http.tls.client_ca_file", "required when client_auth is optional or required");
  }
  for (const auto* f : {&tls.cert_file, &tls.key_file, &tls.client_ca_file}) {
    if (!f->empty() && !std::ifstream(*f)) r.fail(n, "http.tls", "cannot read file " + *f);
  }
  if (const YAML::Node files = n["session_ticket_key_files"]) {
    const std::string what = "http.tls.session_ticket_key_files";
    if (!files.IsSequence() || files.size() == 0) r.fail(files, what, "expected a list of files");
    if (tls.client_auth != "none") {
      r.fail(files, what, "not with client_auth: those sessions are kept in a cache");
    }
    for (const auto& f : files) {
      const std::string path = r.str(f, what);
      // Checked without reading the key itself: the server reads it once, at start.
      std::error_code size_error;
      const auto size = std::filesystem::file_size(path, size_error);
      if (!std::ifstream(path) || size_error) r.fail(f, what, "cannot read file " + path);
      if (size != http::kTicketKeyBytes) {
        r.fail(f, what,
               path + " holds " + std::to_string(size) + " bytes, not " +
                   std::to_string(http::kTicketKeyBytes) + " (openssl rand 80 > FILE)");
      }
      tls.session_ticket_key_files.push_back(path);
    }
  }
}

void read_http(const Reader& r, const YAML::Node& n, HttpConfig& h) {
  r.expect_map(n, "http",
               {"listen", "threads", "tls", "max_header_bytes", "max_body_bytes", "read_timeout_ms",
                "idle_timeout_ms", "max_connections", "max_requests_per_second_per_connection",
                "drain_timeout_ms", "access_log"});
  if (n["listen"]) {
    auto v = r.str(n["listen"], "http.listen");
    auto colon = v.rfind(':');
    if (colon == std::string::npos) r.fail(n["listen"], "http.listen", "expected HOST:PORT");
    h.host = v.substr(0, colon);
    int port = 0;
    auto digits = v.substr(colon + 1);
    if (digits.empty() || digits.size() > 5 ||
        !std::all_of(digits.begin(), digits.end(), ::isdigit) ||
        (port = std::stoi(digits)) > 65535) {
      r.fail(n["listen"], "http.listen", "port must be 0-65535");
    }
    h.port = static_cast<uint16_t>(port);
  }
  constexpr int64_t kIntMax = std::numeric_limits<int>::max();
  if (n["threads"]) h.threads = static_cast<int>(r.integer(n["threads"], "http.threads", 0, 256));
  if (n["max_header_bytes"]) {
    h.max_header_bytes = r.integer(n["max_header_bytes"], "http.max_header_bytes", 1024, 1 << 20);
  }
  if (n["max_body_bytes"]) {
    h.max_body_bytes = r.integer(n["max_body_bytes"], "http.max_body_bytes", 0, 1LL << 30);
  }
  for (auto [key, field] : {std::pair{"read_timeout_ms", &h.read_timeout_ms},
                            std::pair{"idle_timeout_ms", &h.idle_timeout_ms},
                            std::pair{"max_connections", &h.max_connections},
                            std::pair{"max_requests_per_second_per_connection",
                                      &h.max_requests_per_second_per_connection},
                            std::pair{"drain_timeout_ms", &h.drain_timeout_ms}}) {
    if (n[key]) {
      *field = static_cast<int>(r.integer(n[key], std::string("http.") + key, 1, kIntMax));
    }
  }
  if (n["access_log"]) h.access_log = r.boolean(n["access_log"], "http.access_log");
  if (n["tls"]) read_tls(r, n["tls"], h.tls.emplace());
}

void read_store(const Reader& r, const YAML::Node& n, StoreConfigYaml& s) {
  r.expect_map(n, "store", {"driver", "path", "url", "pool_size"});
  if (n["driver"]) s.driver = r.one_of(n["driver"], "store.driver", {"sqlite", "postgres"});
  if (n["path"]) s.path = r.str(n["path"], "store.path");
  if (n["url"]) s.url = r.str(n["url"], "store.url");
  if (n["pool_size"]) {
    s.pool_size = static_cast<int>(r.integer(n["pool_size"], "store.pool_size", 1, 256));
  }
  if (s.driver == "postgres" && s.url.empty()) {
    r.fail(n, "store.url", "required for the postgres driver");
  }
}

// RFC 8414 §2: the issuer is an https URL with no query or fragment (http on loopback only).
bool is_valid_issuer(const std::string& issuer) {
  return http::is_https_or_loopback(issuer) && issuer.find_first_of("?#") == std::string::npos &&
         issuer.back() != '/';
}

std::string read_secret_file(const Reader& r, const YAML::Node& n, const std::string& key) {
  const std::string path = r.str(n, key);
  std::ifstream in(path);
  if (!in) r.fail(n, key, "cannot read file " + path);
  std::string secret((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
  if (secret.empty()) r.fail(n, key, "the file " + path + " is empty");
  return secret;
}

void read_redis(const Reader& r, const YAML::Node& n, RedisConfig& c) {
  r.expect_map(
      n, "redis",
      {"url", "password_file", "connections", "timeout_ms", "key_prefix", "rate_limits_when_down"});
  if (!n["url"]) r.fail(n, "redis.url", "required (redis://host:port/database)");
  store::RedisOptions base;
  if (n["connections"]) {
    base.connections =
        static_cast<size_t>(r.integer(n["connections"], "redis.connections", 1,
                                      static_cast<int64_t>(store::kMaxRedisConnections)));
  }
  if (n["timeout_ms"]) {
    base.timeout_ms = static_cast<int>(
        r.integer(n["timeout_ms"], "redis.timeout_ms", 1, store::kMaxRedisTimeoutMs));
  }
  if (n["key_prefix"]) base.key_prefix = r.str(n["key_prefix"], "redis.key_prefix");
  auto options = store::redis_options_from_url(r.str(n["url"], "redis.url"), std::move(base));
  if (!options) r.fail(n["url"], "redis.url", options.error());
  c.options = std::move(*options);
  // AUTH's password (Redis 6 ACL user from the URL's userinfo), from a file like every secret.
  if (n["password_file"]) {
    c.options.password = read_secret_file(r, n["password_file"], "redis.password_file");
  } else if (!c.options.username.empty()) {
    r.fail(n["url"], "redis.url", "names a user: its password goes in redis.password_file");
  }
  if (n["rate_limits_when_down"]) {
    c.refuse_rate_limits_when_down =
        r.one_of(n["rate_limits_when_down"], "redis.rate_limits_when_down", {"local", "refuse"}) ==
        "refuse";
  }
}

// RFC 9449 §8, §9: `dpop_nonce_seconds` makes DPoP proofs carry a nonce the server gave out;
// `dpop_nonce_secret_file` lets several nodes accept each other's nonces. Null when not asked.
std::shared_ptr<const resource::DpopNonces> read_dpop_nonces(const Reader& r, const YAML::Node& n,
                                                             const std::string& section) {
  const std::string seconds_key = section + ".dpop_nonce_seconds";
  const std::string secret_key = section + ".dpop_nonce_secret_file";
  if (n["dpop_nonce_secret_file"] && !n["dpop_nonce_seconds"]) {
    r.fail(n["dpop_nonce_secret_file"], secret_key, "needs " + seconds_key);
  }
  if (!n["dpop_nonce_seconds"]) return nullptr;
  resource::DpopNonceOptions nonces;
  nonces.period_seconds = r.integer(n["dpop_nonce_seconds"], seconds_key, 10, 86400);
  if (n["dpop_nonce_secret_file"]) {
    nonces.secret = read_secret_file(r, n["dpop_nonce_secret_file"], secret_key);
    if (nonces.secret.size() < 32) {
      r.fail(n["dpop_nonce_secret_file"], secret_key, "must hold at least 32 bytes");
    }
  }
  return std::make_shared<const resource::DpopNonces>(std::move(nonces));
}

std::vector<std::string> string_list(const Reader& r, const YAML::Node& n, const std::string& key);

// A list of {issuer, jwks_uri, ...} at `key`: the parties whose JWTs are verified with the keys
// at their JWKS URI. `known` names every member an entry may have; `each` reads the others.
template <class Entry, class Each>
void read_trusted_issuers(const Reader& r, const YAML::Node& list, const std::string& key,
                          std::initializer_list<const char*> known, std::vector<Entry>& out,
                          Each each) {
  if (!list.IsSequence()) r.fail(list, key, "expected a list of issuers");
  for (size_t i = 0; i < list.size(); ++i) {
    const YAML::Node& n = list[i];
    const std::string at = key + "[" + std::to_string(i) + "]";
    r.expect_map(n, at, known);
    Entry& c = out.emplace_back();
    if (!n["issuer"] || !n["jwks_uri"]) r.fail(n, at, "issuer and jwks_uri are required");
    c.issuer = r.str(n["issuer"], at + ".issuer");
    if (c.issuer.empty()) r.fail(n["issuer"], at + ".issuer", "must not be empty");
    c.jwks_uri = r.str(n["jwks_uri"], at + ".jwks_uri");
    // The keys decide what the issuer may say: fetched over https (http on loopback only).
    const size_t scheme = c.jwks_uri.find("://");
    const std::string origin = scheme == std::string::npos
                                   ? c.jwks_uri
                                   : c.jwks_uri.substr(0, c.jwks_uri.find('/', scheme + 3));
    if (!is_valid_issuer(origin) || c.jwks_uri.find('#') != std::string::npos) {
      r.fail(n["jwks_uri"], at + ".jwks_uri",
             "must be an https URL without fragment (http only on loopback)");
    }
    each(n, at, c);
    for (size_t j = 0; j < i; ++j) {
      if (out[j].issuer == c.issuer) r.fail(n["issuer"], at + ".issuer", "listed twice");
    }
  }
}

// as.jwt_bearer_issuers: a list of {issuer, jwks_uri, subjects, scopes}.
void read_jwt_bearer_issuers(const Reader& r, const YAML::Node& list, AsConfig& a) {
  read_trusted_issuers(r, list, "as.jwt_bearer_issuers",
                       {"issuer", "jwks_uri", "subjects", "scopes"}, a.jwt_bearer_issuers,
                       [&](const YAML::Node& n, const std::string& at, JwtBearerIssuerConfig& c) {
                         if (n["subjects"]) {
                           c.subjects = string_list(r, n["subjects"], at + ".subjects");
                         }
                         if (n["scopes"]) c.scopes = string_list(r, n["scopes"], at + ".scopes");
                       });
}

// as.registration (RFC 7591): enabled, open, scopes, audiences, require_software_statement,
// software_statement_issuers [{issuer, jwks_uri}].
void read_registration(const Reader& r, const YAML::Node& n, AsConfig& a) {
  const std::string key = "as.registration";
  r.expect_map(n, key,
               {"enabled", "open", "scopes", "audiences", "require_software_statement",
                "software_statement_issuers"});
  RegistrationConfig& c = a.registration.emplace();
  if (n["enabled"]) c.enabled = r.boolean(n["enabled"], key + ".enabled");
  if (n["open"]) c.open = r.boolean(n["open"], key + ".open");
  if (n["scopes"]) c.scopes = string_list(r, n["scopes"], key + ".scopes");
  if (n["audiences"]) c.audiences = string_list(r, n["audiences"], key + ".audiences");
  if (n["require_software_statement"]) {
    c.require_software_statement =
        r.boolean(n["require_software_statement"], key + ".require_software_statement");
  }
  if (n["software_statement_issuers"]) {
    read_trusted_issuers(r, n["software_statement_issuers"], key + ".software_statement_issuers",
                         {"issuer", "jwks_uri"}, c.software_statement_issuers,
                         [](const YAML::Node&, const std::string&, TrustedIssuerConfig&) {});
  }
  if (c.require_software_statement && c.software_statement_issuers.empty()) {
    r.fail(n, key + ".require_software_statement", "needs software_statement_issuers");
  }
}

// A YAML value as JSON: plain scalars that read as null, booleans or numbers become those (YAML
// 1.2 core schema), quoted scalars stay strings.
json::Json yaml_to_json(const YAML::Node& n) {
  if (n.IsMap()) {
    json::Json out = json::Json::object();
    for (const auto& kv : n) out[kv.first.as<std::string>()] = yaml_to_json(kv.second);
    return out;
  }
  if (n.IsSequence()) {
    json::Json out = json::Json::array();
    for (const auto& item : n) out.push_back(yaml_to_json(item));
    return out;
  }
  if (!n.IsScalar()) return nullptr;
  const std::string& text = n.Scalar();
  if (n.Tag() != "!") {
    if (text == "null" || text == "~" || text.empty()) return nullptr;
    if (text == "true") return true;
    if (text == "false") return false;
    if (auto number = json::parse_strict(text, {.max_bytes = 64, .max_depth = 1});
        number && number->is_number()) {
      return *number;
    }
  }
  return text;
}

// as.authorization_details_types (RFC 9396): <type>: {description, schema}.
void read_authorization_details_types(const Reader& r, const YAML::Node& n, AsConfig& a) {
  const std::string key = "as.authorization_details_types";
  if (!n.IsMap()) r.fail(n, key, "expected a mapping of type names");
  for (const auto& kv : n) {
    const std::string type = kv.first.as<std::string>();
    const std::string at = std::string(key).append(".").append(type);
    if (type.empty() || type.find_first_of(" \t\r\n") != std::string::npos) {
      r.fail(kv.first, at, "a type name is non-empty and has no spaces");
    }
    r.expect_map(kv.second, at, {"description", "schema"});
    AuthorizationDetailsTypeConfig& c = a.authorization_details_types[type];
    if (kv.second["description"]) {
      c.description = r.str(kv.second["description"], at + ".description");
    }
    if (!kv.second["schema"]) r.fail(kv.second, at + ".schema", "required (a JSON Schema)");
    c.schema = yaml_to_json(kv.second["schema"]);
    if (auto problem = json::schema_problem(c.schema)) {
      r.fail(kv.second["schema"], at + ".schema", *problem);
    }
  }
}

void read_as(const Reader& r, const YAML::Node& n, AsConfig& a) {
  r.expect_map(
      n, "as",
      {"issuer", "signing_alg", "secret_key_file", "access_token_lifetime", "scopes_supported",
       "audiences", "dpop_nonce_seconds", "dpop_nonce_secret_file",
       "require_pushed_authorization_requests", "mtls", "fapi2", "require_signed_request_object",
       "jwt_bearer_issuers", "registration", "authorization_details_types"});
  if (!n["issuer"]) r.fail(n, "as.issuer", "required");
  if (n["mtls"]) {
    const YAML::Node& m = n["mtls"];
    r.expect_map(m, "as.mtls", {"port", "url", "client_ca_file"});
    MtlsConfig& mtls = a.mtls.emplace();
    if (!m["port"]) r.fail(m, "as.mtls.port", "required");
    mtls.port = static_cast<uint16_t>(r.integer(m["port"], "as.mtls.port", 1, 65535));
    if (m["url"]) {
      mtls.url = r.str(m["url"], "as.mtls.url");
      if (!is_valid_issuer(mtls.url) || mtls.url.rfind("https://", 0) != 0) {
        r.fail(m["url"], "as.mtls.url",
               "must be an https URL without query, fragment or "
               "trailing slash");
      }
    }
    if (m["client_ca_file"]) {
      mtls.client_ca_file = r.str(m["client_ca_file"], "as.mtls.client_ca_file");
      if (!std::ifstream(mtls.client_ca_file)) {
        r.fail(m["client_ca_file"], "as.mtls.client_ca_file",
               "cannot read file " + mtls.client_ca_file);
      }
    }
  }
  a.dpop_nonces = read_dpop_nonces(r, n, "as");
  if (n["require_pushed_authorization_requests"]) {
    a.require_pushed_authorization_requests = r.boolean(n["require_pushed_authorization_requests"],
                                                        "as.require_pushed_authorization_requests");
  }
  if (n["require_signed_request_object"]) {
    a.require_signed_request_object =
        r.boolean(n["require_signed_request_object"], "as.require_signed_request_object");
  }
  if (n["fapi2"]) a.fapi2 = r.boolean(n["fapi2"], "as.fapi2");
  if (n["jwt_bearer_issuers"]) read_jwt_bearer_issuers(r, n["jwt_bearer_issuers"], a);
  if (n["registration"]) read_registration(r, n["registration"], a);
  if (n["authorization_details_types"]) {
    read_authorization_details_types(r, n["authorization_details_types"], a);
  }
  a.issuer = r.str(n["issuer"], "as.issuer");
  if (!is_valid_issuer(a.issuer)) {
    r.fail(n["issuer"], "as.issuer",
           "must be an https URL without query, fragment or trailing slash (http only for "
           "127.0.0.1, localhost or [::1])");
  }
  if (n["signing_alg"]) {
    a.signing_alg =
        r.one_of(n["signing_alg"], "as.signing_alg", {"ES256", "RS256", "PS256", "EdDSA"});
    // FAPI 2.0 §5.4.1: PS256, ES256 and EdDSA only, the server's own signatures included.
    if (a.fapi2 && a.signing_alg == "RS256") {
      r.fail(n["signing_alg"], "as.signing_alg", "must be ES256, PS256 or EdDSA with as.fapi2");
    }
  }
  if (n["secret_key_file"]) {
    a.secret_key_file = r.str(n["secret_key_file"], "as.secret_key_file");
    if (!std::ifstream(a.secret_key_file)) {
      r.fail(n["secret_key_file"], "as.secret_key_file", "cannot read file " + a.secret_key_file);
    }
  }
  if (n["access_token_lifetime"]) {
    a.access_token_lifetime = static_cast<int>(
        r.integer(n["access_token_lifetime"], "as.access_token_lifetime", 60, 86400));
  }
  if (n["scopes_supported"]) {
    const auto& list = n["scopes_supported"];
    if (!list.IsSequence()) r.fail(list, "as.scopes_supported", "expected a list of scopes");
    for (size_t i = 0; i < list.size(); ++i) {
      a.scopes_supported.push_back(
          r.str(list[i], "as.scopes_supported[" + std::to_string(i) + "]"));
    }
  }
  if (n["audiences"]) {
    const auto& map = n["audiences"];
    if (!map.IsMap()) r.fail(map, "as.audiences", "expected a mapping of audience to settings");
    for (const auto& kv : map) {
      const std::string audience = r.str(kv.first, "as.audiences");
      const std::string key = "as.audiences." + audience;
      if (audience.empty()) r.fail(kv.first, "as.audiences", "an audience must not be empty");
      r.expect_map(kv.second, key, {"access_token_format", "access_token_lifetime", "scopes"});
      AudienceConfig& c = a.audiences[audience];
      if (kv.second["access_token_format"]) {
        c.access_token_format = r.one_of(kv.second["access_token_format"],
                                         key + ".access_token_format", {"jwt", "opaque"});
      }
      if (kv.second["access_token_lifetime"]) {
        c.access_token_lifetime = static_cast<int>(r.integer(
            kv.second["access_token_lifetime"], key + ".access_token_lifetime", 60, 86400));
      }
      if (kv.second["scopes"]) c.scopes = string_list(r, kv.second["scopes"], key + ".scopes");
    }
  }
}

// The keys a token validator reads (the gateway's and the fga role's): issuer, audiences,
// algorithms, jwks_uri, jwks_refresh_seconds under `section`.
void read_validator(const Reader& r, const YAML::Node& n, const std::string& section,
                    resource::ValidatorOptions& v) {
  if (n["issuer"]) {
    v.issuer = r.str(n["issuer"], section + ".issuer");
    if (!is_valid_issuer(v.issuer)) {
      r.fail(n["issuer"], section + ".issuer", "must be an https URL (http only on loopback)");
    }
  }
  if (n["audiences"]) v.audiences = string_list(r, n["audiences"], section + ".audiences");
  if (n["algorithms"]) {
    v.algorithms = string_list(r, n["algorithms"], section + ".algorithms");
    for (size_t i = 0; i < v.algorithms.size(); ++i) {
      const auto& a = v.algorithms[i];
      if (a != "ES256" && a != "ES384" && a != "ES512" && a != "RS256" && a != "RS384" &&
          a != "RS512" && a != "PS256" && a != "PS384" && a != "PS512" && a != "EdDSA" &&
          a != "Ed25519") {
        r.fail(n["algorithms"][i], section + ".algorithms[" + std::to_string(i) + "]",
               "must be an asymmetric JWS algorithm (RFC 8725 section 3.1)");
      }
    }
  }
  if (n["jwks_uri"]) {
    v.jwks_uri = r.str(n["jwks_uri"], section + ".jwks_uri");
    if (!http::is_https_or_loopback(v.jwks_uri)) {
      r.fail(n["jwks_uri"], section + ".jwks_uri", "must be an https URL (http only on loopback)");
    }
  }
  if (n["jwks_refresh_seconds"]) {
    v.jwks_refresh_seconds =
        r.integer(n["jwks_refresh_seconds"], section + ".jwks_refresh_seconds", 30, 86400);
  }
}

// An introspection client (RFC 7662 §2.1, client_secret_basic): endpoint (empty: from the
// issuer's metadata), client_id, client_secret_file.
void read_introspection_client(const Reader& r, const YAML::Node& i, const std::string& section,
                               resource::ValidatorOptions& v) {
  if (i["endpoint"]) {
    v.introspection_endpoint = r.str(i["endpoint"], section + ".endpoint");
    // The client secret goes there (RFC 7662 §4: TLS required).
    if (!http::is_https_or_loopback(v.introspection_endpoint)) {
      r.fail(i["endpoint"], section + ".endpoint", "must be an https URL (http only on loopback)");
    }
  }
  if (!i["client_id"]) r.fail(i, section + ".client_id", "required");
  v.introspection_client_id = r.str(i["client_id"], section + ".client_id");
  if (!i["client_secret_file"]) r.fail(i, section + ".client_secret_file", "required");
  v.introspection_client_secret =
      read_secret_file(r, i["client_secret_file"], section + ".client_secret_file");
}

void read_fga(const Reader& r, const YAML::Node& n, FgaConfig& f) {
  r.expect_map(n, "fga",
               {"port", "preshared_keys_sha256", "access_tokens", "resolve_node_limit",
                "tuple_cache_bytes", "tuple_index_max_tuples", "issuer", "audiences", "algorithms",
                "jwks_uri", "jwks_refresh_seconds", "introspection", "claims_cache_bytes",
                "check_threads", "check_concurrency_after"});
  if (n["check_threads"]) {
    f.check_threads = static_cast<int>(r.integer(n["check_threads"], "fga.check_threads", -1, 256));
  }
  if (n["check_concurrency_after"]) {
    f.check_concurrency_after = static_cast<uint32_t>(
        r.integer(n["check_concurrency_after"], "fga.check_concurrency_after", 0, 1'000'000));
  }
  // Access tokens of an authorization server in another process.
  const char* validator_keys[] = {"audiences", "algorithms", "jwks_uri", "jwks_refresh_seconds",
                                  "introspection"};
  for (const char* key : validator_keys) {
    if (n[key] && !n["issuer"]) r.fail(n[key], std::string("fga.") + key, "needs fga.issuer");
  }
  if (n["issuer"]) {
    resource::ValidatorOptions& v = f.issuer_tokens.emplace();
    read_validator(r, n, "fga", v);
    if (v.audiences.empty()) {
      r.fail(n["issuer"], "fga.audiences", "required with fga.issuer (RFC 9068 section 4)");
    }
    v.accept = resource::TokenForm::kJwt;
    if (const auto& i = n["introspection"]) {
      r.expect_map(i, "fga.introspection", {"endpoint", "client_id", "client_secret_file"});
      read_introspection_client(r, i, "fga.introspection", v);
      v.accept = resource::TokenForm::kAny;
    }
  }
  if (n["claims_cache_bytes"]) {
    f.claims_cache_bytes = static_cast<size_t>(
        r.integer(n["claims_cache_bytes"], "fga.claims_cache_bytes", 0, int64_t{16} << 30));
  }
  if (n["tuple_index_max_tuples"]) {
    f.tuple_index_max_tuples = static_cast<size_t>(
        r.integer(n["tuple_index_max_tuples"], "fga.tuple_index_max_tuples", 0, int64_t{1} << 31));
  }
  if (n["tuple_cache_bytes"]) {
    f.tuple_cache_bytes = static_cast<size_t>(
        r.integer(n["tuple_cache_bytes"], "fga.tuple_cache_bytes", 0, int64_t{16} << 30));
  }
  if (n["port"]) f.port = static_cast<uint16_t>(r.integer(n["port"], "fga.port", 0, 65535));
  if (n["preshared_keys_sha256"]) {
    const auto& list = n["preshared_keys_sha256"];
    if (!list.IsSequence()) {
      r.fail(list, "fga.preshared_keys_sha256", "expected a list of SHA-256 digests in hex");
    }
    for (size_t i = 0; i < list.size(); ++i) {
      std::string key = "fga.preshared_keys_sha256[" + std::to_string(i) + "]";
      std::string hex = r.str(list[i], key);
      if (hex.size() != 64 || !std::all_of(hex.begin(), hex.end(), ::isxdigit)) {
        r.fail(list[i], key, "expected 64 hex digits (sha256sum of the key)");
      }
      f.preshared_keys_sha256.push_back(hex);
    }
  }
  if (n["access_tokens"]) f.access_tokens = r.boolean(n["access_tokens"], "fga.access_tokens");
  if (n["resolve_node_limit"]) {
    f.resolve_node_limit =
        static_cast<int>(r.integer(n["resolve_node_limit"], "fga.resolve_node_limit", 1, 100));
  }
}

std::vector<std::string> string_list(const Reader& r, const YAML::Node& n, const std::string& key) {
  if (!n.IsSequence()) r.fail(n, key, "expected a list");
  std::vector<std::string> out;
  for (size_t i = 0; i < n.size(); ++i) {
    out.push_back(r.str(n[i], key + "[" + std::to_string(i) + "]"));
  }
  return out;
}

// RFC 9421 hmac-sha256: `{key_id, key_file}`, the key at least 32 bytes (the file's content
// without trailing line breaks, as every *_file secret).
resource::HmacKey read_signing_key(const Reader& r, const YAML::Node& n, const std::string& key) {
  r.expect_map(n, key, {"key_id", "key_file"});
  if (!n["key_id"]) r.fail(n, key + ".key_id", "required");
  if (!n["key_file"]) r.fail(n, key + ".key_file", "required");
  resource::HmacKey out{r.str(n["key_id"], key + ".key_id"),
                        read_secret_file(r, n["key_file"], key + ".key_file")};
  if (out.secret.size() < resource::kMinHmacKeyBytes) {
    r.fail(n["key_file"], key + ".key_file", "must hold at least 32 bytes");
  }
  return out;
}

void read_gateway_route(const Reader& r, const YAML::Node& n, const std::string& key,
                        gateway::Route& route) {
  r.expect_map(n, key,
               {"name", "host", "path_prefix", "methods", "upstream", "strip_prefix", "policy",
                "scopes", "scope_match", "acr_values", "max_age", "claim_headers",
                "forward_authorization", "rate_limit", "fga", "upstream_signature"});
  if (n["name"]) route.name = r.str(n["name"], key + ".name");
  if (n["host"]) route.host = r.str(n["host"], key + ".host");
  if (n["path_prefix"]) route.path_prefix = r.str(n["path_prefix"], key + ".path_prefix");
  if (n["methods"]) route.methods = string_list(r, n["methods"], key + ".methods");
  if (!n["upstream"]) r.fail(n, key + ".upstream", "required");
  route.upstream = r.str(n["upstream"], key + ".upstream");
  if (n["strip_prefix"]) route.strip_prefix = r.boolean(n["strip_prefix"], key + ".strip_prefix");
  if (n["policy"]) {
    const auto p = r.one_of(n["policy"], key + ".policy",
                            {"jwt", "introspect", "phantom", "api_key", "basic", "none"});
    route.policy = p == "jwt"          ? gateway::Policy::kJwt
                   : p == "introspect" ? gateway::Policy::kIntrospect
                   : p == "phantom"    ? gateway::Policy::kPhantom
                   : p == "api_key"    ? gateway::Policy::kApiKey
                   : p == "basic"      ? gateway::Policy::kBasic
                                       : gateway::Policy::kNone;
  }
  if (n["scopes"]) route.scopes = string_list(r, n["scopes"], key + ".scopes");
  if (n["scope_match"]) {
    route.scope_match = r.one_of(n["scope_match"], key + ".scope_match", {"all", "any"}) == "all"
                            ? resource::ScopeMatch::kAll
                            : resource::ScopeMatch::kAny;
  }
  if (n["acr_values"]) route.acr_values = string_list(r, n["acr_values"], key + ".acr_values");
  if (n["max_age"]) {
    route.max_age = r.integer(n["max_age"], key + ".max_age", 0, int64_t{86400} * 366);
  }
  if (n["claim_headers"]) {
    const auto& map = n["claim_headers"];
    if (!map.IsMap()) r.fail(map, key + ".claim_headers", "expected a mapping of header to claim");
    for (const auto& kv : map) {
      route.claim_headers[r.str(kv.first, key + ".claim_headers")] =
          r.str(kv.second, key + ".claim_headers");
    }
  }
  if (n["forward_authorization"]) {
    route.forward_authorization =
        r.boolean(n["forward_authorization"], key + ".forward_authorization");
  }
  if (const auto& f = n["fga"]) {
    const std::string fkey = key + ".fga";
    r.expect_map(f, fkey, {"object_type", "relations", "user_type", "user_claim"});
    auto& check = route.fga.emplace();
    if (!f["object_type"]) r.fail(f, fkey + ".object_type", "required");
    check.object_type = r.str(f["object_type"], fkey + ".object_type");
    const auto& relations = f["relations"];
    if (!relations || !relations.IsMap() || relations.size() == 0) {
      r.fail(f, fkey + ".relations", "expected a mapping of method to relation (GET: viewer)");
    }
    for (const auto& kv : relations) {
      check.relations[r.str(kv.first, fkey + ".relations")] = r.str(kv.second, fkey + ".relations");
    }
    if (f["user_type"]) check.user_type = r.str(f["user_type"], fkey + ".user_type");
    if (f["user_claim"]) check.user_claim = r.str(f["user_claim"], fkey + ".user_claim");
  }
  if (n["upstream_signature"]) {
    route.upstream_signature =
        read_signing_key(r, n["upstream_signature"], key + ".upstream_signature");
  }
  if (const auto& l = n["rate_limit"]) {
    r.expect_map(l, key + ".rate_limit", {"plan", "by"});
    if (!l["plan"]) r.fail(l, key + ".rate_limit.plan", "required");
    auto& limit = route.rate_limit.emplace();
    limit.plan = r.str(l["plan"], key + ".rate_limit.plan");
    if (l["by"]) {
      limit.by = r.one_of(l["by"], key + ".rate_limit.by", {"client", "address"}) == "address"
                     ? gateway::RateKey::kAddress
                     : gateway::RateKey::kClient;
    }
  }
}

void read_rate_plan(const Reader& r, const YAML::Node& n, const std::string& key,
                    gateway::RatePlan& plan) {
  r.expect_map(n, key, {"name", "quota", "window_seconds", "burst"});
  for (const char* required : {"name", "quota", "window_seconds"}) {
    if (!n[required]) r.fail(n, key + "." + required, "required");
  }
  plan.name = r.str(n["name"], key + ".name");
  plan.quota = r.integer(n["quota"], key + ".quota", 1, gateway::kMaxQuota);
  plan.window_seconds =
      r.integer(n["window_seconds"], key + ".window_seconds", 1, gateway::kMaxWindowSeconds);
  if (n["burst"]) plan.burst = r.integer(n["burst"], key + ".burst", 1, gateway::kMaxBurst);
}

void read_basic_user(const Reader& r, const YAML::Node& n, const std::string& key,
                     gateway::BasicUser& user) {
  r.expect_map(n, key, {"username", "password_hash", "scopes"});
  for (const char* required : {"username", "password_hash"}) {
    if (!n[required]) r.fail(n, key + "." + required, "required");
  }
  user.username = r.str(n["username"], key + ".username");
  user.password_hash = r.str(n["password_hash"], key + ".password_hash");
  if (user.password_hash.rfind("$argon2id$", 0) != 0) {
    r.fail(n["password_hash"], key + ".password_hash",
           "expected an argon2id hash (tessera user hash-password)");
  }
  if (n["scopes"]) user.scopes = string_list(r, n["scopes"], key + ".scopes");
}

void read_api_key(const Reader& r, const YAML::Node& n, const std::string& key,
                  gateway::ApiKey& api_key) {
  r.expect_map(n, key, {"id", "owner", "sha256", "scopes", "rate_plan"});
  for (const char* required : {"id", "sha256"}) {
    if (!n[required]) r.fail(n, key + "." + required, "required");
  }
  api_key.id = r.str(n["id"], key + ".id");
  if (n["owner"]) api_key.owner = r.str(n["owner"], key + ".owner");
  api_key.sha256_hex = r.str(n["sha256"], key + ".sha256");
  if (api_key.sha256_hex.size() != 64 ||
      api_key.sha256_hex.find_first_not_of("0123456789abcdef") != std::string::npos) {
    r.fail(n["sha256"], key + ".sha256", "expected 64 lowercase hex digits (SHA-256 of the key)");
  }
  if (n["scopes"]) api_key.scopes = string_list(r, n["scopes"], key + ".scopes");
  if (n["rate_plan"]) api_key.rate_plan = r.str(n["rate_plan"], key + ".rate_plan");
}

void read_gateway(const Reader& r, const YAML::Node& n, GatewayConfig& g) {
  r.expect_map(n, "gateway",
               {"port",
                "realm",
                "issuer",
                "audiences",
                "algorithms",
                "jwks_uri",
                "jwks_refresh_seconds",
                "introspection",
                "claims_cache_bytes",
                "upstream_threads",
                "upstream_timeout_ms",
                "routes",
                "rate_plans",
                "rate_limit_max_keys",
                "api_key_header",
                "api_keys",
                "fga",
                "basic_users",
                "basic_cache_seconds",
                "cors_origins",
                "cors_max_age_seconds",
                "dpop_nonce_seconds",
                "dpop_nonce_secret_file",
                "upstream_signature"});
  gateway::Options& o = g.options;
  if (n["upstream_signature"]) {
    o.upstream_signature =
        read_signing_key(r, n["upstream_signature"], "gateway.upstream_signature");
  }
  if (n["port"]) g.port = static_cast<uint16_t>(r.integer(n["port"], "gateway.port", 0, 65535));
  if (n["realm"]) o.realm = r.str(n["realm"], "gateway.realm");
  read_validator(r, n, "gateway", o.jwt);
  if (n["claims_cache_bytes"]) {
    o.claims_cache_bytes = static_cast<size_t>(
        r.integer(n["claims_cache_bytes"], "gateway.claims_cache_bytes", 0, int64_t{64} << 30));
  }
  if (n["upstream_threads"]) {
    o.upstream_threads =
        static_cast<size_t>(r.integer(n["upstream_threads"], "gateway.upstream_threads", 1, 1024));
  }
  if (n["upstream_timeout_ms"]) {
    o.upstream_timeout_ms =
        r.integer(n["upstream_timeout_ms"], "gateway.upstream_timeout_ms", 100, 600'000);
  }
  // RFC 9449 §9: DPoP proofs must carry a nonce the gateway gave out.
  o.dpop.nonces = read_dpop_nonces(r, n, "gateway");
  o.introspection = o.jwt;
  if (const auto& i = n["introspection"]) {
    r.expect_map(i, "gateway.introspection",
                 {"endpoint", "client_id", "client_secret_file", "audiences", "cache_seconds"});
    // The opaque tokens' audiences, when they differ from the JWTs': each validator accepts only
    // its own, so a JWT for an introspected API is not accepted on a jwt route.
    if (i["audiences"]) {
      o.introspection.audiences = string_list(r, i["audiences"], "gateway.introspection.audiences");
    }
    if (i["cache_seconds"]) {
      o.introspection_cache_seconds =
          r.integer(i["cache_seconds"], "gateway.introspection.cache_seconds", 0, 86400);
    }
    read_introspection_client(r, i, "gateway.introspection", o.introspection);
  }
  auto each = [&](const char* name, auto read, auto& out) {
    const auto& list = n[name];
    if (!list) return;
    if (!list.IsSequence()) r.fail(list, std::string("gateway.") + name, "expected a list");
    for (size_t i = 0; i < list.size(); ++i) {
      read(r, list[i], std::string("gateway.") + name + "[" + std::to_string(i) + "]",
           out.emplace_back());
    }
  };
  each("rate_plans", read_rate_plan, o.rate_plans);
  each("api_keys", read_api_key, o.api_keys);
  each("basic_users", read_basic_user, o.basic_users);
  if (n["cors_origins"]) {
    o.cors_origins = string_list(r, n["cors_origins"], "gateway.cors_origins");
    for (size_t i = 0; i < o.cors_origins.size(); ++i) {
      // An origin is scheme://host[:port], nothing after (RFC 6454 §6.2).
      const auto& origin = o.cors_origins[i];
      const size_t scheme = origin.find("://");
      if ((origin.rfind("http://", 0) != 0 && origin.rfind("https://", 0) != 0) ||
          origin.find('/', scheme + 3) != std::string::npos || origin.size() == scheme + 3) {
        r.fail(n["cors_origins"][i], "gateway.cors_origins[" + std::to_string(i) + "]",
               "expected an origin: http(s)://host[:port] with no path");
      }
    }
  }
  if (n["cors_max_age_seconds"]) {
    o.cors_max_age_seconds =
        r.integer(n["cors_max_age_seconds"], "gateway.cors_max_age_seconds", 0, 86400);
  }
  if (n["basic_cache_seconds"]) {
    o.basic_cache_seconds =
        r.integer(n["basic_cache_seconds"], "gateway.basic_cache_seconds", 0, 3600);
  }
  if (n["rate_limit_max_keys"]) {
    o.rate_limit_max_keys = static_cast<size_t>(
        r.integer(n["rate_limit_max_keys"], "gateway.rate_limit_max_keys", 16, 100'000'000));
  }
  if (n["api_key_header"]) o.api_key_header = r.str(n["api_key_header"], "gateway.api_key_header");
  if (const auto& f = n["fga"]) {
    r.expect_map(f, "gateway.fga", {"url", "store_id", "model_id", "token_file"});
    auto& fga = o.fga.emplace();
    for (auto [field, out] : {std::pair{"url", &fga.url}, std::pair{"store_id", &fga.store_id}}) {
      if (!f[field]) r.fail(f, std::string("gateway.fga.") + field, "required");
      *out = r.str(f[field], std::string("gateway.fga.") + field);
    }
    if (f["model_id"]) fga.model_id = r.str(f["model_id"], "gateway.fga.model_id");
    if (!f["token_file"]) r.fail(f, "gateway.fga.token_file", "required");
    fga.token = read_secret_file(r, f["token_file"], "gateway.fga.token_file");
  }
  if (!n["routes"] || !n["routes"].IsSequence() || n["routes"].size() == 0) {
    r.fail(n, "gateway.routes", "expected a non-empty list of routes");
  }
  for (size_t i = 0; i < n["routes"].size(); ++i) {
    read_gateway_route(r, n["routes"][i], "gateway.routes[" + std::to_string(i) + "]",
                       o.routes.emplace_back());
  }
}

Config read_root(const Reader& r, const YAML::Node& root, const std::string& file) {
  Config c;
  c.file = file;
  if (!root || root.IsNull()) return c;  // an empty file means every default
  r.expect_map(root, "", {"roles", "http", "store", "as", "fga", "gateway", "redis", "log_level"});
  if (root["roles"]) {
    const auto& roles = root["roles"];
    if (!roles.IsSequence()) r.fail(roles, "roles", "expected a list such as [as, gateway, fga]");
    std::set<std::string> seen;
    for (size_t i = 0; i < roles.size(); ++i) {
      std::string key = "roles[" + std::to_string(i) + "]";
      auto role = r.one_of(roles[i], key, {"as", "gateway", "fga"});
      if (!seen.insert(role).second) r.fail(roles[i], key, "role '" + role + "' listed twice");
      c.roles.push_back(role);
    }
  }
  if (root["http"]) read_http(r, root["http"], c.http);
  if (root["store"]) read_store(r, root["store"], c.store);
  if (root["as"]) read_as(r, root["as"], c.as.emplace());
  if (root["fga"]) read_fga(r, root["fga"], c.fga);
  if (root["gateway"]) read_gateway(r, root["gateway"], c.gateway.emplace());
  if (root["redis"]) read_redis(r, root["redis"], c.redis.emplace());
  if (std::find(c.roles.begin(), c.roles.end(), "gateway") != c.roles.end() && !c.gateway) {
    r.fail(root, "gateway", "required when the gateway role is on (at least gateway.routes)");
  }
  if (std::find(c.roles.begin(), c.roles.end(), "as") != c.roles.end() && !c.as) {
    r.fail(root, "as", "required when the as role is on (at least as.issuer)");
  }
  if (c.as && c.as->mtls) {
    if (!c.http.tls) r.fail(root["as"]["mtls"], "as.mtls", "needs http.tls (its certificate)");
    if (c.as->mtls->url.empty()) {
      const bool v6 = c.http.host.find(':') != std::string::npos;
      c.as->mtls->url = "https://" + (v6 ? "[" + c.http.host + "]" : c.http.host) + ":" +
                        std::to_string(c.as->mtls->port);
    }
  }
  if (c.as) {
    if (c.as->mtls && c.as->mtls->client_ca_file.empty() && c.http.tls) {
      c.as->mtls->client_ca_file = c.http.tls->client_ca_file;
    }
    c.as->mutual_tls = c.as->mtls || (c.http.tls && c.http.tls->client_auth != "none");
    c.as->self_signed_certificates =
        c.as->mtls || (c.http.tls && c.http.tls->client_auth == "optional_any_issuer");
  }
  if (root["log_level"]) {
    c.log_level =
        r.one_of(root["log_level"], "log_level", {"trace", "debug", "info", "warn", "error"});
  }
  return c;
}

}  // namespace

Result<Config> parse_config(const std::string& yaml_text, const std::string& file_name) {
  Reader r(file_name);
  try {
    return read_root(r, YAML::Load(yaml_text), file_name);
  } catch (const ConfigError& e) {
    return Err(e.message);
  } catch (const YAML::Exception& e) {
    return Err(file_name + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
}

Result<Config> load_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Err(path + ": cannot read configuration file");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_config(ss.str(), path);
}

}  // namespace tessera::app
