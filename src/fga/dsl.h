// The OpenFGA modelling language, schema 1.1, and the JSON form OpenFGA's API carries
// (WriteAuthorizationModelRequest / AuthorizationModel), both ways.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/result.h"
#include "fga/error.h"
#include "fga/model.h"

namespace tessera::fga {

// A DSL syntax error names the place: line and column are 1-based.
struct DslError {
  int line = 0;
  int column = 0;
  std::string message;
};

// Parses DSL text into a model. Syntax only: run validate_model() for the semantic rules.
Result<Model, DslError> parse_dsl(std::string_view text);

// Writes a model as DSL text (types and relations in their order; conditions after types).
std::string to_dsl(const Model& model);

// The JSON form: {"schema_version", "type_definitions": [...], "conditions": {...}} with
// "id" when the model has one. Reading refuses malformed JSON with validation_error.
nlohmann::json to_json(const Model& model);
Result<Model, Error> model_from_json(const nlohmann::json& json);

// OpenFGA's semantic rules for a model (undefined types and relations, tuple-to-userset
// on a relation that is not a direct one, relations that can never resolve, unknown or
// duplicate conditions, ...). Errors carry OpenFGA's codes (invalid_authorization_model,
// type_not_found, relation_not_found, unsupported_schema_version, ...).
Result<Ok, Error> validate_model(const Model& model);

}  // namespace tessera::fga
