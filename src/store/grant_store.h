// Grants, the tokens issued under them and authorization codes. A grant is one authorization a
// user (or a client acting for itself) gave: the authorization code that starts it, the
// refresh-token family that continues it, and the opaque access tokens issued from both. It is
// the unit that reuse detection (RFC 9700 §4.14.2), code replay (RFC 6749 §4.1.2) and logout
// revoke. Tokens and codes are found by SHA-256; the values themselves are never stored.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "store/database.h"

namespace tessera::store {

struct GrantRecord {
  std::string id;  // random, opaque
  std::string client_id;
  std::string subject;             // the user id, or the client_id when no user is involved
  std::optional<std::string> sid;  // the browser session that authorized it
  std::vector<std::string> scopes;
  std::vector<std::string> audiences;
  int64_t auth_time = 0;
  std::string acr;
  std::vector<std::string> amr;
  std::string claims_json = "{}";  // a JSON object: anything else tokens of the grant carry
  int64_t created_at = 0;
  int64_t expires_at = 0;  // the family's absolute end: no token of the grant outlives it
  std::optional<int64_t> revoked_at;
};

enum class TokenKind { kAccess, kRefresh };
std::string_view to_string(TokenKind kind);

struct TokenRecord {
  std::string token_sha256;  // raw 32 bytes
  TokenKind kind = TokenKind::kAccess;
  std::optional<std::string> grant_id;  // nullopt: not under a grant (client credentials)
  std::string client_id;
  std::string subject;
  std::vector<std::string> scopes;
  std::vector<std::string> audiences;
  std::string claims_json = "{}";  // a JSON object: what introspection adds (auth_time, act, ...)
  int64_t issued_at = 0;
  int64_t expires_at = 0;
  std::optional<int64_t> used_at;  // refresh tokens: when it was rotated
  std::optional<int64_t> revoked_at;
};

struct CodeRecord {
  std::string code_sha256;  // raw 32 bytes
  std::string grant_id;
  std::string client_id;
  std::string redirect_uri;
  std::string code_challenge;  // RFC 7636 §4.2 S256 value
  std::optional<std::string> nonce;
  int64_t expires_at = 0;
  std::optional<int64_t> used_at;
  // RFC 9449 §10: the DPoP key (JWK SHA-256 thumbprint) the token request must prove.
  std::optional<std::string> dpop_jkt;
};

// RFC 9126 §2: an authorization request pushed by a client, until /authorize uses it.
struct PushedRequest {
  std::string request_uri_sha256;  // raw 32 bytes
  std::string client_id;
  std::string params_json;  // a JSON array of [name, value] pairs, in the order pushed
  int64_t expires_at = 0;
};

// RFC 8628 §3.2: a device authorization request, from the client's request until the token
// endpoint hands out its tokens (or it expires).
enum class DeviceStatus { kPending, kApproved, kDenied, kRedeemed };
std::string_view to_string(DeviceStatus status);
std::optional<DeviceStatus> parse_device_status(std::string_view text);

struct DeviceAuthorization {
  std::string device_code_sha256;  // raw 32 bytes
  std::string user_code;           // as the user types it, normalised (unique among live ones)
  std::string client_id;
  std::string params_json;  // the request as a JSON object (scope, resource, ...)
  DeviceStatus status = DeviceStatus::kPending;
  std::optional<std::string> grant_id;  // set when approved
  int64_t interval = 5;                 // §3.2: seconds between polls; §3.5 slow_down adds 5
  int64_t last_polled_at = 0;
  int64_t expires_at = 0;
};

class GrantStore {
 public:
  virtual ~GrantStore() = default;

  // Stores a grant and, when given, its authorization code, in one transaction.
  // kInvalidArgument for a malformed record (empty ids, hashes not 32 bytes, claims_json not a
  // JSON object, the code's grant_id not the grant's id), kConflict for a duplicate id or hash.
  virtual StoreResult<Ok> create_grant(const GrantRecord& grant,
                                       const std::optional<CodeRecord>& code) = 0;
  virtual StoreResult<std::optional<GrantRecord>> find_grant(std::string_view id) = 0;

  // RFC 6749 §4.1.2: a code is used once. redeem_code marks it used (compare-and-set, so of
  // concurrent redemptions exactly one gets kRedeemed) and returns it with its grant.
  //   kRedeemed  unused, unexpired, grant not revoked: now used.
  //   kUnknown   no such code.
  //   kExpired   past expires_at (not marked used).
  //   kReplayed  used before: the grant and every token issued under it are revoked in the same
  //              transaction ("SHOULD revoke ... all tokens previously issued based on that
  //              authorization code").
  //   kRevoked   the grant was revoked (by logout, reuse detection, ...).
  // code and grant are set for every outcome but kUnknown.
  enum class CodeOutcome { kRedeemed, kUnknown, kExpired, kReplayed, kRevoked };
  struct Redemption {
    CodeOutcome outcome = CodeOutcome::kUnknown;
    std::optional<CodeRecord> code;
    std::optional<GrantRecord> grant;
  };
  virtual StoreResult<Redemption> redeem_code(std::string_view code_sha256) = 0;

  // Stores tokens (opaque access tokens, refresh tokens) in one transaction. Each token's
  // grant, when it names one, must exist and not be revoked (kNotFound / kConflict otherwise).
  virtual StoreResult<Ok> insert_tokens(std::span<const TokenRecord> tokens) = 0;
  // The token as stored, whatever its state (expired, used or revoked ones too: introspection
  // and reuse detection need to tell them apart). nullopt when unknown.
  virtual StoreResult<std::optional<TokenRecord>> find_token(std::string_view token_sha256) = 0;

  // Refresh token rotation (RFC 9700 §4.14.2). Atomically: marks the refresh token used when
  // it is unused, unexpired and unrevoked, and stores `replacements` (the new refresh token and
  // any opaque access token). Of concurrent rotations of one token exactly one gets kRotated.
  //   kRotated   done.
  //   kUnknown   no such refresh token (access tokens count as unknown).
  //   kExpired   past its expires_at or its grant's.
  //   kRevoked   revoked before (nothing changes).
  //   kReused    used before: the grant and every token under it are revoked, in the same
  //              transaction, and nothing is stored.
  // token and grant are set for every outcome but kUnknown (grant: when the token has one).
  enum class RotateOutcome { kRotated, kUnknown, kExpired, kRevoked, kReused };
  struct Rotation {
    RotateOutcome outcome = RotateOutcome::kUnknown;
    std::optional<TokenRecord> token;
    std::optional<GrantRecord> grant;
  };
  virtual StoreResult<Rotation> rotate_refresh_token(std::string_view token_sha256,
                                                     std::span<const TokenRecord> replacements) = 0;

  // RFC 7009 §2.1: revokes one token; a refresh token also revokes its grant and every token
  // under it ("SHOULD also invalidate all access tokens based on the same authorization
  // grant"). Returns the number of tokens revoked (0: unknown or already revoked).
  virtual StoreResult<int64_t> revoke_token(std::string_view token_sha256) = 0;
  // Revokes a grant and every token and unused code under it. Returns tokens revoked.
  virtual StoreResult<int64_t> revoke_grant(std::string_view grant_id) = 0;
  // Logout: revokes every grant authorized in browser session `sid`. Returns grants revoked.
  virtual StoreResult<int64_t> revoke_grants_for_session(std::string_view sid) = 0;
  // The clients with an unrevoked grant authorized in browser session `sid`, each once: those
  // a logout tells (OpenID Connect Back-Channel Logout 1.0 §2.5).
  virtual StoreResult<std::vector<std::string>> clients_of_session(std::string_view sid) = 0;
  // A deregistered client (RFC 7592 §2.3): revokes every grant of `client_id`, with their
  // tokens and unused codes. Returns grants revoked.
  virtual StoreResult<int64_t> revoke_grants_for_client(std::string_view client_id) = 0;
  // Grants of a subject still in force (unrevoked, unexpired), newest first.
  virtual StoreResult<std::vector<GrantRecord>> list_grants_for_subject(
      std::string_view subject) = 0;

  // RFC 9126: stores a pushed request. kInvalidArgument for a malformed record, kConflict for a
  // duplicate hash.
  virtual StoreResult<Ok> push_request(const PushedRequest& request) = 0;
  // RFC 9126 §4, §7.3: the pushed request of `client_id` with this hash, if unexpired, deleted
  // in the same statement so that it is used once (of concurrent uses exactly one gets it).
  // nullopt when unknown, expired, used, or pushed by another client (which spends nothing).
  virtual StoreResult<std::optional<PushedRequest>> take_pushed_request(
      std::string_view request_uri_sha256, std::string_view client_id) = 0;

  // RFC 8628 §3.1: stores a device authorization. kConflict when the user code (among live
  // ones) or the device code is taken, so the caller draws another.
  virtual StoreResult<Ok> create_device_authorization(const DeviceAuthorization& device) = 0;
  // The live (unexpired) device authorization with `user_code`, whatever its status.
  virtual StoreResult<std::optional<DeviceAuthorization>> find_device_by_user_code(
      std::string_view user_code) = 0;
  // §3.3: the user's decision on the pending authorization of `client_id` with this device code
  // hash, in one transaction: approval stores `grant` (nullopt: denial) and ties it to the
  // authorization. False when the authorization is no longer pending, has expired, or is not
  // that client's (nothing is stored then).
  virtual StoreResult<bool> decide_device(std::string_view device_code_sha256,
                                          std::string_view client_id,
                                          const std::optional<GrantRecord>& grant) = 0;
  // §3.4, §3.5: a poll of `client_id` with the device code's hash, in one transaction. Pending:
  // kSlowDown when it comes sooner than the interval after the last poll (the interval then
  // grows by 5 seconds), else kPending; approved: kApproved (until redeem_device spends it);
  // kRedeemed after. Unknown includes another client's.
  enum class PollOutcome { kUnknown, kExpired, kPending, kSlowDown, kDenied, kApproved, kRedeemed };
  struct Poll {
    PollOutcome outcome = PollOutcome::kUnknown;
    std::optional<DeviceAuthorization> device;  // as read, for every outcome but kUnknown
  };
  virtual StoreResult<Poll> poll_device(std::string_view device_code_sha256,
                                        std::string_view client_id) = 0;
  // Spends an approved authorization of `client_id` (compare-and-set: of concurrent polls that
  // saw kApproved, exactly one gets true). Called once the tokens are minted, so a request that
  // fails before that leaves the approval for the next poll.
  virtual StoreResult<bool> redeem_device(std::string_view device_code_sha256,
                                          std::string_view client_id) = 0;

  // Deletes codes, tokens and grants past their expiry (a revoked grant stays until it expires,
  // so reuse is still recognised). Returns rows deleted.
  virtual StoreResult<int64_t> purge_expired() = 0;
};

}  // namespace tessera::store
