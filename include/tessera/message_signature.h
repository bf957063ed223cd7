// HTTP Message Signatures (RFC 9421) with hmac-sha256 (§3.3.3): how Tessera's gateway proves to
// the API behind it what it asserts on the hop (the X-Forwarded-* fields naming the URL the client
// called, the claim headers, the token it passes on), so that the API trusts those fields from
// the gateway and from no one else.
//
// What is covered: the derived components @method, @authority, @path and @query (§2.2) and any
// fields, named in lowercase (§2.1). Component parameters (;sf, ;key, ;bs, ;req, ;tr) are not
// supported: a signature that uses them does not verify.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tessera::resource {

// The label and tag of the signature Tessera's gateway puts on its upstream requests (RFC 9421
// §4.1, §2.3). It covers @method, @authority, @path, @query and, when the request carries them,
// authorization, dpop, x-forwarded-for, -proto, -host, -uri, x-request-id and the route's claim
// headers.
inline constexpr std::string_view kGatewaySignatureLabel = "tessera";
inline constexpr std::string_view kGatewaySignatureTag = "tessera-gateway";

// A shared secret for hmac-sha256 (RFC 9421 §3.3.3), named by `keyid` (§2.3). RFC 9421 §7.3.3
// (and RFC 2104 §3) want it random and at least as long as the hash output: 32 bytes or more.
struct HmacKey {
  std::string id;
  std::string secret;
};
inline constexpr size_t kMinHmacKeyBytes = 32;

// What RFC 9421 §2 derives a request's components from. Views: the caller's storage outlives it.
struct SignedMessage {
  std::string_view method;     // @method
  std::string_view scheme;     // "http" or "https": the default port dropped from @authority
  std::string_view authority;  // the Host field as sent (host[:port])
  std::string_view target;     // the origin-form request-target: @path and @query
  std::vector<std::pair<std::string_view, std::string_view>> fields;  // every field line, in order
};

// RFC 9421 §2.5: the signature base for `covered` (component identifiers without their quotes:
// "@method", "content-type") and `signature_params` (the serialised @signature-params value).
// nullopt when a component is absent, given twice or unknown, or its value holds a line break or
// a byte outside ASCII (§2.5).
std::optional<std::string> signature_base(const SignedMessage& message,
                                          const std::vector<std::string>& covered,
                                          std::string_view signature_params);

// §2.3: ("@method" "x-forwarded-uri");created=...;keyid="...";alg="hmac-sha256"[;tag="..."].
// `covered` must hold lowercase field names or derived component names. nullopt when a name,
// the keyid or the tag cannot be an RFC 8941 String (printable ASCII).
std::optional<std::string> signature_params(const std::vector<std::string>& covered,
                                            int64_t created, std::string_view keyid,
                                            std::string_view tag);

// The Signature-Input and Signature field values (§4.1, §4.2) for one signature labelled `label`.
struct SignatureFields {
  std::string signature_input;
  std::string signature;
};

// §3.1: signs `covered` of `message` with `key`, created at `created` (Unix seconds).
// nullopt when a covered component is absent.
std::optional<SignatureFields> sign_hmac_sha256(const SignedMessage& message,
                                                const std::vector<std::string>& covered,
                                                const HmacKey& key, int64_t created,
                                                std::string_view label, std::string_view tag);

// What a verifier demands of a signature besides its MAC.
struct SignaturePolicy {
  std::string label;                  // the signature to check, by its label in both fields
  std::string tag;                    // §2.3 tag it must carry; empty: any or none
  std::vector<std::string> required;  // components it must cover (lowercase)
  std::vector<HmacKey> keys;          // by keyid
  int64_t max_age_seconds = 60;       // created no older than this (§7.2.4 replay window)
  int64_t leeway_seconds = 5;         // nor further than this in the future (clock skew)
};

struct SignatureCheck {
  bool valid = false;
  std::string error;                 // why not: for logs, never a secret
  std::vector<std::string> covered;  // what the signature covers, when valid
};

// §3.2: verifies the signature `policy.label` of `message` (the Signature-Input and Signature
// field values, each field's lines combined with ", "): the member in each field, alg (absent or
// hmac-sha256), keyid one of policy.keys, created in the window, expires (when given) not
// passed, tag, the required components covered, and the MAC compared in constant time.
SignatureCheck verify_hmac_sha256(const SignedMessage& message, std::string_view signature_input,
                                  std::string_view signature, const SignaturePolicy& policy,
                                  int64_t now);

}  // namespace tessera::resource
