// Compact JWS parsing shared by verify(), verify_jwt() and decode_unverified(),
// and the JSON error mapping the JOSE translation units share.
#pragma once

#include <string_view>

#include "jose/jose.h"

namespace tessera::jose::internal {

struct CompactParts {
  std::string_view header_b64;
  std::string_view payload_b64;
  std::string_view signature_b64;
  std::string_view signing_input;  // header_b64 '.' payload_b64 (RFC 7515 §5.1 step 5)
  Json header;
};

// Why JSON text that json::parse_strict refused is unusable: a duplicate member
// name is always kDuplicateMember (RFC 7515 §5.2, RFC 7517 §4); anything else is
// `malformed`, the caller's reason for "not the JSON it expected".
Status json_error_status(json::ParseError e, Status malformed);

// Size cap, three parts, strict base64url header, strict JSON object.
Result<CompactParts, Status> split_compact(std::string_view compact, size_t max_size);

// alg present, not none, known; no jwk/jku/x5u/x5c; crit understood; alg in
// the allow-list.
Result<Alg, Status> check_header(const Json& header, const VerifyOptions& opts);

}  // namespace tessera::jose::internal
