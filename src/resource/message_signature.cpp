#include "tessera/message_signature.h"

#include <algorithm>

#include "core/base64url.h"
#include "core/crypto.h"
#include "core/structured_fields.h"
#include "http/message.h"

namespace tessera::resource {
namespace {

constexpr std::string_view kAlg = "hmac-sha256";

using http::ascii_lower;
using http::trim_ows;

// RFC 9421 §2.2.3: the target URI's authority, host lowercased, a default port dropped.
std::string authority_value(const SignedMessage& m) {
  std::string a = ascii_lower(m.authority);
  const std::string_view default_port = m.scheme == "https" ? ":443" : ":80";
  const size_t bracket = a.rfind(']');
  const size_t colon = a.rfind(':');
  if (colon != std::string::npos && (bracket == std::string::npos || colon > bracket) &&
      std::string_view(a).substr(colon) == default_port) {
    a.erase(colon);
  }
  return a;
}

// §2.2 and §2.1: one component's value; nullopt when the message has none.
std::optional<std::string> component_value(const SignedMessage& m, std::string_view id) {
  const std::string_view target = m.target;
  const size_t q = target.find('?');
  if (id == "@method") return std::string(m.method);  // §2.2.1: case-sensitive, as sent
  if (id == "@authority") {
    if (m.authority.empty()) return std::nullopt;
    return authority_value(m);
  }
  if (id == "@path") {  // §2.2.6: an empty path is "/"
    const std::string_view path = target.substr(0, q);
    return path.empty() ? std::string("/") : std::string(path);
  }
  if (id == "@query") {  // §2.2.7: "?" alone when there is none
    return q == std::string_view::npos ? std::string("?") : std::string(target.substr(q));
  }
  if (id.empty() || id.front() == '@') return std::nullopt;  // a derived component not supported
  // §2.1: every line of the field, trimmed, joined with ", ".
  std::optional<std::string> out;
  for (const auto& [name, value] : m.fields) {
    if (!http::iequals(name, id)) continue;
    if (out) {
      *out += ", ";
    } else {
      out.emplace();
    }
    *out += trim_ows(value);
  }
  return out;
}

// No newline, nothing outside ASCII (RFC 9421 §2.5).
bool ascii_line(std::string_view v) {
  return std::none_of(v.begin(), v.end(), [](char c) {
    return c == '\n' || c == '\r' || static_cast<unsigned char>(c) >= 0x80;
  });
}

sf::InnerList covered_list(const std::vector<std::string>& covered) {
  sf::InnerList list;
  for (const auto& id : covered) list.items.push_back(sf::Item{id, {}});
  return list;
}

}  // namespace

std::optional<std::string> signature_base(const SignedMessage& message,
                                          const std::vector<std::string>& covered,
                                          std::string_view signature_params) {
  std::string base;
  for (size_t i = 0; i < covered.size(); ++i) {
    const std::string& id = covered[i];
    // §2.5 step 2.1: a component named twice fails; names are lowercase (§2.1).
    if (id != ascii_lower(id) ||
        std::find(covered.begin(), covered.begin() + static_cast<ptrdiff_t>(i), id) !=
            covered.begin() + static_cast<ptrdiff_t>(i)) {
      return std::nullopt;
    }
    auto value = component_value(message, id);
    // §2.5: a value with a newline fails (it would forge a line of the base), and the base is
    // ASCII.
    if (!value || !ascii_line(*value)) return std::nullopt;
    base += '"';
    base += id;
    base += "\": ";
    base += *value;
    base += '\n';
  }
  base += "\"@signature-params\": ";
  base += signature_params;
  return base;
}

std::optional<std::string> signature_params(const std::vector<std::string>& covered,
                                            int64_t created, std::string_view keyid,
                                            std::string_view tag) {
  sf::InnerList list = covered_list(covered);
  list.params = {{"created", created}, {"keyid", std::string(keyid)}, {"alg", std::string(kAlg)}};
  if (!tag.empty()) list.params.emplace_back("tag", std::string(tag));
  return sf::serialize(list);
}

std::optional<SignatureFields> sign_hmac_sha256(const SignedMessage& message,
                                                const std::vector<std::string>& covered,
                                                const HmacKey& key, int64_t created,
                                                std::string_view label, std::string_view tag) {
  const auto params = signature_params(covered, created, key.id, tag);
  if (!params) return std::nullopt;
  auto base = signature_base(message, covered, *params);
  if (!base) return std::nullopt;
  const std::string mac = crypto::hmac_sha256_reused_key(key.secret, *base);
  SignatureFields out;
  out.signature_input = std::string(label) + "=" + *params;
  out.signature = std::string(label) + "=:" + base64::encode(mac) + ":";
  return out;
}

SignatureCheck verify_hmac_sha256(const SignedMessage& message, std::string_view signature_input,
                                  std::string_view signature, const SignaturePolicy& policy,
                                  int64_t now) {
  SignatureCheck check;
  auto fail = [&check](std::string why) {
    check.error = std::move(why);
    return std::move(check);
  };
  const auto inputs = sf::parse_dictionary(signature_input);
  const auto signatures = sf::parse_dictionary(signature);
  if (!inputs || !signatures) return fail("Signature-Input or Signature is not a dictionary");
  const sf::Member* input = sf::find(*inputs, policy.label);
  const sf::Member* value = sf::find(*signatures, policy.label);
  if (input == nullptr || value == nullptr) return fail("no signature labelled " + policy.label);
  const auto* list = std::get_if<sf::InnerList>(input);
  const auto* item = std::get_if<sf::Item>(value);
  const auto* mac = item != nullptr ? std::get_if<sf::ByteSequence>(&item->value) : nullptr;
  if (list == nullptr || mac == nullptr) return fail("the signature's members are malformed");

  std::vector<std::string> covered;
  for (const sf::Item& component : list->items) {
    const auto* id = std::get_if<std::string>(&component.value);
    if (id == nullptr || !component.params.empty()) {
      return fail("a covered component is not a plain component name");
    }
    covered.push_back(*id);
  }
  // §2.3 parameters.
  const auto* alg = sf::find(list->params, "alg");
  if (alg != nullptr && std::get_if<std::string>(alg) == nullptr) return fail("alg is malformed");
  if (alg != nullptr && std::get<std::string>(*alg) != kAlg) return fail("alg is not hmac-sha256");
  const auto* keyid = sf::find(list->params, "keyid");
  const auto* keyid_value = keyid != nullptr ? std::get_if<std::string>(keyid) : nullptr;
  if (keyid_value == nullptr) return fail("no keyid");
  const auto key = std::find_if(policy.keys.begin(), policy.keys.end(),
                                [&](const HmacKey& k) { return k.id == *keyid_value; });
  if (key == policy.keys.end()) return fail("keyid names no key of ours");
  const auto* created = sf::find(list->params, "created");
  const auto* created_value = created != nullptr ? std::get_if<int64_t>(created) : nullptr;
  if (created_value == nullptr) return fail("no created");
  if (*created_value > now + policy.leeway_seconds) return fail("created is in the future");
  if (now - *created_value > policy.max_age_seconds) return fail("created is too old");
  if (const auto* expires = sf::find(list->params, "expires")) {
    const auto* at = std::get_if<int64_t>(expires);
    if (at == nullptr || *at <= now) return fail("the signature has expired");
  }
  if (!policy.tag.empty()) {
    const auto* tag = sf::find(list->params, "tag");
    const auto* tag_value = tag != nullptr ? std::get_if<std::string>(tag) : nullptr;
    if (tag_value == nullptr || *tag_value != policy.tag) {
      return fail("the tag is not " + policy.tag);
    }
  }
  for (const auto& id : policy.required) {
    if (std::find(covered.begin(), covered.end(), id) == covered.end()) {
      return fail("the signature does not cover " + id);
    }
  }
  // §3.2 step 7: the base from the parameters as received, serialised again.
  const auto params = sf::serialize(*list);
  if (!params) return fail("the signature parameters cannot be serialised");
  const auto base = signature_base(message, covered, *params);
  if (!base) return fail("a covered component is absent or malformed");
  const std::string expected = crypto::hmac_sha256_reused_key(key->secret, *base);
  if (!crypto::equal_ct(expected, mac->bytes)) return fail("the signature does not match");
  check.valid = true;
  check.covered = std::move(covered);
  return check;
}

}  // namespace tessera::resource
