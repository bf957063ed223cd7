// A subset of JSON Schema (draft 2020-12, the validation vocabulary) for schemas an operator
// writes in the configuration: RFC 9396 §2 authorization details are checked against one per
// type. No Debian package offers a C++ validator, and the subset is small, so it lives here
// (docs/oauth.md says which keywords it knows).
//
// Keywords: type (a name or a list), enum, const, properties, required, additionalProperties
// (true, false or a schema), items, minItems, maxItems, uniqueItems, minLength, maxLength,
// minimum, maximum, exclusiveMinimum, exclusiveMaximum; annotations ($schema, $id, $comment,
// title, description, examples, default) are ignored. `pattern` is refused: std::regex
// backtracks without bound, and a schema must not let a request spend the server's CPU.
// Anything else is refused when the schema is loaded, so no keyword is silently ignored.
#pragma once

#include <optional>
#include <string>

#include "core/json.h"

namespace tessera::json {

// Maximum nesting of subschemas in a schema; values are bounded by parse_strict's depth.
inline constexpr int kMaxSchemaDepth = 16;

// Why `schema` is not one this validator can apply (a keyword it does not know, a keyword
// with a value of the wrong kind, nesting deeper than kMaxSchemaDepth); nullopt: usable.
std::optional<std::string> schema_problem(const Json& schema);

// The first way `value` breaks `schema` (checked by schema_problem), naming where by a JSON
// Pointer (RFC 6901), e.g. "/instructedAmount/currency: must be a string"; nullopt: it conforms.
std::optional<std::string> schema_violation(const Json& schema, const Json& value);

}  // namespace tessera::json
