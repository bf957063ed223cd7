#include "fga/api.h"

#include <list>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>

#include "core/crypto.h"
#include "core/json.h"
#include "fga/cel_value.h"
#include "fga/dsl.h"
#include "http/bearer.h"
#include "store/ulid.h"

namespace tessera::fga {
namespace {

using nlohmann::json;
using store::FgaStore;

// What a route needs the caller to hold (see api.h).
enum class Need { kRead, kWrite, kAdmin };

Unexpected<Error> invalid(std::string message) {
  return Err(make_error(ErrorCode::validation_error, std::move(message)));
}

// Every answer of the API is JSON that no cache may keep.
http::Response no_store_json(int status, const json& body) {
  http::Response r = http::Response::json(status, body);
  r.headers.set("Cache-Control", "no-store");
  return r;
}

http::Response error_response(const Error& error) {
  return no_store_json(error_http_status(error.code),
                       {{"code", error_name(error.code)}, {"message", error.message}});
}

// OpenFGA's authentication errors (openfga/openfga pkg/authn): 401 bearer_token_missing when
// no credential came, 401 unauthenticated for one that is not accepted, 403 forbidden. RFC 6750
// §3: a 401 names the scheme in WWW-Authenticate, with an error code only when a credential was
// sent (§3.1: "SHOULD NOT include an error code" for a request without one).
// `scope`: for 403, the scope that would do (RFC 6750 §3.1 insufficient_scope).
http::Response auth_error(int status, std::string_view code, std::string_view message,
                          std::string_view scope = {}) {
  http::Response r = no_store_json(status, {{"code", code}, {"message", message}});
  if (status == 401) {
    bool missing = code == "bearer_token_missing";
    r.headers.set("WWW-Authenticate",
                  missing
                      ? http::bearer_challenge("fga", std::nullopt, std::nullopt, std::nullopt)
                      : http::bearer_challenge("fga", http::kInvalidToken, message, std::nullopt));
  } else if (status == 403) {
    r.headers.set("WWW-Authenticate",
                  http::bearer_challenge("fga", http::kInsufficientScope, message, scope));
  } else if (status == 503) {
    r.headers.set("Retry-After", "5");  // RFC 9110 §10.2.3: the issuer may be back soon
  }
  return r;
}

// --- Reading request bodies ------------------------------------------------------------------

// Members are optional unless said otherwise; JSON null reads as absent (grpc-gateway does so).
const json* member(const json& object, std::string_view name) {
  auto it = object.find(name);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

Result<std::string, Error> string_member(const json& object, std::string_view name) {
  const json* value = member(object, name);
  if (value == nullptr) return std::string();
  if (!value->is_string()) return invalid(std::string(name) + " must be a string");
  return value->get<std::string>();
}

Result<const json*, Error> object_member(const json& object, std::string_view name) {
  const json* value = member(object, name);
  if (value != nullptr && !value->is_object()) {
    return invalid(std::string(name) + " must be an object");
  }
  return value;
}

Result<const json*, Error> array_member(const json& object, std::string_view name) {
  const json* value = member(object, name);
  if (value != nullptr && !value->is_array()) {
    return invalid(std::string(name) + " must be an array");
  }
  return value;
}

Result<json, Error> parse_body(const http::Request& request) {
  if (request.body().empty()) return json::object();
  auto parsed =
      tessera::json::parse_strict(request.body(), {request.body().size(), kMaxBodyJsonDepth});
  if (!parsed) {
    return invalid(std::string("invalid JSON body: ") + tessera::json::to_string(parsed.error()));
  }
  if (!parsed->is_object()) return invalid("the body must be a JSON object");
  return std::move(*parsed);
}

// OpenFGA's TupleKey: {"object", "relation", "user", "condition": {"name", "context"}}.
Result<TupleKey, Error> tuple_from_json(const json& value, bool allow_condition = true) {
  if (!value.is_object()) return invalid("a tuple key must be an object");
  TupleKey key;
  for (auto [field, out] : {std::pair{"object", &key.object}, std::pair{"relation", &key.relation},
                            std::pair{"user", &key.user}}) {
    auto text = string_member(value, field);
    if (!text) return Err(text.error());
    *out = std::move(*text);
  }
  auto condition = object_member(value, "condition");
  if (!condition) return Err(condition.error());
  if (*condition != nullptr) {
    if (!allow_condition) return invalid("this tuple key takes no condition");
    auto name = string_member(**condition, "name");
    if (!name) return Err(name.error());
    if (name->empty()) return invalid("condition.name is required");
    key.condition = std::move(*name);
    auto context = object_member(**condition, "context");
    if (!context) return Err(context.error());
    if (*context != nullptr) key.context = **context;
  }
  return key;
}

json tuple_to_json(const TupleKey& key) {
  json out = {{"object", key.object}, {"relation", key.relation}, {"user", key.user}};
  if (!key.condition.empty()) {
    out["condition"] = {{"name", key.condition},
                        {"context", key.context.is_object() ? key.context : json::object()}};
  }
  return out;
}

Result<std::vector<TupleKey>, Error> tuples_from_array(const json* array, bool allow_condition) {
  std::vector<TupleKey> out;
  if (array == nullptr) return out;
  out.reserve(array->size());
  for (const json& item : *array) {
    auto key = tuple_from_json(item, allow_condition);
    if (!key) return Err(key.error());
    out.push_back(std::move(*key));
  }
  return out;
}

// `{"tuple_keys": [...]}` (OpenFGA's ContextualTupleKeys and the write/delete lists).
Result<std::vector<TupleKey>, Error> tuple_list(const json& body, std::string_view name,
                                                bool allow_condition = true) {
  auto wrapper = object_member(body, name);
  if (!wrapper) return Err(wrapper.error());
  if (*wrapper == nullptr) return std::vector<TupleKey>();
  auto keys = array_member(**wrapper, "tuple_keys");
  if (!keys) return Err(keys.error());
  return tuples_from_array(*keys, allow_condition);
}

Result<json, Error> context_member(const json& body) {
  auto context = object_member(body, "context");
  if (!context) return Err(context.error());
  return *context == nullptr ? json() : **context;
}

// What every query (and an assertion) carries besides its own fields: contextual tuples
// (`{"tuple_keys": [...]}`, or a plain list in ListUsers and assertions) and the condition
// context.
template <class Request>
Result<Ok, Error> read_context(const json& body, Request& request, bool plain_list = false) {
  Result<std::vector<TupleKey>, Error> contextual = std::vector<TupleKey>();
  if (plain_list) {
    auto list = array_member(body, "contextual_tuples");
    if (!list) return Err(list.error());
    contextual = tuples_from_array(*list, true);
  } else {
    contextual = tuple_list(body, "contextual_tuples");
  }
  if (!contextual) return Err(contextual.error());
  request.contextual_tuples = std::move(*contextual);
  auto context = context_member(body);
  if (!context) return Err(context.error());
  request.context = std::move(*context);
  return Ok{};
}

// openfga/api ConsistencyPreference. Tessera reads from the database's latest committed state
// (see store/fga_store.h), which is HIGHER_CONSISTENCY whatever is asked.
Result<Ok, Error> check_consistency_preference(const json& body) {
  auto value = string_member(body, "consistency");
  if (!value) return Err(value.error());
  if (!value->empty() && *value != "UNSPECIFIED" && *value != "MINIMIZE_LATENCY" &&
      *value != "HIGHER_CONSISTENCY") {
    return invalid("consistency must be UNSPECIFIED, MINIMIZE_LATENCY or HIGHER_CONSISTENCY");
  }
  return Ok{};
}

// A page size from a body member or a query parameter; 0 when absent.
Result<int, Error> page_size_member(const json& body) {
  const json* value = member(body, "page_size");
  if (value == nullptr) return 0;
  if (!value->is_number_integer()) return invalid("page_size must be an integer");
  auto n = value->get<int64_t>();
  if (n < 1 || n > 1'000'000) {
    return Err(make_error(ErrorCode::page_size_invalid, "page_size is out of range"));
  }
  return static_cast<int>(n);
}

Result<int, Error> page_size_query(const http::Request& request) {
  auto text = request.query().get("page_size");
  if (!text || text->empty()) return 0;
  int64_t n = 0;
  for (char c : *text) {
    if (c < '0' || c > '9' || n > 1'000'000) {
      return Err(make_error(ErrorCode::page_size_invalid, "page_size is out of range"));
    }
    n = n * 10 + (c - '0');
  }
  if (n < 1 || n > 1'000'000) {
    return Err(make_error(ErrorCode::page_size_invalid, "page_size is out of range"));
  }
  return static_cast<int>(n);
}

std::string query_string(const http::Request& request, std::string_view name) {
  auto value = request.query().get(name);
  return value ? std::string(*value) : std::string();
}

json model_json(const Model& model) {
  json out = to_json(model);
  out["id"] = model.id;
  return out;
}

// OpenFGA's Assertion: {"tuple_key": {object, relation, user}, "expectation",
// "contextual_tuples": [...], "context"}.
Result<store::FgaAssertion, Error> assertion_from_json(const json& value) {
  if (!value.is_object()) return invalid("an assertion must be an object");
  store::FgaAssertion out;
  auto key = object_member(value, "tuple_key");
  if (!key) return Err(key.error());
  if (*key == nullptr) return invalid("assertion.tuple_key is required");
  auto parsed = tuple_from_json(**key, /*allow_condition=*/false);
  if (!parsed) return Err(parsed.error());
  out.key = std::move(*parsed);
  const json* expectation = member(value, "expectation");
  if (expectation != nullptr && !expectation->is_boolean()) {
    return invalid("assertion.expectation must be a boolean");
  }
  out.expectation = expectation != nullptr && expectation->get<bool>();
  if (auto read = read_context(value, out, /*plain_list=*/true); !read) return Err(read.error());
  return out;
}

json assertion_to_json(const store::FgaAssertion& a) {
  json contextual = json::array();
  for (const TupleKey& key : a.contextual_tuples) contextual.push_back(tuple_to_json(key));
  return {
      {"tuple_key", {{"object", a.key.object}, {"relation", a.key.relation}, {"user", a.key.user}}},
      {"expectation", a.expectation},
      {"contextual_tuples", std::move(contextual)},
      {"context", a.context.is_object() ? a.context : json::object()}};
}

// openfga/api: an authorization_model_id is a ULID when given.
Result<std::string, Error> model_id_member(const json& body) {
  auto id = string_member(body, "authorization_model_id");
  if (!id) return Err(id.error());
  if (!id->empty() && !store::is_ulid(*id)) {
    return invalid("authorization_model_id is not a ULID");
  }
  return std::move(*id);
}

}  // namespace

// --- The API -----------------------------------------------------------------------------------

class Api::Impl {
 public:
  Impl(FgaStore& store, ApiOptions options) : store_(store), options_(std::move(options)) {
    if (options_.tuple_cache_bytes > 0) {
      tuples_ = std::make_unique<TupleCache>(options_.tuple_cache_bytes);
    }
    if (options_.tuple_index_max_tuples > 0) {
      index_ = std::make_unique<TupleIndex>(
          options_.tuple_index_max_tuples,
          [this](const std::string& store_id) { return store_.reader_of_live_store(store_id); });
    }
  }

  TupleCache::Stats tuple_cache_stats() const {
    return tuples_ ? tuples_->stats() : TupleCache::Stats{};
  }
  TupleIndex::Stats tuple_index_stats() const {
    return index_ ? index_->stats() : TupleIndex::Stats{};
  }
  void wait_for_tuple_index() const {
    if (index_) index_->wait_idle();
  }

  void add_routes(http::Router& router);

  Result<std::shared_ptr<const Engine>, Error> engine(std::string_view store_id,
                                                      std::string_view model_id);

 private:
  // What a query request evaluates with: the model's engine and a reader of the store.
  struct Prepared {
    std::shared_ptr<const Engine> engine;
    std::unique_ptr<TupleReader> store;   // the store's snapshot
    std::unique_ptr<TupleReader> cached;  // the replica or the tuple cache over it, when on
    TupleReader& reader() const { return cached ? *cached : *store; }
  };
  // Reads from the store's replica when it holds the revision the store's reader sees, else
  // puts the tuple cache in front of the store's reader (keyed by that revision).
  Result<Ok, Error> add_cache(std::string_view store_id, Prepared& prepared);

  using Body = std::function<Result<http::Response, Error>(const http::Request&, const json&)>;
  using Plain = std::function<Result<http::Response, Error>(const http::Request&)>;

  // A POST on /stores/{store_id}/...: the handler gets the store id and the parsed body.
  using StoreMethod = Result<http::Response, Error> (Impl::*)(std::string_view, const json&);
  http::Handler on_store(Need need, StoreMethod method);
  http::Handler with_body(Need need, Body handler);
  http::Handler without_body(Need need, Plain handler);
  std::optional<http::Response> authenticate(const http::Request& request, Need need) const;

  Result<Prepared, Error> prepare(std::string_view store_id, const json& body);
  std::shared_ptr<const Engine> cached(const std::string& key);
  Result<std::shared_ptr<const Engine>, Error> compile(const std::string& key, Model model);
  // `store_id` and `model_id` as a cache key.
  static std::string cache_key(std::string_view store_id, std::string_view model_id) {
    std::string key(store_id);
    key += '/';
    key += model_id;
    return key;
  }

  // Handlers (openfga/api openfga_service.proto, in its order).
  Result<http::Response, Error> create_store(const json& body);
  Result<http::Response, Error> list_stores(const http::Request& request);
  Result<http::Response, Error> get_store(const http::Request& request);
  Result<http::Response, Error> delete_store(const http::Request& request);
  Result<http::Response, Error> read_model(const http::Request& request);
  Result<http::Response, Error> write_model(std::string_view store_id, const json& body);
  Result<http::Response, Error> list_models(const http::Request& request);
  Result<http::Response, Error> write(std::string_view store_id, const json& body);
  Result<http::Response, Error> read(std::string_view store_id, const json& body);
  Result<http::Response, Error> check(std::string_view store_id, const json& body);
  Result<http::Response, Error> batch_check(std::string_view store_id, const json& body);
  Result<http::Response, Error> list_objects(std::string_view store_id, const json& body) {
    return list_objects(store_id, body, false);
  }
  Result<http::Response, Error> streamed_list_objects(std::string_view store_id, const json& body) {
    return list_objects(store_id, body, true);
  }
  Result<http::Response, Error> list_objects(std::string_view store_id, const json& body,
                                             bool streamed);
  Result<http::Response, Error> list_users(std::string_view store_id, const json& body);
  Result<http::Response, Error> expand(std::string_view store_id, const json& body);
  Result<http::Response, Error> changes(const http::Request& request);
  Result<http::Response, Error> write_assertions(const http::Request& request, const json& body);
  Result<http::Response, Error> read_assertions(const http::Request& request);

  FgaStore& store_;
  ApiOptions options_;
  std::unique_ptr<TupleCache> tuples_;
  std::mutex cache_mutex_;
  // Least recently used first.
  std::list<std::pair<std::string, std::shared_ptr<const Engine>>> lru_;
  std::unordered_map<std::string, decltype(lru_)::iterator> engines_;
  std::unique_ptr<TupleIndex> index_;  // last: its worker reads store_ until it is joined
};

std::optional<http::Response> Api::Impl::authenticate(const http::Request& request,
                                                      Need need) const {
  auto token = http::extract_bearer_token(request);
  if (!token) return auth_error(401, "unauthenticated", token.error());
  if (!*token) return auth_error(401, "bearer_token_missing", "missing bearer token");
  const std::string& value = (*token)->value;
  std::string digest = crypto::sha256(value);
  bool preshared = false;
  // Every key is compared, so the time taken says nothing about which one matched.
  for (const std::string& key : options_.auth.preshared_key_sha256) {
    preshared = crypto::equal_ct(digest, key) || preshared;
  }
  if (preshared) return std::nullopt;
  if (!options_.auth.token_scopes) return auth_error(401, "unauthenticated", "unknown key");
  TokenScopes checked = options_.auth.token_scopes(value);
  if (checked.unavailable) return auth_error(503, "unavailable", checked.reason);
  if (!checked.scopes) {
    return auth_error(401, "unauthenticated",
                      checked.reason.empty() ? "the access token is not active" : checked.reason);
  }
  const std::vector<std::string>* scopes = &*checked.scopes;
  bool read = false;
  bool write = false;
  bool admin = false;
  for (const std::string& scope : *scopes) {
    admin = admin || scope == kScopeAdmin;
    write = write || scope == kScopeWrite;
    read = read || scope == kScopeRead;
  }
  bool allowed =
      admin || (need == Need::kWrite && write) || (need == Need::kRead && (read || write));
  if (allowed) return std::nullopt;
  std::string_view wanted = need == Need::kAdmin   ? kScopeAdmin
                            : need == Need::kWrite ? kScopeWrite
                                                   : kScopeRead;
  return auth_error(403, "forbidden", "the access token lacks the scope " + std::string(wanted),
                    wanted);
}

http::Handler Api::Impl::with_body(Need need, Body handler) {
  return [this, need, handler = std::move(handler)](const http::Request& request) {
    if (auto denied = authenticate(request, need)) return std::move(*denied);
    auto body = parse_body(request);
    if (!body) return error_response(body.error());
    auto response = handler(request, *body);
    if (!response) return error_response(response.error());
    return std::move(*response);
  };
}

http::Handler Api::Impl::without_body(Need need, Plain handler) {
  return [this, need, handler = std::move(handler)](const http::Request& request) {
    if (auto denied = authenticate(request, need)) return std::move(*denied);
    if (request.query_error()) {
      return error_response(make_error(ErrorCode::validation_error, "malformed query string"));
    }
    auto response = handler(request);
    if (!response) return error_response(response.error());
    return std::move(*response);
  };
}

void Api::Impl::add_routes(http::Router& router) {
  router.post("/stores", with_body(Need::kAdmin, [this](const http::Request&, const json& b) {
                return create_store(b);
              }));
  router.get("/stores",
             without_body(Need::kAdmin, [this](const http::Request& r) { return list_stores(r); }));
  router.get("/stores/{store_id}",
             without_body(Need::kRead, [this](const http::Request& r) { return get_store(r); }));
  router.del("/stores/{store_id}", without_body(Need::kAdmin, [this](const http::Request& r) {
               return delete_store(r);
             }));
  router.post("/stores/{store_id}/authorization-models",
              on_store(Need::kWrite, &Impl::write_model));
  router.get("/stores/{store_id}/authorization-models",
             without_body(Need::kRead, [this](const http::Request& r) { return list_models(r); }));
  router.get("/stores/{store_id}/authorization-models/{model_id}",
             without_body(Need::kRead, [this](const http::Request& r) { return read_model(r); }));
  router.post("/stores/{store_id}/write", on_store(Need::kWrite, &Impl::write));
  router.post("/stores/{store_id}/read", on_store(Need::kRead, &Impl::read));
  router.post("/stores/{store_id}/check", on_store(Need::kRead, &Impl::check));
  router.post("/stores/{store_id}/batch-check", on_store(Need::kRead, &Impl::batch_check));
  router.post("/stores/{store_id}/list-objects", on_store(Need::kRead, &Impl::list_objects));
  router.post("/stores/{store_id}/streamed-list-objects",
              on_store(Need::kRead, &Impl::streamed_list_objects));
  router.post("/stores/{store_id}/list-users", on_store(Need::kRead, &Impl::list_users));
  router.post("/stores/{store_id}/expand", on_store(Need::kRead, &Impl::expand));
  router.get("/stores/{store_id}/changes",
             without_body(Need::kRead, [this](const http::Request& r) { return changes(r); }));
  router.put("/stores/{store_id}/assertions/{model_id}",
             with_body(Need::kWrite, [this](const http::Request& r, const json& b) {
               return write_assertions(r, b);
             }));
  router.get(
      "/stores/{store_id}/assertions/{model_id}",
      without_body(Need::kRead, [this](const http::Request& r) { return read_assertions(r); }));
}

http::Handler Api::Impl::on_store(Need need, StoreMethod method) {
  return with_body(need, [this, method](const http::Request& r, const json& body) {
    return (this->*method)(r.param("store_id").value_or(""), body);
  });
}

Result<http::Response, Error> Api::Impl::get_store(const http::Request& request) {
  auto found = store_.get_store(request.param("store_id").value_or(""));
  if (!found) return Err(found.error());
  return no_store_json(200, store_to_json(*found));
}

Result<http::Response, Error> Api::Impl::delete_store(const http::Request& request) {
  const std::string store_id(request.param("store_id").value_or(""));
  auto deleted = store_.delete_store(store_id);
  if (!deleted) return Err(deleted.error());
  if (index_) index_->forget(store_id);
  return http::Response(204);
}

Result<http::Response, Error> Api::Impl::read_model(const http::Request& request) {
  auto model = store_.read_model(request.param("store_id").value_or(""),
                                 request.param("model_id").value_or(""));
  if (!model) return Err(model.error());
  return no_store_json(200, {{"authorization_model", model_json(*model)}});
}

// --- Engines -------------------------------------------------------------------------------------

std::shared_ptr<const Engine> Api::Impl::cached(const std::string& key) {
  std::lock_guard lock(cache_mutex_);
  auto it = engines_.find(key);
  if (it == engines_.end()) return nullptr;
  lru_.splice(lru_.end(), lru_, it->second);
  return it->second->second;
}

Result<std::shared_ptr<const Engine>, Error> Api::Impl::compile(const std::string& key,
                                                                Model model) {
  auto engine = Engine::create(std::move(model), options_.engine);
  if (!engine) return Err(engine.error());
  auto shared = std::make_shared<const Engine>(std::move(*engine));
  std::lock_guard lock(cache_mutex_);
  if (auto it = engines_.find(key); it != engines_.end()) return it->second->second;
  if (engines_.size() >= options_.engine_cache_entries && !lru_.empty()) {
    engines_.erase(lru_.front().first);
    lru_.pop_front();
  }
  lru_.emplace_back(key, shared);
  engines_.emplace(key, std::prev(lru_.end()));
  return shared;
}

Result<std::shared_ptr<const Engine>, Error> Api::Impl::engine(std::string_view store_id,
                                                               std::string_view model_id) {
  std::string id(model_id);
  if (id.empty()) {
    auto latest = store_.latest_model_id(store_id);
    if (!latest) return Err(latest.error());
    id = std::move(*latest);
  }
  std::string key = cache_key(store_id, id);
  if (auto hit = cached(key)) return hit;
  auto model = store_.read_model(store_id, id);
  if (!model) return Err(model.error());
  return compile(key, std::move(*model));
}

Result<Api::Impl::Prepared, Error> Api::Impl::prepare(std::string_view store_id, const json& body) {
  if (auto ok = check_consistency_preference(body); !ok) return Err(ok.error());
  auto model_id = model_id_member(body);
  if (!model_id) return Err(model_id.error());
  auto token = string_member(body, "consistency_token");
  if (!token) return Err(token.error());
  Prepared out;
  auto engine = this->engine(store_id, *model_id);
  if (!engine) return Err(engine.error());
  out.engine = std::move(*engine);
  // One look-up per request proves the store live: latest_model_id's (no model id) or the tuple
  // cache's revision read, which answers store_id_not_found for a deleted store; without either,
  // reader() looks the store up.
  const bool looked_up = model_id->empty() || tuples_ != nullptr || index_ != nullptr;
  auto reader =
      looked_up ? store_.reader_of_live_store(store_id, *token) : store_.reader(store_id, *token);
  if (!reader) return Err(reader.error());
  out.store = std::move(*reader);
  if (auto cached = add_cache(store_id, out); !cached) return Err(cached.error());
  return out;
}

Result<Ok, Error> Api::Impl::add_cache(std::string_view store_id, Prepared& prepared) {
  if (!tuples_ && !index_) return Ok{};
  auto revision = prepared.store->revision();
  if (!revision) {
    if (index_ && revision.error().code == ErrorCode::store_id_not_found) {
      index_->forget(std::string(store_id));  // deleted, maybe by another node
    }
    return Err(revision.error());
  }
  if (!*revision) return Ok{};
  if (index_) {
    if (auto replica = index_->reader(std::string(store_id), **revision)) {
      prepared.cached = std::move(replica);
      return Ok{};
    }
  }
  if (!tuples_) return Ok{};
  prepared.cached = tuples_->wrap(*prepared.store, std::string(store_id) + "@" + **revision);
  return Ok{};
}

// --- Stores and models -----------------------------------------------------------------------

Result<http::Response, Error> Api::Impl::create_store(const json& body) {
  auto name = string_member(body, "name");
  if (!name) return Err(name.error());
  auto created = store_.create_store(*name);
  if (!created) return Err(created.error());
  return no_store_json(201, store_to_json(*created));
}

Result<http::Response, Error> Api::Impl::list_stores(const http::Request& request) {
  auto size = page_size_query(request);
  if (!size) return Err(size.error());
  auto page = store_.list_stores({*size, query_string(request, "continuation_token")});
  if (!page) return Err(page.error());
  json stores = json::array();
  for (const auto& s : page->items) stores.push_back(store_to_json(s));
  return no_store_json(
      200, {{"stores", std::move(stores)}, {"continuation_token", page->continuation_token}});
}

Result<http::Response, Error> Api::Impl::write_model(std::string_view store_id, const json& body) {
  // The body is the model itself: {schema_version, type_definitions, conditions}.
  auto model = model_from_json(body);
  if (!model) return Err(model.error());
  if (auto valid = validate_model(*model); !valid) return Err(valid.error());
  // Conditions must compile (OpenFGA's WriteAuthorizationModel type-checks each CEL expression
  // and answers invalid_authorization_model otherwise); the engine compiles them.
  auto engine = Engine::create(*model, options_.engine);
  if (!engine) {
    return Err(make_error(ErrorCode::invalid_authorization_model, engine.error().message));
  }
  auto id = store_.write_model(store_id, *model);
  if (!id) return Err(id.error());
  return no_store_json(201, {{"authorization_model_id", *id}});
}

Result<http::Response, Error> Api::Impl::list_models(const http::Request& request) {
  auto size = page_size_query(request);
  if (!size) return Err(size.error());
  auto page = store_.list_models(request.param("store_id").value_or(""),
                                 {*size, query_string(request, "continuation_token")});
  if (!page) return Err(page.error());
  json models = json::array();
  for (const Model& m : page->items) models.push_back(model_json(m));
  return no_store_json(200, {{"authorization_models", std::move(models)},
                             {"continuation_token", page->continuation_token}});
}

// --- Tuples ------------------------------------------------------------------------------------

Result<http::Response, Error> Api::Impl::write(std::string_view store_id, const json& body) {
  store::FgaWriteRequest request;
  auto model_id = model_id_member(body);
  if (!model_id) return Err(model_id.error());
  request.model_id = std::move(*model_id);
  auto writes = tuple_list(body, "writes");
  if (!writes) return Err(writes.error());
  request.writes = std::move(*writes);
  auto deletes = tuple_list(body, "deletes", /*allow_condition=*/false);
  if (!deletes) return Err(deletes.error());
  request.deletes = std::move(*deletes);
  // openfga/api WriteRequestWrites.on_duplicate and WriteRequestDeletes.on_missing.
  if (const json* w = member(body, "writes")) {
    auto mode = string_member(*w, "on_duplicate");
    if (!mode) return Err(mode.error());
    if (*mode == "ignore") {
      request.on_duplicate = store::OnDuplicate::kIgnore;
    } else if (!mode->empty() && *mode != "error") {
      return invalid("writes.on_duplicate must be error or ignore");
    }
  }
  if (const json* d = member(body, "deletes")) {
    auto mode = string_member(*d, "on_missing");
    if (!mode) return Err(mode.error());
    if (*mode == "ignore") {
      request.on_missing = store::OnMissing::kIgnore;
    } else if (!mode->empty() && *mode != "error") {
      return invalid("deletes.on_missing must be error or ignore");
    }
  }
  if (request.writes.empty() && request.deletes.empty()) {
    return Err(make_error(ErrorCode::invalid_write_input,
                          "Invalid input. Make sure you provide at least one write, or at least "
                          "one delete"));
  }
  std::string store(store_id);
  request.validate_write = [this, &store](const Model& model,
                                          const TupleKey& key) -> Result<Ok, Error> {
    std::string cache = cache_key(store, model.id);
    auto engine = cached(cache);
    if (!engine) {
      auto compiled = compile(cache, model);
      if (!compiled) return Err(compiled.error());
      engine = std::move(*compiled);
    }
    auto valid = engine->validate_tuple(key);
    if (valid) return valid;
    // OpenFGA's Write wraps a tuple the model refuses in a validation_error whose message names
    // the tuple (pkg/server/commands WriteCommand: "Invalid tuple '...'. Reason: ...").
    return Err(make_error(ErrorCode::validation_error, "Invalid tuple '" + key.object + "#" +
                                                           key.relation + "@" + key.user +
                                                           "'. Reason: " + valid.error().message));
  };
  auto written = store_.write_tuples(store_id, request);
  if (!written) return Err(written.error());
  return no_store_json(200, {{"consistency_token", written->consistency_token}});
}

Result<http::Response, Error> Api::Impl::read(std::string_view store_id, const json& body) {
  if (auto ok = check_consistency_preference(body); !ok) return Err(ok.error());
  store::FgaReadFilter filter;
  auto key = object_member(body, "tuple_key");
  if (!key) return Err(key.error());
  if (*key != nullptr) {
    auto parsed = tuple_from_json(**key, /*allow_condition=*/false);
    if (!parsed) return Err(parsed.error());
    filter = {std::move(parsed->object), std::move(parsed->relation), std::move(parsed->user)};
  }
  auto size = page_size_member(body);
  if (!size) return Err(size.error());
  auto continuation = string_member(body, "continuation_token");
  if (!continuation) return Err(continuation.error());
  auto token = string_member(body, "consistency_token");
  if (!token) return Err(token.error());
  auto page = store_.read_tuples(store_id, filter, {*size, std::move(*continuation)}, *token);
  if (!page) return Err(page.error());
  json tuples = json::array();
  for (const auto& t : page->items) {
    tuples.push_back(
        {{"key", tuple_to_json(t.key)}, {"timestamp", timestamp_to_json(t.timestamp)}});
  }
  return no_store_json(
      200, {{"tuples", std::move(tuples)}, {"continuation_token", page->continuation_token}});
}

Result<http::Response, Error> Api::Impl::changes(const http::Request& request) {
  store::FgaChangesRequest changes;
  changes.type = query_string(request, "type");
  auto size = page_size_query(request);
  if (!size) return Err(size.error());
  changes.page_size = *size;
  changes.continuation_token = query_string(request, "continuation_token");
  if (std::string start = query_string(request, "start_time"); !start.empty()) {
    auto parsed = cel::detail::parse_rfc3339(start);
    if (!parsed) return invalid("start_time must be an RFC 3339 timestamp");
    changes.start_time = parsed->sec;
  }
  auto page = store_.read_changes(request.param("store_id").value_or(""), changes);
  if (!page) return Err(page.error());
  json out = json::array();
  for (const auto& c : page->items) {
    out.push_back(
        {{"tuple_key", tuple_to_json(c.key)},
         {"operation", c.operation == store::FgaOperation::kWrite ? "TUPLE_OPERATION_WRITE"
                                                                  : "TUPLE_OPERATION_DELETE"},
         {"timestamp", timestamp_to_json(c.timestamp)}});
  }
  return no_store_json(
      200, {{"changes", std::move(out)}, {"continuation_token", page->continuation_token}});
}

// --- Queries -----------------------------------------------------------------------------------

namespace {

// Check's and Expand's `tuple_key`: required.
Result<TupleKey, Error> required_tuple_key(const json& body) {
  auto key = object_member(body, "tuple_key");
  if (!key) return Err(key.error());
  if (*key == nullptr) return invalid("tuple_key is required");
  return tuple_from_json(**key, /*allow_condition=*/false);
}

// The parts of a Check request (and of a BatchCheck item).
Result<CheckRequest, Error> check_request(const json& body) {
  CheckRequest out;
  auto key = required_tuple_key(body);
  if (!key) return Err(key.error());
  if (key->object.empty() || key->relation.empty() || key->user.empty()) {
    return invalid("tuple_key needs object, relation and user");
  }
  out.object = std::move(key->object);
  out.relation = std::move(key->relation);
  out.user = std::move(key->user);
  if (auto read = read_context(body, out); !read) return Err(read.error());
  return out;
}

}  // namespace

Result<http::Response, Error> Api::Impl::check(std::string_view store_id, const json& body) {
  auto request = check_request(body);
  if (!request) return Err(request.error());
  auto prepared = prepare(store_id, body);
  if (!prepared) return Err(prepared.error());
  auto result = prepared->engine->check(prepared->reader(), *request);
  if (!result) return Err(result.error());
  // OpenFGA answers a check whose every path ran into a cycle "not allowed", like one that found
  // nothing; Tessera tells them apart in OpenFGA's own `resolution` field (a free-form string
  // clients ignore), as it tells the depth limit apart with its error 2002.
  const bool cycle = !result->allowed && result->cycle_detected;
  return no_store_json(
      200, {{"allowed", result->allowed}, {"resolution", cycle ? kCycleResolution : ""}});
}

Result<http::Response, Error> Api::Impl::batch_check(std::string_view store_id, const json& body) {
  auto checks = array_member(body, "checks");
  if (!checks) return Err(checks.error());
  if (*checks == nullptr || (*checks)->empty()) return invalid("checks must not be empty");
  std::vector<BatchCheckItem> items;
  items.reserve((*checks)->size());
  for (const json& item : **checks) {
    if (!item.is_object()) return invalid("each check must be an object");
    auto request = check_request(item);
    if (!request) return Err(request.error());
    auto correlation = string_member(item, "correlation_id");
    if (!correlation) return Err(correlation.error());
    items.push_back({std::move(*request), std::move(*correlation)});
  }
  auto prepared = prepare(store_id, body);
  if (!prepared) return Err(prepared.error());
  auto results = prepared->engine->batch_check(prepared->reader(), items);
  if (!results) return Err(results.error());
  json out = json::object();
  for (const BatchCheckItemResult& r : *results) {
    json entry = {{"allowed", r.allowed}};
    if (r.failed) {
      // openfga/api CheckError: input_error (an ErrorCode name) or internal_error, and message.
      bool internal = error_http_status(r.error.code) >= 500;
      entry["error"] = {{internal ? "internal_error" : "input_error", error_name(r.error.code)},
                        {"message", r.error.message}};
    }
    out[r.correlation_id] = std::move(entry);
  }
  return no_store_json(200, {{"result", std::move(out)}});
}

Result<http::Response, Error> Api::Impl::list_objects(std::string_view store_id, const json& body,
                                                      bool streamed) {
  ListObjectsRequest request;
  for (auto [field, out] :
       {std::pair{"type", &request.type}, std::pair{"relation", &request.relation},
        std::pair{"user", &request.user}}) {
    auto text = string_member(body, field);
    if (!text) return Err(text.error());
    *out = std::move(*text);
  }
  if (auto read = read_context(body, request); !read) return Err(read.error());
  auto size = page_size_member(body);
  if (!size) return Err(size.error());
  request.page_size = static_cast<size_t>(*size);
  auto continuation = string_member(body, "continuation_token");
  if (!continuation) return Err(continuation.error());
  request.continuation_token = std::move(*continuation);
  auto prepared = prepare(store_id, body);
  if (!prepared) return Err(prepared.error());
  if (!streamed) {
    auto page = prepared->engine->list_objects(prepared->reader(), request);
    if (!page) return Err(page.error());
    return no_store_json(
        200, {{"objects", page->objects}, {"continuation_token", page->continuation_token}});
  }
  // StreamedListObjects: every object, one `{"result": {"object": ...}}` line each (the
  // grpc-gateway stream framing). The pages are gathered first, so an error is a plain error
  // response rather than a broken stream.
  std::string lines;
  request.page_size = kMaxListObjectsPageSize;
  request.continuation_token.clear();
  do {
    auto page = prepared->engine->list_objects(prepared->reader(), request);
    if (!page) return Err(page.error());
    for (const std::string& object : page->objects) {
      lines += json{{"result", {{"object", object}}}}.dump();
      lines += '\n';
    }
    request.continuation_token = std::move(page->continuation_token);
  } while (!request.continuation_token.empty());
  http::Response r = http::Response::text(200, std::move(lines), "application/json");
  r.headers.set("Cache-Control", "no-store");
  return r;
}

Result<http::Response, Error> Api::Impl::list_users(std::string_view store_id, const json& body) {
  ListUsersRequest request;
  auto object = object_member(body, "object");
  if (!object) return Err(object.error());
  if (*object == nullptr) return invalid("object is required");
  auto type = string_member(**object, "type");
  if (!type) return Err(type.error());
  auto id = string_member(**object, "id");
  if (!id) return Err(id.error());
  request.object = *type + ":" + *id;
  auto relation = string_member(body, "relation");
  if (!relation) return Err(relation.error());
  request.relation = std::move(*relation);
  auto filters = array_member(body, "user_filters");
  if (!filters) return Err(filters.error());
  if (*filters != nullptr) {
    for (const json& f : **filters) {
      if (!f.is_object()) return invalid("each user filter must be an object");
      auto filter_type = string_member(f, "type");
      if (!filter_type) return Err(filter_type.error());
      auto filter_relation = string_member(f, "relation");
      if (!filter_relation) return Err(filter_relation.error());
      request.user_filters.push_back({std::move(*filter_type), std::move(*filter_relation)});
    }
  }
  // ListUsersRequest.contextual_tuples is a plain list of tuple keys.
  if (auto read = read_context(body, request, /*plain_list=*/true); !read) {
    return Err(read.error());
  }
  auto prepared = prepare(store_id, body);
  if (!prepared) return Err(prepared.error());
  auto result = prepared->engine->list_users(prepared->reader(), request);
  if (!result) return Err(result.error());
  json users = json::array();
  for (const std::string& user : result->users) users.push_back(user_to_json(user));
  return no_store_json(200, {{"users", std::move(users)}});
}

Result<http::Response, Error> Api::Impl::expand(std::string_view store_id, const json& body) {
  ExpandRequest request;
  auto key = required_tuple_key(body);
  if (!key) return Err(key.error());
  request.object = std::move(key->object);
  request.relation = std::move(key->relation);
  if (auto read = read_context(body, request); !read) return Err(read.error());
  auto prepared = prepare(store_id, body);
  if (!prepared) return Err(prepared.error());
  auto tree = prepared->engine->expand(prepared->reader(), request);
  if (!tree) return Err(tree.error());
  return no_store_json(200, *tree);
}

// --- Assertions --------------------------------------------------------------------------------

Result<http::Response, Error> Api::Impl::write_assertions(const http::Request& request,
                                                          const json& body) {
  auto items = array_member(body, "assertions");
  if (!items) return Err(items.error());
  std::vector<store::FgaAssertion> assertions;
  if (*items != nullptr) {
    for (const json& item : **items) {
      auto assertion = assertion_from_json(item);
      if (!assertion) return Err(assertion.error());
      assertions.push_back(std::move(*assertion));
    }
  }
  auto written = store_.write_assertions(request.param("store_id").value_or(""),
                                         request.param("model_id").value_or(""), assertions);
  if (!written) return Err(written.error());
  return http::Response(204);
}

Result<http::Response, Error> Api::Impl::read_assertions(const http::Request& request) {
  std::string model_id(request.param("model_id").value_or(""));
  auto assertions = store_.read_assertions(request.param("store_id").value_or(""), model_id);
  if (!assertions) return Err(assertions.error());
  json out = json::array();
  for (const auto& a : *assertions) out.push_back(assertion_to_json(a));
  return no_store_json(200, {{"authorization_model_id", model_id}, {"assertions", std::move(out)}});
}

// --- Public ------------------------------------------------------------------------------------

std::string timestamp_to_json(int64_t unix_seconds) {
  return cel::detail::format_rfc3339(cel::detail::Timestamp{unix_seconds, 0});
}

nlohmann::json store_to_json(const store::FgaStoreRecord& store) {
  return {{"id", store.id},
          {"name", store.name},
          {"created_at", timestamp_to_json(store.created_at)},
          {"updated_at", timestamp_to_json(store.updated_at)}};
}

Api::Api(FgaStore& store, ApiOptions options)
    : impl_(std::make_unique<Impl>(store, std::move(options))) {}
Api::~Api() = default;

void Api::add_routes(http::Router& router) { impl_->add_routes(router); }

TupleCache::Stats Api::tuple_cache_stats() const { return impl_->tuple_cache_stats(); }
TupleIndex::Stats Api::tuple_index_stats() const { return impl_->tuple_index_stats(); }
void Api::wait_for_tuple_index() const { impl_->wait_for_tuple_index(); }

Result<std::shared_ptr<const Engine>, Error> Api::engine(std::string_view store_id,
                                                         std::string_view model_id) {
  return impl_->engine(store_id, model_id);
}

}  // namespace tessera::fga
