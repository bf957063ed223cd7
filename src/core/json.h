// Strict JSON parsing for untrusted input: duplicate member names are an error
// (RFC 7515 §5.2, RFC 8259 §4 leaves them undefined; we refuse the ambiguity),
// nesting depth and size are capped.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
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

// A JSON value as it stands in its text, for reading a document without building a tree.
enum class Kind : uint8_t { kNull, kBoolean, kNumber, kString, kObject, kArray };
struct RawValue {
  Kind kind = Kind::kNull;
  std::string_view text;  // the value's exact JSON text (a string with its quotes)
};
// Called with a member's name (unescaped; valid during the call only) and its value.
using MemberVisitor = std::function<void(std::string_view name, RawValue value)>;

// Checks `text` exactly as parse_strict() does (the same grammar, UTF-8 and surrogate rules,
// number range, duplicate names, limits and error for every input), building nothing. When the
// root is an object and `on_root_member` is set, it is called for each member of the root, in
// order. Returns the root value. What a hot path uses to read a few members of a document it may
// never need whole (a JWT's claims, json_scan.cpp). One difference: a max_depth above 1,024 counts
// as 1,024 (the scanner recurses; parse_strict does not).
Result<RawValue, ParseError> scan_strict(std::string_view text, Limits limits = {},
                                         const MemberVisitor& on_root_member = nullptr);

// Readers of values that scan_strict() accepted (behaviour on other text is unspecified but
// memory-safe): the members of an object, the elements of an array, a string's unescaped content,
// a number as nlohmann would hold it.
void for_each_member(RawValue object, const MemberVisitor& visit);
void for_each_element(RawValue array, const std::function<void(RawValue)>& visit);
std::string string_value(RawValue string);
// The number as an integer when its text is one and fits int64_t; as a double otherwise.
std::optional<int64_t> integer_value(RawValue number);
double double_value(RawValue number);

}  // namespace tessera::json
