// Strict JSON parsing for untrusted input: duplicate member names are an error
// (RFC 7515 §5.2, RFC 8259 §4 leaves them undefined; we refuse the ambiguity),
// nesting depth and size are capped.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/result.h"

namespace tessera::json {

using Json = nlohmann::json;

struct Limits {
  size_t max_bytes = 1 << 20;
  int max_depth = 32;
};

enum class ParseError { kTooLarge, kTooDeep, kDuplicateMember, kSyntax };
const char* to_string(ParseError e);

Result<Json, ParseError> parse_strict(std::string_view text, Limits limits = {});

}  // namespace tessera::json
