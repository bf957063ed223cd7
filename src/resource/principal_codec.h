// A compact, exact byte form of a Principal, for the claims cache's main tier: one million cached
// tokens must fit in a few hundred megabytes (issue 4), and a Principal as C++ objects (a dozen
// strings and the claims as a JSON tree) takes about 3 KB.
//
// Two parts:
// - `shared`: what many tokens of one client carry alike (issuer, client_id, scopes, audiences,
//   acr, amr). The cache keeps one copy per distinct value and counts references to it.
// - `own`: the rest (subject, jti, times, actors, confirmation, the signed introspection
//   response), and the claims and domain claims as MessagePack, without the claims that the typed
//   fields already say exactly (`iss`, `sub`, `aud`, `exp`, ...): those are rebuilt on decode.
// decode(encode(p)) == p for every Principal (tests/unit/resource/principal_codec_test.cpp).
#pragma once

#include <string>
#include <string_view>

#include "tessera/principal.h"

namespace tessera::resource::detail {

struct EncodedPrincipal {
  std::string shared;
  std::string own;
};

EncodedPrincipal encode_principal(const Principal& principal);

// The Principal `encode_principal` was given. Throws std::runtime_error on bytes it did not
// write (a truncated or corrupted buffer), never reads past either buffer.
Principal decode_principal(std::string_view shared, std::string_view own);

}  // namespace tessera::resource::detail
