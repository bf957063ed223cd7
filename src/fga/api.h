// The fga role's HTTP API: OpenFGA's (openfga/api openfga/v1/openfga_service.proto, HTTP
// bindings), so OpenFGA's SDKs and CLI drive Tessera unmodified. Bodies, status codes and error
// bodies (`{"code", "message"}`) are OpenFGA's; what Tessera adds is invisible to a client that
// does not ask for it:
// - ListObjects pages instead of silently truncating: the request may carry `page_size` and
//   `continuation_token`; the response carries `continuation_token` (empty on the last page).
// - Every Write answers `{"consistency_token": "..."}`; Read, Check, BatchCheck, ListObjects,
//   ListUsers and Expand accept `consistency_token` ("at least as fresh as that write").
//
// Authentication (OpenFGA's `Authorization: Bearer`): a preshared key (OpenFGA's
// --authn-method=preshared; stored as its SHA-256, compared in constant time) may do anything;
// an access token (of the in-process authorization server, or of one in another process
// validated by the resource-server SDK: src/app/fga_role.cpp) may do what its scopes say:
//   fga:read   read a store, its models and assertions, Read, ReadChanges, Check, BatchCheck,
//              ListObjects, StreamedListObjects, ListUsers, Expand
//   fga:write  fga:read and WriteAuthorizationModel, Write, WriteAssertions
//   fga:admin  everything, including CreateStore, ListStores and DeleteStore
// A request without a credential gets 401 `{"code":"bearer_token_missing"}`, one with a
// credential that is not accepted 401 `{"code":"unauthenticated"}`, both with a
// WWW-Authenticate challenge (RFC 6750 §3); a token without the scope gets 403
// `{"code":"forbidden"}`; a token that cannot be checked because its issuer cannot be reached
// 503 `{"code":"unavailable"}`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fga/engine.h"
#include "fga/tuple_cache.h"
#include "fga/tuple_index.h"
#include "http/router.h"
#include "store/fga_store.h"

namespace tessera::fga {

inline constexpr std::string_view kScopeRead = "fga:read";
inline constexpr std::string_view kScopeWrite = "fga:write";
inline constexpr std::string_view kScopeAdmin = "fga:admin";

// Check's `resolution` when the answer is "not allowed" and a cycle in the relationships cut
// some path (OpenFGA answers such a check false, as the conformance suite requires).
inline constexpr const char* kCycleResolution = "cycle detected";

// Request bodies: the HTTP server's own limit applies first; JSON nesting is capped here (a
// model nests two or three JSON levels per rewrite level).
inline constexpr int kMaxBodyJsonDepth = 128;
// Compiled models kept per process; the least recently used one goes when it is full.
inline constexpr size_t kDefaultEngineCacheEntries = 64;

// What an access token may do: its scopes when it is active, else why not.
struct TokenScopes {
  std::optional<std::vector<std::string>> scopes;  // set: the token is active
  bool unavailable = false;                        // its issuer could not be asked (503, not 401)
  std::string reason;  // when not active: one line for the client, never the token
};

struct ApiAuthOptions {
  // SHA-256 digests (32 raw bytes each) of the preshared keys.
  std::vector<std::string> preshared_key_sha256;
  // Checks an access token. Unset: access tokens are not accepted (only preshared keys).
  std::function<TokenScopes(std::string_view token)> token_scopes;
};

struct ApiOptions {
  EngineOptions engine;
  ApiAuthOptions auth;
  size_t engine_cache_entries = kDefaultEngineCacheEntries;
  // The tuple cache (src/fga/tuple_cache.h), exact by store revision; 0 turns it off.
  size_t tuple_cache_bytes = kDefaultTupleCacheBytes;
  // In-memory replicas of stores' tuples (src/fga/tuple_index.h): at most this many tuples
  // across all stores (about 110 bytes each); 0 turns them off.
  size_t tuple_index_max_tuples = kDefaultTupleIndexMaxTuples;
};

// OpenFGA's JSON for what the API and `tessera fga` both print: a timestamp
// (google.protobuf.Timestamp: RFC 3339, UTC) and a Store {"id", "name", "created_at",
// "updated_at"}.
std::string timestamp_to_json(int64_t unix_seconds);
nlohmann::json store_to_json(const store::FgaStoreRecord& store);

class Api {
 public:
  Api(store::FgaStore& store, ApiOptions options);
  ~Api();
  Api(const Api&) = delete;
  Api& operator=(const Api&) = delete;

  void add_routes(http::Router& router);

  // The engine of a store's model (the latest when `model_id` is empty), compiled once and
  // cached. Also what `tessera fga` and the demo use to validate tuples.
  Result<std::shared_ptr<const Engine>, Error> engine(std::string_view store_id,
                                                      std::string_view model_id);

  // The tuple cache's counters (all zero when it is off).
  TupleCache::Stats tuple_cache_stats() const;
  TupleIndex::Stats tuple_index_stats() const;
  // Until the replicas have caught up with every request seen so far (tests).
  void wait_for_tuple_index() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tessera::fga
