// Shared by dsl.cpp, model_json.cpp and validate.cpp: the explicit limits on model size (so
// hostile input cannot exhaust memory or the stack) and the condition parameter type names.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

#include "fga/model.h"

namespace tessera::fga::detail {

// Limits. OpenFGA caps a stored model at 256 KiB of protobuf
// (OPENFGA_MAX_AUTHORIZATION_MODEL_SIZE_IN_BYTES) and 100 types per model
// (OPENFGA_MAX_TYPES_PER_AUTHORIZATION_MODEL); ours are looser so any model OpenFGA accepts
// parses, but still bounded.
constexpr size_t kMaxDslBytes = size_t{1} << 20;  // DSL text
constexpr size_t kMaxTypes = 1000;                // type definitions per model
constexpr size_t kMaxRelations = 1000;            // relations per type
constexpr size_t kMaxTypeRestrictions = 1000;     // entries of one `[...]`
constexpr size_t kMaxConditions = 1000;           // conditions per model (OpenFGA: 25, validated)
constexpr size_t kMaxParameters = 100;            // parameters per condition (OpenFGA: 25)
constexpr size_t kMaxOperands = 1000;             // operands of one union / intersection
// Nesting of rewrites: parentheses in the DSL, union/intersection/difference in JSON. Every
// recursive walk over a rewrite stops here, so the stack stays bounded.
constexpr int kMaxRewriteDepth = 64;
// Nesting of condition parameter generic types in JSON (`list<list<...>>`).
constexpr int kMaxGenericDepth = 8;

// DSL spelling of a parameter type: "int", "list", ... ("any" has no DSL spelling in OpenFGA's
// grammar; we still print it so the error is visible when parsed back).
std::string_view param_type_dsl_name(ParamType t);
std::optional<ParamType> param_type_from_dsl(std::string_view name);
// JSON enum name (openfga/api ConditionParamTypeRef.TypeName): "TYPE_NAME_INT", ...
std::string_view param_type_json_name(ParamType t);
std::optional<ParamType> param_type_from_json(std::string_view name);
// list and map take exactly one generic type, the others none (OpenFGA pkg/condition/types).
inline size_t param_generic_count(ParamType t) {
  return t == ParamType::List || t == ParamType::Map ? 1 : 0;
}

}  // namespace tessera::fga::detail
