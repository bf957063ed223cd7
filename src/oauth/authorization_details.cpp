#include "oauth/authorization_details.h"

#include <algorithm>
#include <array>
#include <functional>
#include <optional>

#include "core/json_schema.h"
#include "core/space_list.h"

namespace tessera::oauth {
namespace {

// RFC 9396 §2.2: the members every type may use, lists of strings but for identifier.
constexpr std::array<std::string_view, 4> kCommonLists = {"locations", "actions", "datatypes",
                                                          "privileges"};

bool is_common_list(std::string_view name) {
  return std::find(kCommonLists.begin(), kCommonLists.end(), name) != kCommonLists.end();
}

bool is_string_list(const json::Json& v) {
  return v.is_array() &&
         std::all_of(v.begin(), v.end(), [](const json::Json& e) { return e.is_string(); });
}

std::optional<std::string> common_member_problem(const json::Json& detail, size_t index) {
  const std::string at = "authorization_details[" + std::to_string(index) + "]";
  for (std::string_view name : kCommonLists) {
    auto it = detail.find(name);
    if (it != detail.end() && !is_string_list(*it)) {
      return at + "." + std::string(name) + " must be an array of strings (RFC 9396 §2.2)";
    }
  }
  if (auto it = detail.find("identifier"); it != detail.end() && !it->is_string()) {
    return at + ".identifier must be a string (RFC 9396 §2.2)";
  }
  return std::nullopt;
}

std::string member_text(const json::Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (is_string_list(v)) {
    std::string out;
    for (const auto& e : v) {
      if (!out.empty()) out += ", ";
      out += e.get<std::string>();
    }
    return out;
  }
  return v.dump();
}

// The strings of a common list, sorted; nullopt when it holds anything else.
std::optional<std::vector<std::string>> sorted_strings(const json::Json& list) {
  if (!is_string_list(list)) return std::nullopt;
  std::vector<std::string> out;
  out.reserve(list.size());
  for (const auto& e : list) out.push_back(e.get<std::string>());
  std::sort(out.begin(), out.end());
  return out;
}

// One granted object covers one requested: same type, same members; a common list may leave
// entries out (but not all of them, which some resource servers read as "no restriction", and
// without repeating any), anything else must be equal.
bool covers(const json::Json& granted, const json::Json& requested) {
  if (!granted.is_object() || !requested.is_object() || granted.size() != requested.size()) {
    return false;
  }
  for (const auto& [name, value] : requested.items()) {
    auto g = granted.find(name);
    if (g == granted.end()) return false;
    if (is_common_list(name)) {
      auto asked = sorted_strings(value);
      auto had = sorted_strings(*g);
      if (!asked || !had || (asked->empty() && !had->empty()) ||
          std::adjacent_find(asked->begin(), asked->end()) != asked->end() ||
          !std::includes(had->begin(), had->end(), asked->begin(), asked->end())) {
        return false;
      }
    } else if (*g != value) {
      return false;
    }
  }
  return true;
}

}  // namespace

AuthorizationDetailsTypes::AuthorizationDetailsTypes(Map types)
    : types_(std::make_shared<const Map>(std::move(types))) {}

std::vector<std::string> AuthorizationDetailsTypes::names() const {
  std::vector<std::string> out;
  if (types_) {
    for (const auto& [name, type] : *types_) out.push_back(name);
  }
  return out;
}

bool AuthorizationDetailsTypes::knows(std::string_view type) const {
  return types_ && types_->find(type) != types_->end();
}

namespace {

// RFC 6749 §5.2 error_description: %x20-21 / %x23-5B / %x5D-7E only. The descriptions here quote
// schema values and member names a client chose; anything outside the set becomes '?', and they
// are cut to a length that fits a redirect's Location.
constexpr size_t kMaxDescription = 300;

std::string safe_description(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, kMaxDescription)) {
    const auto byte = static_cast<unsigned char>(c);
    const bool allowed = byte >= 0x20 && byte <= 0x7e && c != '"' && c != '\\';
    out.push_back(allowed ? c : (c == '"' ? '\'' : '?'));
  }
  if (text.size() > kMaxDescription) out += "...";
  return out;
}

}  // namespace

Result<json::Json, std::string> AuthorizationDetailsTypes::parse(
    std::string_view text, const std::vector<std::string>& client_types) const {
  auto checked = check(text, client_types);
  if (!checked) return Err(safe_description(checked.error()));
  return checked;
}

Result<json::Json, std::string> AuthorizationDetailsTypes::check(
    std::string_view text, const std::vector<std::string>& client_types) const {
  if (empty()) return Err(std::string("this server accepts no authorization_details"));
  if (text.size() > kMaxAuthorizationDetailsBytes) {
    return Err("authorization_details is longer than " +
               std::to_string(kMaxAuthorizationDetailsBytes) + " bytes");
  }
  auto parsed = json::parse_strict(text, {.max_bytes = kMaxAuthorizationDetailsBytes,
                                          .max_depth = kMaxAuthorizationDetailsDepth});
  if (!parsed) {
    return Err("authorization_details is not valid JSON (" +
               std::string(to_string(parsed.error())) + ")");
  }
  json::Json& details = *parsed;
  // §2: "a JSON array of JSON objects"; an empty one asks for nothing and is refused as such.
  if (!details.is_array() || details.empty()) {
    return Err(std::string("authorization_details must be a non-empty JSON array of objects"));
  }
  if (details.size() > kMaxAuthorizationDetails) {
    return Err("at most " + std::to_string(kMaxAuthorizationDetails) +
               " authorization_details objects are accepted");
  }
  for (size_t i = 0; i < details.size(); ++i) {
    const json::Json& detail = details[i];
    const std::string at = "authorization_details[" + std::to_string(i) + "]";
    if (!detail.is_object()) return Err(at + " is not an object");
    auto type = detail.find("type");
    if (type == detail.end() || !type->is_string()) {
      return Err(at + " has no type (RFC 9396 §2)");
    }
    const std::string& name = type->get_ref<const std::string&>();
    auto known = types_->find(name);
    if (known == types_->end()) return Err(std::string(at).append(": unknown type ").append(name));
    if (!client_types.empty() && !list_contains(client_types, name)) {
      return Err(std::string(at).append(": the client may not use type ").append(name));
    }
    if (auto problem = common_member_problem(detail, i)) return Err(std::move(*problem));
    if (auto violation = json::schema_violation(known->second.schema, detail)) {
      return Err(std::string(at)
                     .append(" breaks the schema of ")
                     .append(name)
                     .append(": ")
                     .append(*violation));
    }
  }
  return std::move(details);
}

std::vector<AuthorizationDetailSummary> AuthorizationDetailsTypes::summarize(
    const json::Json& details) const {
  std::vector<AuthorizationDetailSummary> out;
  if (!details.is_array()) return out;
  for (const auto& detail : details) {
    if (!detail.is_object()) continue;
    AuthorizationDetailSummary summary;
    const std::string type = detail.value("type", std::string());
    summary.heading = type;
    if (types_) {
      if (auto known = types_->find(type);
          known != types_->end() && !known->second.description.empty()) {
        summary.heading = known->second.description;
      }
    }
    for (const auto& [name, value] : detail.items()) {
      if (name != "type") summary.members.emplace_back(name, member_text(value));
    }
    out.push_back(std::move(summary));
  }
  return out;
}

bool authorization_details_within(const json::Json& requested, const json::Json& granted) {
  if (!requested.is_array() || !granted.is_array() || requested.size() > granted.size() ||
      requested.size() > kMaxAuthorizationDetails || granted.size() > kMaxAuthorizationDetails) {
    return false;
  }
  // Which granted object covers which requested one, then a matching (Kuhn's augmenting paths):
  // each requested object needs a granted object of its own, so one payment granted never
  // becomes two payments asked.
  const size_t n = requested.size();
  const size_t m = granted.size();
  std::vector<std::vector<bool>> cover(n, std::vector<bool>(m));
  for (size_t r = 0; r < n; ++r) {
    for (size_t g = 0; g < m; ++g) cover[r][g] = covers(granted[g], requested[r]);
  }
  std::vector<int> owner(m, -1);  // the requested object a granted one is matched to
  std::function<bool(size_t, std::vector<bool>&)> augment = [&](size_t r, std::vector<bool>& seen) {
    for (size_t g = 0; g < m; ++g) {
      if (!cover[r][g] || seen[g]) continue;
      seen[g] = true;
      if (owner[g] < 0 || augment(static_cast<size_t>(owner[g]), seen)) {
        owner[g] = static_cast<int>(r);
        return true;
      }
    }
    return false;
  };
  for (size_t r = 0; r < n; ++r) {
    std::vector<bool> seen(m);
    if (!augment(r, seen)) return false;
  }
  return true;
}

}  // namespace tessera::oauth
