// DPoP proof verification for resource servers (RFC 9449 §4.3, §7.1) with a bounded, sharded
// replay cache of proof jti values (§11.1). The JOSE module does the JWS work and OpenSSL every
// primitive; this file does the DPoP rules around them, in the order of §4.3.
#include "tessera/dpop.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <deque>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <unordered_map>

#include "core/base64url.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/hex.h"
#include "core/json.h"
#include "core/space_list.h"
#include "http/bearer.h"
#include "jose/jose.h"

namespace tessera::resource {

const char* to_string(DpopFailure failure) {
  switch (failure) {
    case DpopFailure::kMissing:
      return "missing";
    case DpopFailure::kMultipleProofs:
      return "multiple_proofs";
    case DpopFailure::kTooLarge:
      return "too_large";
    case DpopFailure::kMalformed:
      return "malformed";
    case DpopFailure::kWrongType:
      return "wrong_type";
    case DpopFailure::kAlgorithm:
      return "algorithm";
    case DpopFailure::kBadKey:
      return "bad_key";
    case DpopFailure::kBadSignature:
      return "bad_signature";
    case DpopFailure::kBadClaims:
      return "bad_claims";
    case DpopFailure::kMethodMismatch:
      return "method_mismatch";
    case DpopFailure::kUrlMismatch:
      return "url_mismatch";
    case DpopFailure::kExpired:
      return "expired";
    case DpopFailure::kIssuedInFuture:
      return "issued_in_future";
    case DpopFailure::kAccessTokenHash:
      return "access_token_hash";
    case DpopFailure::kKeyMismatch:
      return "key_mismatch";
    case DpopFailure::kNonce:
      return "nonce";
    case DpopFailure::kReplayed:
      return "replayed";
    case DpopFailure::kUnavailable:
      return "replay check unavailable";
  }
  return "unknown";
}

namespace {

constexpr std::string_view kDpopType = "dpop+jwt";  // RFC 9449 §4.2
constexpr int64_t kMaxWindowSeconds = int64_t{366} * 24 * 3600;

// ---------------------------------------------------------------------------------------------
// htu normalisation: RFC 9449 §4.3 item 9 compares the URI without query and fragment, after
// RFC 3986 §6.2.2 (syntax-based) and §6.2.3 (scheme-based) normalisation.

char to_lower_ascii(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// RFC 3986 §2.3.
bool is_unreserved(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

// RFC 3986 §6.2.2.1 and §6.2.2.2: percent-encoded unreserved characters are decoded, the hex
// digits of the others upper-cased. nullopt for a broken escape.
std::optional<std::string> normalize_percent_encoding(std::string_view path) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(path.size());
  for (size_t i = 0; i < path.size(); ++i) {
    const char c = path[i];
    if (c != '%') {
      out += c;
      continue;
    }
    if (i + 2 >= path.size()) return std::nullopt;
    const int hi = hex_value(path[i + 1]);
    const int lo = hex_value(path[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    const char decoded = static_cast<char>(hi * 16 + lo);
    if (is_unreserved(decoded)) {
      out += decoded;
    } else {
      out += '%';
      out += kHex[hi];
      out += kHex[lo];
    }
    i += 2;
  }
  return out;
}

// RFC 3986 §5.2.4 remove_dot_segments, which §6.2.2.3 applies to normalise a path.
std::string remove_dot_segments(std::string_view in) {
  std::string out;
  while (!in.empty()) {
    if (in.substr(0, 3) == "../") {
      in.remove_prefix(3);
    } else if (in.substr(0, 2) == "./" || in.substr(0, 3) == "/./") {
      in.remove_prefix(2);
    } else if (in == "/.") {
      in = "/";
    } else if (in.substr(0, 4) == "/../" || in == "/..") {
      in = in.size() == 3 ? std::string_view("/") : in.substr(3);
      const size_t slash = out.rfind('/');
      out.erase(slash == std::string::npos ? 0 : slash);
    } else if (in == "." || in == "..") {
      in = {};
    } else {
      const size_t next = in.find('/', 1);
      const std::string_view segment = in.substr(0, next);
      out += segment;
      in.remove_prefix(segment.size());
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Replay cache (RFC 9449 §11.1): the SHA-256 of (jkt, jti) of every accepted proof, until its
// iat falls out of the acceptance window. Bounded: at most `capacity` entries over all shards;
// when a shard is full the entry inserted first is dropped.

using ReplayKey = std::array<unsigned char, 32>;

struct ReplayKeyHash {
  size_t operator()(const ReplayKey& k) const {
    size_t h = 0;
    std::memcpy(&h, k.data(), sizeof h);  // already a uniform hash
    return h;
  }
};

class ReplayShard {
 public:
  explicit ReplayShard(size_t capacity) : capacity_(capacity) {}

  // True when `key` was not live and is now remembered until `expires_at`; false on a replay.
  bool remember_once(const ReplayKey& key, int64_t expires_at, int64_t now) {
    std::lock_guard lock(mu_);
    purge_expired(now);
    if (auto it = seen_.find(key); it != seen_.end()) {
      if (it->second >= now) return false;
      seen_.erase(it);  // expired but not yet purged: its order_ entry becomes stale
    }
    while (seen_.size() >= capacity_ && !order_.empty()) drop_front();
    seen_.emplace(key, expires_at);
    order_.emplace_back(expires_at, key);
    return true;
  }

  // Live entries at `now` (the expired ones are dropped first).
  size_t size(int64_t now) {
    std::lock_guard lock(mu_);
    purge_expired(now);
    return seen_.size();
  }

 private:
  // Entries are inserted in roughly increasing expiry (iat within a short window); the front is
  // purged while expired. One out of order only lingers until the ones before it expire.
  void purge_expired(int64_t now) {
    while (!order_.empty() && order_.front().first < now) drop_front();
  }

  void drop_front() {
    const auto& [expires_at, key] = order_.front();
    // A stale order_ entry (its key was dropped and re-inserted) must not erase the newer one.
    if (auto it = seen_.find(key); it != seen_.end() && it->second == expires_at) seen_.erase(it);
    order_.pop_front();
  }

  const size_t capacity_;
  mutable std::mutex mu_;
  std::unordered_map<ReplayKey, int64_t, ReplayKeyHash> seen_;
  std::deque<std::pair<int64_t, ReplayKey>> order_;
};

DpopVerification fail(DpopFailure failure, std::string description) {
  return DpopVerification{std::nullopt, DpopError{failure, std::move(description)}};
}

// RFC 7517 §4 / RFC 7518 §6.2.2, §6.3.2, §6.4.1, RFC 8037 §2: members that only a private or
// symmetric key carries. RFC 9449 §4.2: the jwk header is the public key; a private one in it
// is a client bug that must not be accepted.
bool has_private_members(const nlohmann::json& jwk) {
  static constexpr const char* kPrivate[] = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"};
  return std::any_of(std::begin(kPrivate), std::end(kPrivate),
                     [&](const char* name) { return jwk.contains(name); });
}

bool is_symmetric_alg(jose::Alg alg) {
  return alg == jose::Alg::kHS256 || alg == jose::Alg::kHS384 || alg == jose::Alg::kHS512;
}

// A string claim, or nullptr when absent or not a string.
const std::string* string_claim(const nlohmann::json& claims, const char* name) {
  auto it = claims.find(name);
  if (it == claims.end() || !it->is_string()) return nullptr;
  return &it->get_ref<const std::string&>();
}

// RFC 7519 §2 NumericDate (possibly non-integer), clamped to int64; nullopt when not a number.
std::optional<int64_t> numeric_date(const nlohmann::json& value) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  if (value.is_number_unsigned()) {
    const auto v = value.get<uint64_t>();
    return v > static_cast<uint64_t>(kMax) ? kMax : static_cast<int64_t>(v);
  }
  if (value.is_number_integer()) return value.get<int64_t>();
  if (value.is_number_float()) {
    const double d = value.get<double>();
    if (!std::isfinite(d)) return std::nullopt;
    if (d >= 9.0e18) return kMax;
    if (d <= -9.0e18) return kMin;
    return static_cast<int64_t>(std::floor(d));
  }
  return std::nullopt;
}

DpopFailure failure_for_jose(jose::Status s) {
  switch (s) {
    case jose::Status::kTooLarge:
      return DpopFailure::kTooLarge;
    case jose::Status::kAlgMissing:
    case jose::Status::kAlgNone:
    case jose::Status::kAlgUnknown:
    case jose::Status::kAlgNotAllowed:
      return DpopFailure::kAlgorithm;
    case jose::Status::kAlgKeyMismatch:
    case jose::Status::kKeyInvalid:
    case jose::Status::kKeyTooSmall:
    case jose::Status::kKeyUnsupported:
    case jose::Status::kEmbeddedKeyRejected:
      return DpopFailure::kBadKey;
    case jose::Status::kSignatureInvalid:
    case jose::Status::kSignatureBadLength:
    case jose::Status::kSignatureOutOfRange:
      return DpopFailure::kBadSignature;
    default:
      return DpopFailure::kMalformed;
  }
}

const char* description_for_jose(DpopFailure f) {
  switch (f) {
    case DpopFailure::kTooLarge:
      return "the DPoP proof is too large";
    case DpopFailure::kAlgorithm:
      return "the DPoP proof's alg is not accepted";
    case DpopFailure::kBadKey:
      return "the DPoP proof's jwk is not a usable public key for its alg";
    case DpopFailure::kBadSignature:
      return "the DPoP proof's signature does not verify";
    default:
      return "the DPoP proof is not a well-formed JWS";
  }
}

// ---------------------------------------------------------------------------------------------
// Challenges: RFC 9449 §7.1 uses the RFC 6750 §3 auth-params (realm, error, error_description)
// with the DPoP scheme and adds algs (http::append_challenge_param quotes them).

Challenge dpop_error_challenge(std::string_view realm, std::string_view error,
                               std::string_view description, const std::vector<std::string>& algs) {
  std::string header = "DPoP ";
  http::append_challenge_param(header, "realm", realm);
  http::append_challenge_param(header, "error", error);
  if (!description.empty()) http::append_challenge_param(header, "error_description", description);
  if (!algs.empty()) http::append_challenge_param(header, "algs", join_space_list(algs));
  nlohmann::json body = {{"error", error}};
  if (!description.empty()) body["error_description"] = description;
  return Challenge{401, std::move(header), body.dump()};
}

}  // namespace

// Userinfo is refused: RFC 9110 §4.2.4 deprecates it in http(s) URIs and a proof has no reason
// to carry one.
std::optional<std::string> normalize_htu(std::string_view uri) {
  const size_t cut = uri.find_first_of("?#");
  if (cut != std::string_view::npos) uri = uri.substr(0, cut);

  // RFC 3986 §6.2.2.1: the scheme is case-insensitive.
  const size_t sep = uri.find("://");
  if (sep == std::string_view::npos || sep == 0) return std::nullopt;
  std::string scheme;
  for (char c : uri.substr(0, sep)) scheme += to_lower_ascii(c);
  if (scheme != "http" && scheme != "https") return std::nullopt;
  uri.remove_prefix(sep + 3);

  const size_t path_start = uri.find('/');
  const std::string_view authority = uri.substr(0, path_start);
  const std::string_view path =
      path_start == std::string_view::npos ? std::string_view() : uri.substr(path_start);
  if (authority.empty() || authority.find('@') != std::string_view::npos) return std::nullopt;

  // Host and port; an IP-literal host is bracketed (RFC 3986 §3.2.2) and holds colons itself.
  std::string_view host = authority;
  std::string_view port;
  const size_t bracket = authority.rfind(']');
  const size_t colon = authority.rfind(':');
  if (colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket)) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) return std::nullopt;
  for (char c : host) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7F) return std::nullopt;
  }

  std::string out = scheme;
  out += "://";
  // RFC 3986 §6.2.2.1: the host is case-insensitive.
  for (char c : host) out += to_lower_ascii(c);
  // RFC 3986 §6.2.3: an empty port or the scheme's default port is dropped.
  if (!port.empty()) {
    if (port.size() > 5) return std::nullopt;
    int value = 0;
    for (char c : port) {
      if (c < '0' || c > '9') return std::nullopt;
      value = value * 10 + (c - '0');
    }
    if (value > 65535) return std::nullopt;
    const int default_port = scheme == "https" ? 443 : 80;
    if (value != default_port) out += ":" + std::to_string(value);
  }
  for (char c : path) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7F) return std::nullopt;
  }
  auto encoded = normalize_percent_encoding(path);
  if (!encoded) return std::nullopt;
  // RFC 3986 §6.2.3: an empty path is "/".
  const std::string normal_path = remove_dot_segments(*encoded);
  out += normal_path.empty() ? "/" : normal_path;
  return out;
}

// Proof keys already imported. A client signs all its proofs with one key, and importing a JWK
// (building the OpenSSL key, checking it is a valid public key) and hashing its thumbprint cost
// more than the signature check itself; a hit skips both. Keyed by the jwk member's JSON text
// (re-serialised, so member order and spacing do not matter), so only an identical key hits.
// Bounded: a full shard is emptied, so a flood of keys costs imports, never memory.
struct ProofKey {
  jose::Jwk jwk;
  std::string jkt;  // RFC 7638 SHA-256 thumbprint, base64url
};

class KeyCacheShard {
 public:
  std::shared_ptr<const ProofKey> find(const std::string& text) {
    std::lock_guard lock(mutex_);
    auto it = keys_.find(text);
    return it == keys_.end() ? nullptr : it->second;
  }
  void insert(std::string text, std::shared_ptr<const ProofKey> key, size_t capacity) {
    std::lock_guard lock(mutex_);
    if (keys_.size() >= capacity) keys_.clear();
    keys_.emplace(std::move(text), std::move(key));
  }

 private:
  std::mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<const ProofKey>> keys_;
};

class DpopVerifier::Impl {
 public:
  explicit Impl(DpopOptions options) : options_(std::move(options)) {
    if (options_.algorithms.empty()) {
      throw std::invalid_argument("DPoP: at least one algorithm is required");
    }
    for (const auto& name : options_.algorithms) {
      auto alg = jose::alg_from_string(name);
      // RFC 9449 §4.3 item 5: an asymmetric algorithm; never "none" nor a MAC.
      if (!alg || is_symmetric_alg(*alg)) {
        throw std::invalid_argument("DPoP: algorithm not accepted for proofs: " + name);
      }
      algs_.push_back(*alg);
    }
    if (options_.max_age_seconds < 0 || options_.max_age_seconds > kMaxWindowSeconds ||
        options_.max_future_seconds < 0 || options_.max_future_seconds > kMaxWindowSeconds) {
      throw std::invalid_argument("DPoP: iat window out of range");
    }
    if (options_.max_proof_bytes == 0 || options_.max_jti_bytes == 0 ||
        options_.replay_cache_entries == 0 || options_.replay_cache_shards == 0) {
      throw std::invalid_argument("DPoP: sizes must be positive");
    }
    const size_t shards = std::min(options_.replay_cache_shards, options_.replay_cache_entries);
    const size_t per_shard = std::max<size_t>(1, options_.replay_cache_entries / shards);
    shards_.reserve(shards);
    for (size_t i = 0; i < shards; ++i) shards_.push_back(std::make_unique<ReplayShard>(per_shard));
    if (options_.key_cache_entries > 0) {
      key_shard_capacity_ = std::max<size_t>(1, options_.key_cache_entries / key_shards_.size());
      for (auto& shard : key_shards_) shard = std::make_unique<KeyCacheShard>();
    }
  }

  int64_t now() const {
    if (options_.now) return options_.now();
    return SystemClock::instance().now();
  }

  DpopVerification verify(const DpopRequest& request) const {
    try {
      return verify_checked(request);
    } catch (const std::exception&) {
      // nlohmann or the standard library on hostile input: an error, never a crash.
      return fail(DpopFailure::kMalformed, "the DPoP proof could not be processed");
    }
  }

  const std::vector<std::string>& algorithms() const { return options_.algorithms; }
  const DpopNonces* nonces() const { return options_.nonces.get(); }

  size_t replay_cache_size() const {
    const int64_t now = this->now();
    size_t n = 0;
    for (const auto& s : shards_) n += s->size(now);
    return n;
  }

 private:
  DpopVerification verify_checked(const DpopRequest& request) const {
    // RFC 9449 §4.3 item 1: exactly one DPoP field. A value with a comma is several fields
    // folded into one (RFC 9110 §5.3); a JWS compact never holds a comma.
    if (request.proofs.empty()) {
      return fail(DpopFailure::kMissing, "a DPoP proof is required");
    }
    if (request.proofs.size() > 1 || request.proofs.front().find(',') != std::string_view::npos) {
      return fail(DpopFailure::kMultipleProofs, "more than one DPoP proof in the request");
    }
    const std::string_view proof = http::trim_ows(request.proofs.front());
    // Size before any parsing.
    if (proof.size() > options_.max_proof_bytes) {
      return fail(DpopFailure::kTooLarge, "the DPoP proof is too large");
    }

    // RFC 9449 §4.3 items 2-3: a well-formed JWS whose header is a JSON object.
    auto decoded = jose::decode_unverified(proof, options_.max_proof_bytes);
    if (!decoded) {
      const DpopFailure f = failure_for_jose(decoded.error());
      return fail(f, description_for_jose(f));
    }
    const nlohmann::json& header = decoded->header;

    // RFC 9449 §4.3 item 4: typ is exactly dpop+jwt.
    const std::string* typ = string_claim(header, "typ");
    if (typ == nullptr || *typ != kDpopType) {
      return fail(DpopFailure::kWrongType, "the DPoP proof's typ must be dpop+jwt");
    }

    // RFC 9449 §4.3 item 5: alg is asymmetric, not none, and one this server accepts.
    const std::string* alg_name = string_claim(header, "alg");
    const auto alg = alg_name ? jose::alg_from_string(*alg_name) : std::nullopt;
    if (!alg || std::find(algs_.begin(), algs_.end(), *alg) == algs_.end()) {
      return fail(DpopFailure::kAlgorithm, "the DPoP proof's alg is not accepted");
    }

    // RFC 9449 §4.3 item 7: jwk is a public key (no private or symmetric key material).
    auto jwk_member = header.find("jwk");
    if (jwk_member == header.end() || !jwk_member->is_object()) {
      return fail(DpopFailure::kBadKey, "the DPoP proof has no jwk header");
    }
    const std::string* kty = string_claim(*jwk_member, "kty");
    if (kty == nullptr || *kty == "oct" || has_private_members(*jwk_member)) {
      return fail(DpopFailure::kBadKey, "the DPoP proof's jwk must be a public asymmetric key");
    }
    auto proof_key = key_for(*jwk_member);
    if (!proof_key) {
      return fail(DpopFailure::kBadKey, "the DPoP proof's jwk is not a usable public key");
    }
    const jose::Jwk* jwk = &proof_key->jwk;

    // RFC 9449 §4.3 item 6: the signature verifies with that jwk. The JOSE layer repeats the
    // alg allow-list, refuses jku/x5u/x5c, honours crit and binds alg to the key type.
    jose::VerifyOptions vopts;
    vopts.allowed_algs = algs_;
    vopts.max_size = options_.max_proof_bytes;
    vopts.accept_jwk_header = true;  // taken out above; bound by thumbprint below
    auto verified = jose::verify(proof, *jwk, vopts);
    if (!verified) {
      const DpopFailure f = failure_for_jose(verified.error());
      return fail(f, description_for_jose(f));
    }

    // RFC 9449 §4.3 item 3, §4.2: the claims are a JSON object (strict: no duplicate names).
    json::Limits limits;
    limits.max_bytes = options_.max_proof_bytes;
    limits.max_depth = 8;
    auto parsed = json::parse_strict(verified->payload, limits);
    if (!parsed || !parsed->is_object()) {
      return fail(DpopFailure::kMalformed, "the DPoP proof's claims are not a JSON object");
    }
    const nlohmann::json& claims = *parsed;

    // RFC 9449 §4.2: jti, htm, htu and iat are required.
    const std::string* jti = string_claim(claims, "jti");
    if (jti == nullptr || jti->empty() || jti->size() > options_.max_jti_bytes) {
      return fail(DpopFailure::kBadClaims, "the DPoP proof needs a jti string of sane length");
    }
    const std::string* htm = string_claim(claims, "htm");
    const std::string* htu = string_claim(claims, "htu");
    if (htm == nullptr || htu == nullptr) {
      return fail(DpopFailure::kBadClaims, "the DPoP proof needs htm and htu strings");
    }
    std::optional<int64_t> iat;
    if (auto it = claims.find("iat"); it != claims.end()) iat = numeric_date(*it);
    if (!iat) return fail(DpopFailure::kBadClaims, "the DPoP proof needs a numeric iat");

    // RFC 9449 §4.3 item 8: htm is the request's method (methods are case-sensitive,
    // RFC 9110 §9.1).
    if (*htm != request.method) {
      return fail(DpopFailure::kMethodMismatch, "the DPoP proof's htm is not the request method");
    }

    // RFC 9449 §4.3 item 9: htu is the request URI without query and fragment, compared after
    // RFC 3986 §6.2.2 and §6.2.3 normalisation.
    const auto proof_uri = normalize_htu(*htu);
    const auto request_uri = normalize_htu(request.url);
    if (!proof_uri || !request_uri || *proof_uri != *request_uri) {
      return fail(DpopFailure::kUrlMismatch, "the DPoP proof's htu is not the request URI");
    }

    // RFC 9449 §4.3 item 11, §11.1: iat within the acceptance window.
    const int64_t now = this->now();
    if (*iat < now - options_.max_age_seconds) {
      return fail(DpopFailure::kExpired, "the DPoP proof is too old");
    }
    if (*iat > now + options_.max_future_seconds) {
      return fail(DpopFailure::kIssuedInFuture, "the DPoP proof is issued in the future");
    }

    // RFC 9449 §4.3 item 12, §4.2, §7.1: with an access token, ath is base64url(SHA-256(token)),
    // compared in constant time.
    if (!request.access_token.empty()) {
      const std::string* ath = string_claim(claims, "ath");
      const std::string expected = base64url::encode(crypto::sha256(request.access_token));
      if (ath == nullptr || !crypto::equal_ct(*ath, expected)) {
        return fail(DpopFailure::kAccessTokenHash,
                    "the DPoP proof's ath does not match the access token");
      }
    }

    // RFC 9449 §4.3 item 12, §6.1, §7.1: the proof's key is the one the token is bound to
    // (cnf.jkt, the RFC 7638 SHA-256 thumbprint), compared in constant time.
    std::string jkt = proof_key->jkt;
    if (!request.expected_jkt.empty() && !crypto::equal_ct(jkt, request.expected_jkt)) {
      return fail(DpopFailure::kKeyMismatch, "the access token is not bound to the DPoP key");
    }

    // RFC 9449 §4.3 item 10, §9: the server's nonce, when it requires one.
    if (request.expected_nonce || options_.nonces) {
      const std::string* nonce = string_claim(claims, "nonce");
      const bool accepted =
          nonce != nullptr &&
          (request.expected_nonce ? crypto::equal_ct(*nonce, *request.expected_nonce)
                                  : options_.nonces->valid(*nonce));
      if (!accepted) {
        return fail(DpopFailure::kNonce, "the DPoP proof must carry the server's nonce");
      }
    }

    // RFC 9449 §11.1: a jti seen within the window is a replay. Checked last, so only proofs
    // that passed every other check take room in the cache. Keyed by the key's thumbprint and
    // the jti, so one client cannot burn another's jti values; kept until iat leaves the window.
    const std::string digest = crypto::sha256(jkt + '\0' + *jti);
    ReplayKey key{};
    std::memcpy(key.data(), digest.data(), key.size());
    ReplayShard& shard = *shards_[ReplayKeyHash{}(key) % shards_.size()];
    const int64_t expires_at = *iat + options_.max_age_seconds;
    if (!shard.remember_once(key, expires_at, now)) {
      return fail(DpopFailure::kReplayed, "the DPoP proof was already used");
    }
    if (options_.shared_replay) {
      // Other servers' proofs: the local cache only knows this process's. A proof refused here
      // stays in the local cache, which is right: it has been used.
      // Another server accepts the proof while its own clock, in whole seconds, is at most
      // expires_at: up to a second later in real time, and later still if its clock is behind.
      const int64_t ttl = expires_at - now + 1 + options_.max_future_seconds;
      switch (options_.shared_replay(digest, std::max<int64_t>(1, ttl))) {
        case SharedReplayAnswer::kFirst:
          break;
        case SharedReplayAnswer::kReplayed:
          return fail(DpopFailure::kReplayed, "the DPoP proof was already used");
        case SharedReplayAnswer::kUnavailable:
          return fail(DpopFailure::kUnavailable, "the DPoP replay check cannot be made right now");
      }
    }
    return DpopVerification{DpopProof{std::move(jkt), *jti, *iat}, DpopError{}};
  }

  // The imported key of a proof's jwk member (from the cache when seen before); null when it is
  // not a usable public key.
  std::shared_ptr<const ProofKey> key_for(const nlohmann::json& jwk_member) const {
    std::string text;
    KeyCacheShard* shard = nullptr;
    if (key_shard_capacity_ > 0) {
      text = jwk_member.dump();
      shard = key_shards_[std::hash<std::string>{}(text) % key_shards_.size()].get();
      if (auto hit = shard->find(text)) return hit;
    }
    auto jwk = jose::Jwk::from_json(jwk_member);
    if (!jwk || jwk->is_private() || jwk->kty() == jose::KeyType::kOct) return nullptr;
    std::string jkt = jwk->thumbprint();
    auto key = std::make_shared<const ProofKey>(ProofKey{std::move(*jwk), std::move(jkt)});
    if (shard != nullptr) shard->insert(std::move(text), key, key_shard_capacity_);
    return key;
  }

  DpopOptions options_;
  std::vector<jose::Alg> algs_;
  std::vector<std::unique_ptr<ReplayShard>> shards_;
  std::array<std::unique_ptr<KeyCacheShard>, 8> key_shards_{};
  size_t key_shard_capacity_ = 0;  // 0: no key cache
};

DpopVerifier::DpopVerifier(DpopOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}
DpopVerifier::~DpopVerifier() = default;

DpopVerification DpopVerifier::verify(const DpopRequest& request) const {
  return impl_->verify(request);
}

const std::vector<std::string>& DpopVerifier::algorithms() const { return impl_->algorithms(); }

size_t DpopVerifier::replay_cache_size() const { return impl_->replay_cache_size(); }

const DpopNonces* DpopVerifier::nonces() const { return impl_->nonces(); }

// Nonces: base64url(window as 8 bytes big-endian || the first 16 bytes of
// HMAC-SHA256(secret, "tessera dpop nonce" || window bytes)).
DpopNonces::DpopNonces(DpopNonceOptions options) : options_(std::move(options)) {
  if (options_.secret.empty()) options_.secret = crypto::random_bytes(32);
  if (options_.secret.size() < 32) {
    throw std::invalid_argument("DPoP nonces: the secret needs at least 32 bytes");
  }
  if (options_.period_seconds < 1 || options_.period_seconds > 86'400) {
    throw std::invalid_argument("DPoP nonces: period_seconds must be within 1..86400");
  }
}

int64_t DpopNonces::window() const {
  const int64_t now = options_.now ? options_.now() : SystemClock::instance().now();
  return now / options_.period_seconds;
}

std::string DpopNonces::for_window(int64_t window) const {
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) {
    bytes[7 - i] = static_cast<char>((static_cast<uint64_t>(window) >> (8 * i)) & 0xff);
  }
  const std::string mac =
      crypto::hmac(crypto::Digest::kSha256, options_.secret, "tessera dpop nonce" + bytes);
  return base64url::encode(bytes + mac.substr(0, 16));
}

std::string DpopNonces::current() const { return for_window(window()); }

bool DpopNonces::valid(std::string_view nonce) const {
  const int64_t now = window();
  // Both compared, always: the time taken does not tell which window matched.
  const bool current = crypto::equal_ct(nonce, for_window(now));
  const bool previous = crypto::equal_ct(nonce, for_window(now - 1));
  return current || previous;
}

Challenge dpop_missing_token(std::string_view realm, const std::vector<std::string>& algs) {
  // RFC 9449 §7.1 / RFC 6750 §3.1: no credentials at all: no error code, body {}.
  std::string header = "DPoP ";
  http::append_challenge_param(header, "realm", realm);
  if (!algs.empty()) http::append_challenge_param(header, "algs", join_space_list(algs));
  return Challenge{401, std::move(header), "{}"};
}

Challenge bearer_or_dpop_missing_token(std::string_view realm,
                                       const std::vector<std::string>& algs) {
  Challenge c = missing_token(realm);
  c.www_authenticate += ", ";
  c.www_authenticate += dpop_missing_token(realm, algs).www_authenticate;
  return c;
}

Challenge invalid_dpop_proof(std::string_view realm, std::string_view description,
                             const std::vector<std::string>& algs) {
  return dpop_error_challenge(realm, "invalid_dpop_proof", description, algs);
}

Challenge use_dpop_nonce(std::string_view realm, std::string_view description,
                         const std::vector<std::string>& algs) {
  return dpop_error_challenge(realm, "use_dpop_nonce", description, algs);
}

Challenge dpop_invalid_token(std::string_view realm, std::string_view description,
                             const std::vector<std::string>& algs) {
  return dpop_error_challenge(realm, "invalid_token", description, algs);
}

Challenge dpop_challenge_for(std::string_view realm, const DpopError& error,
                             const std::vector<std::string>& algs) {
  switch (error.failure) {
    case DpopFailure::kNonce:
      return use_dpop_nonce(realm, error.description, algs);
    case DpopFailure::kMissing:
    case DpopFailure::kKeyMismatch:
      return dpop_invalid_token(realm, error.description, algs);
    case DpopFailure::kUnavailable:
      return temporarily_unavailable(error.description);
    default:
      return invalid_dpop_proof(realm, error.description, algs);
  }
}

}  // namespace tessera::resource
