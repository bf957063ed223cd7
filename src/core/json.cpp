#include "core/json.h"

#include <set>
#include <vector>

namespace tessera::json {

const char* to_string(ParseError e) {
  switch (e) {
    case ParseError::kTooLarge:
      return "JSON document too large";
    case ParseError::kTooDeep:
      return "JSON nesting too deep";
    case ParseError::kDuplicateMember:
      return "duplicate JSON member name";
    case ParseError::kSyntax:
      return "malformed JSON";
  }
  return "malformed JSON";
}

Result<Json, ParseError> parse_strict(std::string_view text, Limits limits) {
  if (text.size() > limits.max_bytes) return Err(ParseError::kTooLarge);
  // One set of seen keys per open object; arrays push an empty marker so the
  // stack depth always matches the parser's.
  std::vector<std::set<std::string>> seen;
  bool duplicate = false;
  bool too_deep = false;
  auto cb = [&](int depth, Json::parse_event_t ev, Json& parsed) -> bool {
    if (depth > limits.max_depth) {
      too_deep = true;
      return false;
    }
    switch (ev) {
      case Json::parse_event_t::object_start:
      case Json::parse_event_t::array_start:
        seen.emplace_back();
        break;
      case Json::parse_event_t::object_end:
      case Json::parse_event_t::array_end:
        if (!seen.empty()) seen.pop_back();
        break;
      case Json::parse_event_t::key:
        if (!seen.empty() && !seen.back().insert(parsed.get<std::string>()).second) {
          duplicate = true;
        }
        break;
      case Json::parse_event_t::value:
        break;
    }
    return true;
  };
  Json j = Json::parse(text.begin(), text.end(), cb, /*allow_exceptions=*/false);
  if (too_deep) return Err(ParseError::kTooDeep);
  if (duplicate) return Err(ParseError::kDuplicateMember);
  if (j.is_discarded()) return Err(ParseError::kSyntax);
  return j;
}

}  // namespace tessera::json
