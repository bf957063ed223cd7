#include "resource/principal_codec.h"

#include <array>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <utility>
#include <vector>

#include "core/space_list.h"

namespace tessera::resource::detail {
namespace {

using Json = nlohmann::json;

// Lengths and integers as LEB128 varints; signed integers zigzag-encoded first.
void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}

void put_signed(std::string& out, int64_t v) {
  put_varint(out, (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
}

void put_string(std::string& out, std::string_view s) {
  put_varint(out, s.size());
  out.append(s);
}

void put_strings(std::string& out, const std::vector<std::string>& v) {
  put_varint(out, v.size());
  for (const auto& s : v) put_string(out, s);
}

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}

  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= in_.size()) fail();
      const auto byte = static_cast<unsigned char>(in_[pos_++]);
      v |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) return v;
    }
    fail();
  }
  int64_t signed_value() {
    const uint64_t z = varint();
    return static_cast<int64_t>((z >> 1) ^ (~(z & 1) + 1));
  }
  std::string_view bytes() {
    const uint64_t n = varint();
    if (n > in_.size() - pos_) fail();
    std::string_view s = in_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  std::string string() { return std::string(bytes()); }
  std::vector<std::string> strings() {
    const uint64_t n = varint();
    if (n > in_.size() - pos_) fail();  // every string takes at least its length byte
    std::vector<std::string> v;
    v.reserve(n);
    for (uint64_t i = 0; i < n; ++i) v.push_back(string());
    return v;
  }
  bool done() const { return pos_ == in_.size(); }

 private:
  [[noreturn]] static void fail() { throw std::runtime_error("principal encoding is truncated"); }
  std::string_view in_;
  size_t pos_ = 0;
};

// The claims the typed fields can say again exactly, each with its bit in the `own` part's flags.
// A claim is left out of the stored claims only when rebuilding it from the typed field gives
// back an equal value of the same kind (a string for a string, an integer for an integer).
enum Rebuilt : uint32_t {
  kIss = 1U << 0,
  kSub = 1U << 1,
  kClientId = 1U << 2,
  kJti = 1U << 3,
  kAcr = 1U << 4,
  kScope = 1U << 5,
  kAudString = 1U << 6,  // "aud": "x" (RFC 7519 §4.1.3 allows a single string)
  kAudArray = 1U << 7,
  kAmr = 1U << 8,
  kIat = 1U << 9,
  kExp = 1U << 10,
  kAuthTime = 1U << 11,
  kEmptyDomainClaims = 1U << 12,
};

Json integer(int64_t v) {
  // As the JSON parser reads them: non-negative integers are unsigned.
  return v >= 0 ? Json(static_cast<uint64_t>(v)) : Json(v);
}

struct Rule {
  const char* claim;
  uint32_t bit;
  Json (*rebuild)(const Principal&);
};

const std::array<Rule, 12>& rules() {
  static const std::array<Rule, 12> kRules{{
      {"iss", kIss, [](const Principal& p) { return Json(p.issuer); }},
      {"sub", kSub, [](const Principal& p) { return Json(p.subject); }},
      {"client_id", kClientId, [](const Principal& p) { return Json(p.client_id); }},
      {"jti", kJti, [](const Principal& p) { return Json(p.token_id); }},
      {"acr", kAcr, [](const Principal& p) { return Json(p.acr); }},
      {"scope", kScope, [](const Principal& p) { return Json(join_space_list(p.scopes)); }},
      {"aud", kAudString,
       [](const Principal& p) { return p.audiences.size() == 1 ? Json(p.audiences[0]) : Json(); }},
      {"aud", kAudArray, [](const Principal& p) { return Json(p.audiences); }},
      {"amr", kAmr, [](const Principal& p) { return Json(p.amr); }},
      {"iat", kIat, [](const Principal& p) { return integer(p.issued_at); }},
      {"exp", kExp, [](const Principal& p) { return integer(p.expires_at); }},
      {"auth_time", kAuthTime,
       [](const Principal& p) { return p.auth_time ? integer(*p.auth_time) : Json(); }},
  }};
  return kRules;
}

bool same_kind(const Json& a, const Json& b) {
  if (a.is_number_integer() || b.is_number_integer()) {
    return a.is_number_integer() && b.is_number_integer();
  }
  return a.type() == b.type();
}

void put_json(std::string& out, const Json& j) {
  std::vector<uint8_t> packed;
  Json::to_msgpack(j, packed);
  put_varint(out, packed.size());
  out.append(packed.begin(), packed.end());
}

Json get_json(Reader& in) {
  const std::string_view packed = in.bytes();
  try {
    return Json::from_msgpack(packed.begin(), packed.end());
  } catch (const Json::exception&) {
    throw std::runtime_error("principal encoding holds invalid MessagePack");
  }
}

}  // namespace

EncodedPrincipal encode_principal(const Principal& p) {
  EncodedPrincipal out;
  put_string(out.shared, p.issuer);
  put_string(out.shared, p.client_id);
  put_string(out.shared, p.acr);
  put_strings(out.shared, p.scopes);
  put_strings(out.shared, p.audiences);
  put_strings(out.shared, p.amr);

  uint32_t flags = 0;
  const Json& all = p.claims.json();
  const Json* claims = &all;
  Json rest;
  if (all.is_object()) {
    for (const Rule& rule : rules()) {
      auto it = all.find(rule.claim);
      if (it == all.end()) continue;
      const Json again = rule.rebuild(p);
      if (same_kind(*it, again) && *it == again) flags |= rule.bit;
    }
    if (flags != 0) {
      rest = all;
      for (const Rule& rule : rules()) {
        if ((flags & rule.bit) != 0) rest.erase(rule.claim);
      }
      claims = &rest;
    }
  }
  if (p.domain_claims.is_object() && p.domain_claims.empty()) flags |= kEmptyDomainClaims;

  std::string& own = out.own;
  put_varint(own, flags);
  put_string(own, p.subject);
  put_string(own, p.token_id);
  put_signed(own, p.issued_at);
  put_signed(own, p.expires_at);
  put_varint(own, p.auth_time ? 1 : 0);
  if (p.auth_time) put_signed(own, *p.auth_time);
  put_varint(own, p.actors.size());
  for (const Actor& a : p.actors) {
    put_string(own, a.subject);
    put_string(own, a.client_id);
  }
  put_string(own, p.dpop_jkt);
  put_string(own, p.certificate_thumbprint);
  put_string(own, p.signed_introspection);
  put_json(own, *claims);
  if ((flags & kEmptyDomainClaims) == 0) put_json(own, p.domain_claims);
  return out;
}

Principal decode_principal(std::string_view shared, std::string_view own) {
  Principal p;
  Reader s(shared);
  p.issuer = s.string();
  p.client_id = s.string();
  p.acr = s.string();
  p.scopes = s.strings();
  p.audiences = s.strings();
  p.amr = s.strings();

  Reader o(own);
  const uint64_t flags = o.varint();
  p.subject = o.string();
  p.token_id = o.string();
  p.issued_at = o.signed_value();
  p.expires_at = o.signed_value();
  if (o.varint() != 0) p.auth_time = o.signed_value();
  const uint64_t actors = o.varint();
  if (actors > own.size()) throw std::runtime_error("principal encoding is truncated");
  p.actors.reserve(actors);
  for (uint64_t i = 0; i < actors; ++i) {
    Actor a;
    a.subject = o.string();
    a.client_id = o.string();
    p.actors.push_back(std::move(a));
  }
  p.dpop_jkt = o.string();
  p.certificate_thumbprint = o.string();
  p.signed_introspection = o.string();
  Json claims = get_json(o);
  for (const Rule& rule : rules()) {
    if ((flags & rule.bit) != 0) claims[rule.claim] = rule.rebuild(p);
  }
  p.claims = std::move(claims);
  p.domain_claims = (flags & kEmptyDomainClaims) != 0 ? Json::object() : get_json(o);
  if (!s.done() || !o.done()) throw std::runtime_error("principal encoding has trailing bytes");
  return p;
}

}  // namespace tessera::resource::detail
