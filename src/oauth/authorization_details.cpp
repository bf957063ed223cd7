#include "oauth/authorization_details.h"

#include <algorithm>
#include <array>

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

// One granted object covers one requested: same type, same members; a common list may be a
// subset, anything else must be equal.
bool covers(const json::Json& granted, const json::Json& requested) {
  if (!granted.is_object() || !requested.is_object() || granted.size() != requested.size()) {
    return false;
  }
  for (const auto& [name, value] : requested.items()) {
    auto g = granted.find(name);
    if (g == granted.end()) return false;
    if (is_common_list(name) && value.is_array() && g->is_array()) {
      if (!std::all_of(value.begin(), value.end(), [&](const json::Json& e) {
            return std::find(g->begin(), g->end(), e) != g->end();
          })) {
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

Result<json::Json, std::string> AuthorizationDetailsTypes::parse(
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
  if (!requested.is_array() || !granted.is_array()) return false;
  // A narrower set repeats nothing: no object twice, no entry twice in a common list.
  for (size_t i = 0; i < requested.size(); ++i) {
    for (size_t j = i + 1; j < requested.size(); ++j) {
      if (requested[i] == requested[j]) return false;
    }
    if (!requested[i].is_object()) return false;
    for (std::string_view name : kCommonLists) {
      auto list = requested[i].find(name);
      if (list == requested[i].end() || !list->is_array()) continue;
      for (auto a = list->begin(); a != list->end(); ++a) {
        if (std::find(std::next(a), list->end(), *a) != list->end()) return false;
      }
    }
  }
  return std::all_of(requested.begin(), requested.end(), [&](const json::Json& r) {
    return std::any_of(granted.begin(), granted.end(),
                       [&](const json::Json& g) { return covers(g, r); });
  });
}

}  // namespace tessera::oauth
