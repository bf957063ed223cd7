#include "fga/error.h"

namespace tessera::fga {

std::string_view error_name(ErrorCode code) {
  switch (code) {
#define TESSERA_FGA_NAME(c) \
  case ErrorCode::c:        \
    return #c;
    TESSERA_FGA_NAME(validation_error)
    TESSERA_FGA_NAME(authorization_model_not_found)
    TESSERA_FGA_NAME(authorization_model_resolution_too_complex)
    TESSERA_FGA_NAME(invalid_write_input)
    TESSERA_FGA_NAME(cannot_allow_duplicate_tuples_in_one_request)
    TESSERA_FGA_NAME(cannot_allow_duplicate_types_in_one_request)
    TESSERA_FGA_NAME(cannot_allow_multiple_references_to_one_relation)
    TESSERA_FGA_NAME(invalid_continuation_token)
    TESSERA_FGA_NAME(invalid_tuple_set)
    TESSERA_FGA_NAME(invalid_check_input)
    TESSERA_FGA_NAME(invalid_expand_input)
    TESSERA_FGA_NAME(unsupported_user_set)
    TESSERA_FGA_NAME(invalid_object_format)
    TESSERA_FGA_NAME(write_failed_due_to_invalid_input)
    TESSERA_FGA_NAME(authorization_model_assertions_not_found)
    TESSERA_FGA_NAME(latest_authorization_model_not_found)
    TESSERA_FGA_NAME(type_not_found)
    TESSERA_FGA_NAME(relation_not_found)
    TESSERA_FGA_NAME(empty_relation_definition)
    TESSERA_FGA_NAME(invalid_user)
    TESSERA_FGA_NAME(invalid_tuple)
    TESSERA_FGA_NAME(unknown_relation)
    TESSERA_FGA_NAME(store_id_invalid_length)
    TESSERA_FGA_NAME(assertions_too_many_items)
    TESSERA_FGA_NAME(id_too_long)
    TESSERA_FGA_NAME(authorization_model_id_too_long)
    TESSERA_FGA_NAME(tuple_key_value_not_specified)
    TESSERA_FGA_NAME(tuple_keys_too_many_or_too_few_items)
    TESSERA_FGA_NAME(page_size_invalid)
    TESSERA_FGA_NAME(param_missing_value)
    TESSERA_FGA_NAME(difference_base_missing_value)
    TESSERA_FGA_NAME(subtract_base_missing_value)
    TESSERA_FGA_NAME(object_too_long)
    TESSERA_FGA_NAME(relation_too_long)
    TESSERA_FGA_NAME(type_definitions_too_few_items)
    TESSERA_FGA_NAME(type_invalid_length)
    TESSERA_FGA_NAME(type_invalid_pattern)
    TESSERA_FGA_NAME(relations_too_few_items)
    TESSERA_FGA_NAME(relations_too_long)
    TESSERA_FGA_NAME(relations_invalid_pattern)
    TESSERA_FGA_NAME(object_invalid_pattern)
    TESSERA_FGA_NAME(query_string_type_continuation_token_mismatch)
    TESSERA_FGA_NAME(exceeded_entity_limit)
    TESSERA_FGA_NAME(invalid_contextual_tuple)
    TESSERA_FGA_NAME(duplicate_contextual_tuple)
    TESSERA_FGA_NAME(invalid_authorization_model)
    TESSERA_FGA_NAME(unsupported_schema_version)
    TESSERA_FGA_NAME(cancelled)
    TESSERA_FGA_NAME(throttled_timeout_error)
    TESSERA_FGA_NAME(internal_error)
    TESSERA_FGA_NAME(deadline_exceeded)
    TESSERA_FGA_NAME(already_exists)
    TESSERA_FGA_NAME(resource_exhausted)
    TESSERA_FGA_NAME(failed_precondition)
    TESSERA_FGA_NAME(aborted)
    TESSERA_FGA_NAME(undefined_endpoint)
    TESSERA_FGA_NAME(store_id_not_found)
#undef TESSERA_FGA_NAME
  }
  return "internal_error";
}

int error_http_status(ErrorCode code) {
  const int n = static_cast<int>(code);
  if (code == ErrorCode::throttled_timeout_error) return 422;
  if (code == ErrorCode::already_exists || code == ErrorCode::aborted) return 409;
  if (code == ErrorCode::deadline_exceeded) return 504;
  if (code == ErrorCode::resource_exhausted) return 429;
  if (n >= 5000) return 404;
  if (n >= 4000) return 500;
  // Every 2000s code is a 400, model-not-found ones included: OpenFGA's encoded errors map the
  // validation range to InvalidArgument (pkg/server/errors NewEncodedError); only the 5000s
  // (store_id_not_found, undefined_endpoint) are 404.
  return 400;
}

}  // namespace tessera::fga
