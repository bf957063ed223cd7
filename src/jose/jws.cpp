// JWS compact serialization (RFC 7515 §7.1): signing (§5.1) and validation
// (§5.2) with the RFC 8725 hardening: size cap first, strict base64url, strict
// JSON, no "none", no header-supplied keys, crit honoured, alg bound to key.
#include <algorithm>
#include <cctype>
#include <span>

#include "core/base64url.h"
#include "jose/jose.h"
#include "jose/jws_internal.h"
#include "jose/signature.h"

namespace tessera::jose {
namespace internal {

namespace {

// Tokens from one issuer repeat one protected header, and strict parsing it
// costs as much as a tenth of an RSA verify. A small per-thread memo of
// successfully parsed headers, keyed by the exact base64url text (parsing is
// a pure function of it), removes that from the hot path. Checks on the
// header (alg, crit, embedded keys) still run on every token.
struct HeaderMemo {
  static constexpr size_t kEntries = 16;
  static constexpr size_t kMaxHeaderB64 = 512;
  std::string b64[kEntries];
  Json header[kEntries];
  size_t used = 0;
  size_t next = 0;
};
thread_local HeaderMemo header_memo;

const Json* header_cache_find(std::string_view b64) {
  HeaderMemo& m = header_memo;
  for (size_t i = 0; i < m.used; ++i) {
    if (m.b64[i] == b64) return &m.header[i];
  }
  return nullptr;
}

void header_cache_store(std::string_view b64, const Json& header) {
  if (b64.size() > HeaderMemo::kMaxHeaderB64) return;
  HeaderMemo& m = header_memo;
  size_t slot = m.next;
  m.next = (m.next + 1) % HeaderMemo::kEntries;
  if (m.used < HeaderMemo::kEntries) ++m.used;
  m.b64[slot].assign(b64.data(), b64.size());
  m.header[slot] = header;
}

}  // namespace

Status json_error_status(json::ParseError e, Status malformed) {
  return e == json::ParseError::kDuplicateMember ? Status::kDuplicateMember : malformed;
}

Result<CompactParts, Status> split_compact(std::string_view compact, size_t max_size) {
  // RFC 8725 §3.x / DoS: reject oversize input before touching it.
  if (compact.size() > max_size) return Err(Status::kTooLarge);
  size_t d1 = compact.find('.');
  if (d1 == std::string_view::npos) return Err(Status::kMalformed);
  size_t d2 = compact.find('.', d1 + 1);
  if (d2 == std::string_view::npos) return Err(Status::kMalformed);
  if (compact.find('.', d2 + 1) != std::string_view::npos) return Err(Status::kMalformed);
  CompactParts p;
  p.header_b64 = compact.substr(0, d1);
  p.payload_b64 = compact.substr(d1 + 1, d2 - d1 - 1);
  p.signature_b64 = compact.substr(d2 + 1);
  p.signing_input = compact.substr(0, d2);
  if (p.header_b64.empty()) return Err(Status::kMalformed);
  if (const Json* cached = header_cache_find(p.header_b64)) {
    p.header = *cached;
    return p;
  }
  auto h = base64url::decode(p.header_b64);
  if (!h) return Err(Status::kBadBase64);
  json::Limits limits;
  limits.max_bytes = max_size;
  limits.max_depth = 8;
  auto j = json::parse_strict(*h, limits);
  if (!j) return Err(json_error_status(j.error(), Status::kHeaderNotJson));
  if (!j->is_object()) return Err(Status::kHeaderNotJson);
  header_cache_store(p.header_b64, *j);
  p.header = std::move(*j);
  return p;
}

namespace {
// RFC 7515 §4.1: names a "crit" list may not carry.
bool is_registered_header(std::string_view n) {
  static constexpr std::string_view kNames[] = {"alg", "jku", "jwk", "kid",      "x5u", "x5c",
                                                "x5t", "typ", "cty", "x5t#S256", "crit"};
  return std::find(std::begin(kNames), std::end(kNames), n) != std::end(kNames);
}

bool is_none(std::string_view s) {
  if (s.size() != 4) return false;
  std::string lower(s);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower == "none";
}
}  // namespace

Result<Alg, Status> check_header(const Json& header, const VerifyOptions& opts) {
  auto a = header.find("alg");
  if (a == header.end()) return Err(Status::kAlgMissing);
  if (!a->is_string()) return Err(Status::kAlgUnknown);
  const std::string& name = a->get_ref<const std::string&>();
  // RFC 8725 §3.1 / RFC 7518 §3.6: unsecured JWS is never accepted, in any spelling.
  if (is_none(name)) return Err(Status::kAlgNone);
  auto alg = alg_from_string(name);
  if (!alg) return Err(Status::kAlgUnknown);

  // RFC 8725 §3.10 / RFC 7515 §10.3: keys named or carried by the token itself
  // are attacker-chosen; the verifier's key set is the only trust anchor.
  if ((!opts.accept_jwk_header && header.contains("jwk")) || header.contains("jku") ||
      header.contains("x5u") || header.contains("x5c")) {
    return Err(Status::kEmbeddedKeyRejected);
  }

  // RFC 7515 §4.1.11: every extension in crit must be understood, else reject.
  if (auto c = header.find("crit"); c != header.end()) {
    if (!c->is_array() || c->empty()) return Err(Status::kCritMalformed);
    for (const auto& e : *c) {
      if (!e.is_string()) return Err(Status::kCritMalformed);
      const std::string& ext = e.get_ref<const std::string&>();
      if (is_registered_header(ext) || !header.contains(ext)) return Err(Status::kCritMalformed);
      if (std::find(opts.understood_crit.begin(), opts.understood_crit.end(), ext) ==
          opts.understood_crit.end()) {
        return Err(Status::kCritUnsupported);
      }
    }
  }
  if (!opts.allowed_algs.empty() && std::find(opts.allowed_algs.begin(), opts.allowed_algs.end(),
                                              *alg) == opts.allowed_algs.end()) {
    return Err(Status::kAlgNotAllowed);
  }
  return *alg;
}

}  // namespace internal

using internal::CompactParts;

Result<std::string, Status> sign(std::string_view payload, const Jwk& key, Alg alg,
                                 const SignOptions& opts) {
  try {
    if (!opts.extra_header.is_object()) return Err(Status::kHeaderNotJson);
    if (!key.allows(alg)) return Err(Status::kAlgKeyMismatch);
    if (!key.is_private()) return Err(Status::kKeyNotPrivate);
    Json h = opts.extra_header;
    h["alg"] = to_string(alg);
    if (opts.include_kid && !key.kid().empty()) h["kid"] = key.kid();
    if (opts.typ) h["typ"] = *opts.typ;
    std::string out = base64url::encode(h.dump());
    out.reserve(out.size() + 2 + (payload.size() * 4 + 2) / 3 + 700);
    out.push_back('.');
    out += base64url::encode(payload);
    auto sig = internal::create_signature(key, alg, out);
    if (!sig) return Err(sig.error());
    out.push_back('.');
    out += base64url::encode(*sig);
    return out;
  } catch (const std::exception&) {
    return Err(Status::kInternal);  // e.g. invalid UTF-8 in a caller's header value
  }
}

namespace {

// RFC 7515 §5.2 steps 2-7: every part is decoded (strictly) before the
// signature is checked in step 8.
struct Decoded {
  std::string payload;
  std::string signature;
};

Result<Decoded, Status> decode_parts(const CompactParts& p) {
  auto payload = base64url::decode(p.payload_b64);
  if (!payload) return Err(Status::kBadBase64);
  auto sig = base64url::decode(p.signature_b64);
  if (!sig) return Err(Status::kBadBase64);
  return Decoded{std::move(*payload), std::move(*sig)};
}

// A token whose header passed every check that comes before choosing a key.
struct CheckedParts {
  CompactParts parts;
  Alg alg;
};

Result<CheckedParts, Status> split_and_check(std::string_view compact, const VerifyOptions& opts) {
  auto p = internal::split_compact(compact, opts.max_size);
  if (!p) return Err(p.error());
  auto alg = internal::check_header(p->header, opts);
  if (!alg) return Err(alg.error());
  return CheckedParts{std::move(*p), *alg};
}

// RFC 7515 §5.2 step 8 with each candidate key in turn; the first that
// verifies wins, else the last key's reason.
Result<VerifiedJws, Status> verify_with_any(CompactParts& p, Alg alg,
                                            std::span<const Jwk* const> candidates) {
  auto parts = decode_parts(p);
  if (!parts) return Err(parts.error());
  Status last = Status::kSignatureInvalid;
  for (const Jwk* key : candidates) {
    last = internal::verify_signature(*key, alg, p.signing_input, parts->signature);
    if (last == Status::kOk) {
      return VerifiedJws{std::move(p.header), std::move(parts->payload), alg, key->kid()};
    }
  }
  return Err(last);
}

}  // namespace

Result<VerifiedJws, Status> verify(std::string_view compact, const Jwk& key,
                                   const VerifyOptions& opts) {
  try {
    auto c = split_and_check(compact, opts);
    if (!c) return Err(c.error());
    if (!key.allows(c->alg)) return Err(Status::kAlgKeyMismatch);
    const Jwk* const only[] = {&key};
    return verify_with_any(c->parts, c->alg, only);
  } catch (const std::exception&) {
    return Err(Status::kInternal);
  }
}

Result<VerifiedJws, Status> verify(std::string_view compact, const Jwks& keys,
                                   const VerifyOptions& opts) {
  try {
    auto c = split_and_check(compact, opts);
    if (!c) return Err(c.error());
    const Json& header = c->parts.header;
    std::optional<std::string_view> kid;
    if (auto k = header.find("kid"); k != header.end()) {
      if (!k->is_string()) return Err(Status::kKidNotFound);
      kid = k->get_ref<const std::string&>();
    }
    auto candidates = keys.candidates(kid, c->alg);
    if (candidates.empty()) {
      // jwt_verify_lib's JwksKidAlgMismatch: the kid exists but not for this alg.
      bool kid_known = kid && std::any_of(keys.keys().begin(), keys.keys().end(),
                                          [&](const Jwk& k) { return k.kid() == *kid; });
      return Err(kid_known ? Status::kAlgKeyMismatch : Status::kKidNotFound);
    }
    return verify_with_any(c->parts, c->alg, candidates);
  } catch (const std::exception&) {
    return Err(Status::kInternal);
  }
}

Result<Json, Status> decode_header(std::string_view compact, size_t max_size) {
  try {
    auto p = internal::split_compact(compact, max_size);
    if (!p) return Err(p.error());
    return std::move(p->header);
  } catch (const std::exception&) {
    return Err(Status::kInternal);
  }
}

Result<UnverifiedJws, Status> decode_unverified(std::string_view compact, size_t max_size) {
  try {
    auto p = internal::split_compact(compact, max_size);
    if (!p) return Err(p.error());
    auto parts = decode_parts(*p);
    if (!parts) return Err(parts.error());
    return UnverifiedJws{std::move(p->header), std::move(parts->payload)};
  } catch (const std::exception&) {
    return Err(Status::kInternal);
  }
}

}  // namespace tessera::jose
