// The layer under the JWS framing: sign or verify bytes with a key and an
// algorithm (RFC 7518 §3). jws.cpp uses it for the signing input
// ASCII(BASE64URL(header) || '.' || BASE64URL(payload)); the Wycheproof tests
// drive it with arbitrary messages. Exposed for tests and fuzzing, not for
// general use: it assumes nothing about the input being a JWS.
#pragma once

#include <string>
#include <string_view>

#include "jose/jose.h"

namespace tessera::jose::internal {

// Checks key.allows(alg) first (kAlgKeyMismatch), then lengths and ranges,
// then the signature itself. Never throws.
Status verify_signature(const Jwk& key, Alg alg, std::string_view signing_input,
                        std::string_view sig);

// Returns the JWS signature bytes (ECDSA as R || S, RFC 7518 §3.4).
Result<std::string, Status> create_signature(const Jwk& key, Alg alg,
                                             std::string_view signing_input);

// ECDSA signature conversions (exposed for tests). P1363 is R || S, each
// left-padded to `half` bytes; DER is SEQUENCE { INTEGER r, INTEGER s }.
std::string p1363_to_der(std::string_view p1363);
bool der_to_p1363(const unsigned char* der, size_t len, size_t half, std::string& out);

}  // namespace tessera::jose::internal
