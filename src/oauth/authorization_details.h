// OAuth 2.0 Rich Authorization Requests (RFC 9396): the `authorization_details` parameter at
// /authorize, PAR and in request objects (§3), at the token endpoint (§6), in token responses
// (§7), JWT access tokens and introspection (§9). The server knows the types its configuration
// lists (as.authorization_details_types), each with a JSON Schema its objects must meet (§2:
// "The AS MUST refuse to process any unknown authorization details type or authorization
// details not conforming to the respective type definition").
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/json.h"
#include "core/result.h"

namespace tessera::oauth {

// Limits on the parameter: its JSON text, the objects in it, their nesting.
inline constexpr size_t kMaxAuthorizationDetailsBytes = 16384;
inline constexpr size_t kMaxAuthorizationDetails = 16;
inline constexpr int kMaxAuthorizationDetailsDepth = 8;

struct AuthorizationDetailsType {
  std::string description;   // the consent page's heading for objects of the type; empty: the type
  json::Json schema = true;  // core/json_schema.h subset; true: any object
};

// One object of a request as the consent page shows it: a heading, then its members, each as
// text (strings as they are, lists of strings joined by ", ", anything else as compact JSON).
struct AuthorizationDetailSummary {
  std::string heading;
  std::vector<std::pair<std::string, std::string>> members;
};

class AuthorizationDetailsTypes {
 public:
  using Map = std::map<std::string, AuthorizationDetailsType, std::less<>>;

  AuthorizationDetailsTypes() = default;
  explicit AuthorizationDetailsTypes(Map types);

  bool empty() const { return types_ == nullptr || types_->empty(); }
  // RFC 9396 §10.1 authorization_details_types_supported.
  std::vector<std::string> names() const;
  bool knows(std::string_view type) const;

  // The parameter's `text` as an array of objects (§2), each with a `type` this server knows
  // and `client_types` holds (empty: any of the server's; RFC 9396 §10.2), the common members
  // of §2.2 of the right shape, and meeting its type's schema. The error is the
  // error_description of invalid_authorization_details (§5).
  Result<json::Json, std::string> parse(std::string_view text,
                                        const std::vector<std::string>& client_types) const;

  std::vector<AuthorizationDetailSummary> summarize(const json::Json& details) const;

 private:
  // parse() before its error is made safe for error_description.
  Result<json::Json, std::string> check(std::string_view text,
                                        const std::vector<std::string>& client_types) const;

  std::shared_ptr<const Map> types_;
};

// RFC 9396 §6.1: whether `requested` is a subset of `granted`: each requested object within a
// granted object of its own (one granted payment never covers two requested ones), with the
// same type and the same members, where the common lists of §2.2 (locations, actions,
// datatypes, privileges) may leave entries out and every other member is equal. A narrower token
// never drops a member, since a missing member could mean "any"; never empties a common list
// the grant had entries in, which some resource servers read as "no restriction"; and repeats
// no list entry.
bool authorization_details_within(const json::Json& requested, const json::Json& granted);

}  // namespace tessera::oauth
