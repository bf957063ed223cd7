#include "app/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

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
  r.expect_map(n, "http.tls", {"cert_file", "key_file", "client_ca_file", "client_auth"});
  for (auto [key, field] :
       {std::pair{"cert_file", &tls.cert_file}, std::pair{"key_file", &tls.key_file},
        std::pair{"client_ca_file", &tls.client_ca_file}}) {
    if (n[key]) *field = r.str(n[key], std::string("http.tls.") + key);
  }
  if (n["client_auth"]) {
    tls.client_auth =
        r.one_of(n["client_auth"], "http.tls.client_auth", {"none", "optional", "required"});
  }
  if (tls.cert_file.empty()) r.fail(n, "http.tls.cert_file", "required when http.tls is set");
  if (tls.key_file.empty()) r.fail(n, "http.tls.key_file", "required when http.tls is set");
  if (tls.client_auth != "none" && tls.client_ca_file.empty()) {
    r.fail(n, "http.tls.client_ca_file", "required when client_auth is optional or required");
  }
  for (const auto* f : {&tls.cert_file, &tls.key_file, &tls.client_ca_file}) {
    if (!f->empty() && !std::ifstream(*f)) r.fail(n, "http.tls", "cannot read file " + *f);
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

// RFC 8414 §2: the issuer is an https URL with no query or fragment. Plain http is allowed on
// loopback only (development, tests, the demo).
bool is_valid_issuer(const std::string& issuer) {
  auto scheme_end = issuer.find("://");
  if (scheme_end == std::string::npos) return false;
  std::string scheme = issuer.substr(0, scheme_end);
  std::string rest = issuer.substr(scheme_end + 3);
  std::string authority = rest.substr(0, rest.find('/'));
  if (authority.empty() || authority.find('@') != std::string::npos) return false;
  if (issuer.find_first_of("?# \t") != std::string::npos) return false;
  if (issuer.back() == '/') return false;
  if (scheme == "https") return true;
  if (scheme != "http") return false;
  std::string host = authority.substr(0, authority.rfind(':'));
  if (authority.front() == '[') host = authority.substr(0, authority.find(']') + 1);
  return host == "127.0.0.1" || host == "localhost" || host == "[::1]";
}

void read_as(const Reader& r, const YAML::Node& n, AsConfig& a) {
  r.expect_map(n, "as",
               {"issuer", "signing_alg", "secret_key_file", "access_token_lifetime",
                "scopes_supported", "audiences"});
  if (!n["issuer"]) r.fail(n, "as.issuer", "required");
  a.issuer = r.str(n["issuer"], "as.issuer");
  if (!is_valid_issuer(a.issuer)) {
    r.fail(n["issuer"], "as.issuer",
           "must be an https URL without query, fragment or trailing slash (http only for "
           "127.0.0.1, localhost or [::1])");
  }
  if (n["signing_alg"]) {
    a.signing_alg =
        r.one_of(n["signing_alg"], "as.signing_alg", {"ES256", "RS256", "PS256", "EdDSA"});
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
      r.expect_map(kv.second, key, {"access_token_format", "access_token_lifetime"});
      AudienceConfig& c = a.audiences[audience];
      if (kv.second["access_token_format"]) {
        c.access_token_format = r.one_of(kv.second["access_token_format"],
                                         key + ".access_token_format", {"jwt", "opaque"});
      }
      if (kv.second["access_token_lifetime"]) {
        c.access_token_lifetime = static_cast<int>(r.integer(
            kv.second["access_token_lifetime"], key + ".access_token_lifetime", 60, 86400));
      }
    }
  }
}

void read_fga(const Reader& r, const YAML::Node& n, FgaConfig& f) {
  r.expect_map(n, "fga",
               {"port", "preshared_keys_sha256", "access_tokens", "resolve_node_limit",
                "tuple_cache_bytes"});
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

Config read_root(const Reader& r, const YAML::Node& root, const std::string& file) {
  Config c;
  c.file = file;
  if (!root || root.IsNull()) return c;  // an empty file means every default
  r.expect_map(root, "", {"roles", "http", "store", "as", "fga", "log_level"});
  if (root["roles"]) {
    const auto& roles = root["roles"];
    if (!roles.IsSequence()) r.fail(roles, "roles", "expected a list such as [as, gateway, fga]");
    std::set<std::string> seen;
    for (size_t i = 0; i < roles.size(); ++i) {
      std::string key = "roles[" + std::to_string(i) + "]";
      auto role = r.one_of(roles[i], key, {"as", "gateway", "fga"});
      const auto& avail = available_roles();
      if (std::find(avail.begin(), avail.end(), role) == avail.end()) {
        r.fail(roles[i], key, "role '" + role + "' is not available in this build yet");
      }
      if (!seen.insert(role).second) r.fail(roles[i], key, "role '" + role + "' listed twice");
      c.roles.push_back(role);
    }
  }
  if (root["http"]) read_http(r, root["http"], c.http);
  if (root["store"]) read_store(r, root["store"], c.store);
  if (root["as"]) read_as(r, root["as"], c.as.emplace());
  if (root["fga"]) read_fga(r, root["fga"], c.fga);
  if (std::find(c.roles.begin(), c.roles.end(), "as") != c.roles.end() && !c.as) {
    r.fail(root, "as", "required when the as role is on (at least as.issuer)");
  }
  if (root["log_level"]) {
    c.log_level =
        r.one_of(root["log_level"], "log_level", {"trace", "debug", "info", "warn", "error"});
  }
  return c;
}

}  // namespace

const std::vector<std::string>& available_roles() {
  static const std::vector<std::string> roles = {"as", "fga"};  // gateway: issue 4
  return roles;
}

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
