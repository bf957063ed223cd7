// Errors of the fga role in OpenFGA's shape: `{"code": "<name>", "message": "..."}`
// (openfga/api errors.proto). The numeric code is what OpenFGA's conformance tests name
// (`errorCode: 2027`); the HTTP layer sends the name.
#pragma once

#include <string>
#include <string_view>

namespace tessera::fga {

enum class ErrorCode : int {
  // 2000s: the caller's input (HTTP 400).
  validation_error = 2000,
  authorization_model_not_found = 2001,
  authorization_model_resolution_too_complex = 2002,
  invalid_write_input = 2003,
  cannot_allow_duplicate_tuples_in_one_request = 2004,
  cannot_allow_duplicate_types_in_one_request = 2005,
  cannot_allow_multiple_references_to_one_relation = 2006,
  invalid_continuation_token = 2007,
  invalid_tuple_set = 2008,
  invalid_check_input = 2009,
  invalid_expand_input = 2010,
  unsupported_user_set = 2011,
  invalid_object_format = 2012,
  write_failed_due_to_invalid_input = 2017,
  authorization_model_assertions_not_found = 2018,
  latest_authorization_model_not_found = 2020,
  type_not_found = 2021,
  relation_not_found = 2022,
  empty_relation_definition = 2023,
  invalid_user = 2025,
  invalid_tuple = 2027,
  unknown_relation = 2028,
  store_id_invalid_length = 2030,
  assertions_too_many_items = 2033,
  id_too_long = 2034,
  authorization_model_id_too_long = 2036,
  tuple_key_value_not_specified = 2037,
  tuple_keys_too_many_or_too_few_items = 2038,
  page_size_invalid = 2039,
  param_missing_value = 2040,
  difference_base_missing_value = 2041,
  subtract_base_missing_value = 2042,
  object_too_long = 2043,
  relation_too_long = 2044,
  type_definitions_too_few_items = 2045,
  type_invalid_length = 2046,
  type_invalid_pattern = 2047,
  relations_too_few_items = 2048,
  relations_too_long = 2049,
  relations_invalid_pattern = 2050,
  object_invalid_pattern = 2051,
  query_string_type_continuation_token_mismatch = 2052,
  exceeded_entity_limit = 2053,
  invalid_contextual_tuple = 2054,
  duplicate_contextual_tuple = 2055,
  invalid_authorization_model = 2056,
  unsupported_schema_version = 2057,
  cancelled = 2058,
  // 3500: throttled (HTTP 422).
  throttled_timeout_error = 3500,
  // 4000s: ours (HTTP 500 / 503 / 409).
  internal_error = 4000,
  deadline_exceeded = 4004,
  already_exists = 4005,
  resource_exhausted = 4006,
  failed_precondition = 4007,
  aborted = 4008,
  // 5000s: not found (HTTP 404).
  undefined_endpoint = 5000,
  store_id_not_found = 5002,
};

struct Error {
  ErrorCode code = ErrorCode::validation_error;
  std::string message;
};

inline Error make_error(ErrorCode code, std::string message) {
  return Error{code, std::move(message)};
}

// The wire name, e.g. "invalid_tuple".
std::string_view error_name(ErrorCode code);
// The HTTP status OpenFGA answers with for `code` (400, 404, 409, 422, 500, ...).
int error_http_status(ErrorCode code);

}  // namespace tessera::fga
