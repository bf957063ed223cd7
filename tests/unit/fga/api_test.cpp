// The fga role's HTTP API (OpenFGA's) driven through the routes it registers, over a real
// SQLite store: authentication, request validation and error shapes, and each endpoint's body.
// The @openfga/sdk interop test drives the same API over HTTP with OpenFGA's own client.
#include "fga/api.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <string>

#include "core/crypto.h"
#include "store/store.h"

namespace tessera::fga {
namespace {

using nlohmann::json;

constexpr char kKey[] = "preshared-key-for-tests";

constexpr char kModel[] = R"({
  "schema_version": "1.1",
  "type_definitions": [
    {"type": "user"},
    {"type": "doc",
     "relations": {"viewer": {"this": {}}, "editor": {"this": {}}},
     "metadata": {"relations": {
        "viewer": {"directly_related_user_types": [
           {"type": "user"}, {"type": "user", "condition": "in_office"}]},
        "editor": {"directly_related_user_types": [{"type": "user"}]}}}}
  ],
  "conditions": {
    "in_office": {"name": "in_office", "expression": "hour >= 9 && hour < 17",
                  "parameters": {"hour": {"type_name": "TYPE_NAME_INT"}}}
  }
})";

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "tessera-api-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    store::StoreConfig config;
    config.sqlite_path = dir_ + "/tessera.db";
    auto opened = store::open_store(config);
    ASSERT_TRUE(opened) << opened.error().message;
    store_ = std::move(*opened);
    make_api(kDefaultEngineCacheEntries);
  }
  void TearDown() override {
    api_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  // The replicas (tuple_index_max_tuples) are on, as in a server, unless a test turns them off.
  void make_api(size_t cache_entries, size_t tuple_index_max_tuples = kDefaultTupleIndexMaxTuples) {
    ApiOptions options;
    options.auth.preshared_key_sha256 = {crypto::sha256(kKey)};
    options.auth.token_scopes = [](std::string_view token) {
      // Stands in for the authorization server's resolver: four active tokens, and one whose
      // issuer cannot be reached.
      static const std::map<std::string, std::vector<std::string>, std::less<>> tokens = {
          {"read-token", {"openid", "fga:read"}},
          {"write-token", {"fga:write"}},
          {"admin-token", {"fga:admin"}},
          {"openid-token", {"openid", "profile"}}};
      TokenScopes checked;
      if (auto it = tokens.find(token); it != tokens.end()) {
        checked.scopes = it->second;
      } else if (token == "issuer-down-token") {
        checked.unavailable = true;
        checked.reason = "the issuer's JWKS could not be fetched";
      }
      return checked;
    };
    options.engine_cache_entries = cache_entries;
    options.tuple_index_max_tuples = tuple_index_max_tuples;
    router_ = http::Router();
    api_ = std::make_unique<Api>(store_->fga(), options);
    api_->add_routes(router_);
  }

  http::Response call(std::string_view method, std::string_view target, std::string body = "",
                      const std::string& credential = kKey) {
    http::Request r;
    r.set_method(method);
    r.set_target(target);
    r.mutable_body() = std::move(body);
    if (!credential.empty()) r.mutable_headers().add("Authorization", "Bearer " + credential);
    auto match = router_.match(r.method(), r.path(), r);
    if (match.kind != http::Router::Match::Kind::kFound) return http::Response(404);
    return match.route->handler(r);
  }
  http::Response post(const std::string& target, const json& body,
                      const std::string& credential = kKey) {
    return call("POST", target, body.dump(), credential);
  }
  static json body(const http::Response& r) { return json::parse(r.body); }
  static std::string code(const http::Response& r) { return body(r).value("code", ""); }

  // A store with kModel; returns its id.
  std::string new_store() {
    auto created = post("/stores", {{"name", "tests"}});
    EXPECT_EQ(created.status, 201) << created.body;
    std::string id = body(created)["id"];
    auto model = call("POST", "/stores/" + id + "/authorization-models", kModel);
    EXPECT_EQ(model.status, 201) << model.body;
    model_id_ = body(model)["authorization_model_id"];
    return id;
  }
  http::Response write(const std::string& store, const json& writes,
                       const json& extra = json::object()) {
    json request = extra;
    request["writes"] = {{"tuple_keys", writes}};
    return post("/stores/" + store + "/write", request);
  }
  http::Response check(const std::string& store, const std::string& user,
                       const std::string& relation, const std::string& object,
                       const json& extra = json::object()) {
    json request = extra;
    request["tuple_key"] = {{"user", user}, {"relation", relation}, {"object", object}};
    return post("/stores/" + store + "/check", request);
  }

  std::string dir_;
  std::unique_ptr<store::Store> store_;
  http::Router router_;
  std::unique_ptr<Api> api_;
  std::string model_id_;
};

TEST_F(ApiTest, RequiresACredentialAndAnswersInOpenFgasShape) {
  auto none = call("GET", "/stores", "", "");
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(code(none), "bearer_token_missing");
  // RFC 6750 §3.1: no error code in the challenge when no credential was sent.
  EXPECT_EQ(none.headers.get("WWW-Authenticate").value_or(""), "Bearer realm=\"fga\"");
  auto wrong = call("GET", "/stores", "", "not-the-key");
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(code(wrong), "unauthenticated");
  EXPECT_NE(wrong.headers.get("WWW-Authenticate").value_or("").find("error=\"invalid_token\""),
            std::string::npos);
  EXPECT_EQ(call("GET", "/stores").status, 200);
}

TEST_F(ApiTest, AccessTokenScopesDecideWhatACallerMayDo) {
  std::string store = new_store();
  // fga:read checks but may not write, nor create stores.
  EXPECT_EQ(check(store, "user:anne", "viewer", "doc:1").status, 200);
  auto reader =
      post("/stores/" + store + "/check",
           {{"tuple_key", {{"user", "user:anne"}, {"relation", "viewer"}, {"object", "doc:1"}}}},
           "read-token");
  EXPECT_EQ(reader.status, 200) << reader.body;
  auto denied = post(
      "/stores/" + store + "/write",
      {{"writes",
        {{"tuple_keys",
          json::array({{{"user", "user:anne"}, {"relation", "viewer"}, {"object", "doc:1"}}})}}}},
      "read-token");
  EXPECT_EQ(denied.status, 403);
  EXPECT_EQ(code(denied), "forbidden");
  // RFC 6750 §3.1: which scope would do.
  EXPECT_EQ(denied.headers.get("WWW-Authenticate").value_or(""),
            "Bearer realm=\"fga\", error=\"insufficient_scope\", "
            "error_description=\"the access token lacks the scope fga:write\", "
            "scope=\"fga:write\"");
  EXPECT_EQ(post("/stores", {{"name", "other"}}, "write-token").status, 403);
  EXPECT_EQ(post("/stores", {{"name", "other"}}, "admin-token").status, 201);
  // fga:write includes reading.
  auto writer = post(
      "/stores/" + store + "/write",
      {{"writes",
        {{"tuple_keys",
          json::array({{{"user", "user:anne"}, {"relation", "viewer"}, {"object", "doc:1"}}})}}}},
      "write-token");
  EXPECT_EQ(writer.status, 200) << writer.body;
  EXPECT_EQ(post("/stores/" + store + "/read", json::object(), "write-token").status, 200);
  // Unrelated scopes and inactive tokens.
  EXPECT_EQ(post("/stores/" + store + "/read", json::object(), "openid-token").status, 403);
  EXPECT_EQ(post("/stores/" + store + "/read", json::object(), "inactive").status, 401);
  // A token that cannot be checked now is not called invalid: 503, no challenge, and why.
  auto down = post("/stores/" + store + "/read", json::object(), "issuer-down-token");
  EXPECT_EQ(down.status, 503);
  EXPECT_EQ(code(down), "unavailable");
  EXPECT_EQ(body(down)["message"], "the issuer's JWKS could not be fetched");
  EXPECT_FALSE(down.headers.get("WWW-Authenticate").has_value());
  EXPECT_EQ(down.headers.get("Retry-After").value_or(""), "5");
}

TEST_F(ApiTest, ACheckCutByACycleSaysSoInItsResolution) {
  auto created = post("/stores", {{"name", "cycles"}});
  ASSERT_EQ(created.status, 201);
  const std::string store = body(created)["id"];
  auto model = post("/stores/" + store + "/authorization-models", json::parse(R"({
    "schema_version": "1.1",
    "type_definitions": [
      {"type": "user"},
      {"type": "group", "relations": {"member": {"this": {}}},
       "metadata": {"relations": {"member": {"directly_related_user_types": [
         {"type": "user"}, {"type": "group", "relation": "member"}]}}}}]})"));
  ASSERT_EQ(model.status, 201) << model.body;
  // a and b contain each other; c contains a; d contains nobody.
  ASSERT_EQ(
      write(store, json::array(
                       {{{"user", "group:b#member"}, {"relation", "member"}, {"object", "group:a"}},
                        {{"user", "group:a#member"}, {"relation", "member"}, {"object", "group:b"}},
                        {{"user", "user:anne"}, {"relation", "member"}, {"object", "group:d"}}}))
          .status,
      200);
  auto cut = check(store, "user:zed", "member", "group:a");
  ASSERT_EQ(cut.status, 200) << cut.body;
  EXPECT_EQ(body(cut)["allowed"], false);
  EXPECT_EQ(body(cut)["resolution"], "cycle detected");
  auto plain = check(store, "user:zed", "member", "group:d");
  EXPECT_EQ(body(plain)["allowed"], false);
  EXPECT_EQ(body(plain)["resolution"], "");
  auto yes = check(store, "user:anne", "member", "group:d");
  EXPECT_EQ(body(yes)["allowed"], true);
  EXPECT_EQ(body(yes)["resolution"], "");
}

TEST_F(ApiTest, StoresAreCreatedListedReadAndDeleted) {
  auto created = post("/stores", {{"name", "acme"}});
  ASSERT_EQ(created.status, 201);
  json store = body(created);
  EXPECT_EQ(store["name"], "acme");
  EXPECT_EQ(store["id"].get<std::string>().size(), 26u);
  EXPECT_EQ(store["created_at"].get<std::string>().back(), 'Z');
  auto got = call("GET", "/stores/" + store["id"].get<std::string>());
  EXPECT_EQ(body(got), store);
  auto listed = body(call("GET", "/stores?page_size=10"));
  ASSERT_EQ(listed["stores"].size(), 1u);
  EXPECT_EQ(listed["stores"][0], store);
  EXPECT_EQ(listed["continuation_token"], "");
  // A model pinned by id does not spare the store's look-up: a deleted store is not found.
  const std::string id = store["id"];
  ASSERT_EQ(call("POST", "/stores/" + id + "/authorization-models", kModel).status, 201);
  const std::string model =
      body(call("GET", "/stores/" + id + "/authorization-models"))["authorization_models"][0]["id"];
  const json pinned = {
      {"authorization_model_id", model},
      {"tuple_key", {{"user", "user:anne"}, {"relation", "viewer"}, {"object", "doc:1"}}}};
  EXPECT_EQ(post("/stores/" + id + "/check", pinned).status, 200);
  EXPECT_EQ(call("DELETE", "/stores/" + store["id"].get<std::string>()).status, 204);
  auto after_delete = post("/stores/" + id + "/check", pinned);
  EXPECT_EQ(after_delete.status, 404);
  EXPECT_EQ(code(after_delete), "store_id_not_found");
  auto gone = call("GET", "/stores/" + store["id"].get<std::string>());
  EXPECT_EQ(gone.status, 404);
  EXPECT_EQ(code(gone), "store_id_not_found");
  auto short_name = post("/stores", {{"name", "a"}});
  EXPECT_EQ(short_name.status, 400);
  EXPECT_EQ(code(short_name), "validation_error");
  EXPECT_EQ(code(call("GET", "/stores?page_size=abc")), "page_size_invalid");
}

TEST_F(ApiTest, MalformedBodiesAreValidationErrors) {
  std::string store = new_store();
  for (std::string bad : {"{", "[]", "{\"tuple_key\": 5}", "{\"a\":1,\"a\":2}",
                          "{\"tuple_key\": {\"user\": 1, \"relation\": \"viewer\"}}"}) {
    auto r = call("POST", "/stores/" + store + "/check", bad);
    EXPECT_EQ(r.status, 400) << bad;
    EXPECT_EQ(code(r), "validation_error") << bad;
    EXPECT_FALSE(body(r).value("message", "").empty());
  }
  auto missing = post("/stores/" + store + "/check",
                      {{"tuple_key", {{"user", "user:anne"}, {"object", "doc:1"}}}});
  EXPECT_EQ(code(missing), "validation_error");
  auto bad_model_id =
      check(store, "user:anne", "viewer", "doc:1", {{"authorization_model_id", "not-a-ulid"}});
  EXPECT_EQ(code(bad_model_id), "validation_error");
  auto bad_consistency =
      check(store, "user:anne", "viewer", "doc:1", {{"consistency", "WHENEVER"}});
  EXPECT_EQ(code(bad_consistency), "validation_error");
  auto unknown_store = check("01ARZ3NDEKTSV4RRFFQ69G5FAV", "user:anne", "viewer", "doc:1");
  EXPECT_EQ(unknown_store.status, 404);
  EXPECT_EQ(code(unknown_store), "store_id_not_found");
  auto unknown_type = check(store, "user:anne", "viewer", "folder:1");
  EXPECT_EQ(unknown_type.status, 400);
  EXPECT_FALSE(code(unknown_type).empty());
}

TEST_F(ApiTest, ModelsAreWrittenReadAndListedNewestFirst) {
  std::string store = new_store();
  std::string first = model_id_;
  auto second = call("POST", "/stores/" + store + "/authorization-models", kModel);
  ASSERT_EQ(second.status, 201);
  std::string second_id = body(second)["authorization_model_id"];
  auto listed = body(call("GET", "/stores/" + store + "/authorization-models"));
  ASSERT_EQ(listed["authorization_models"].size(), 2u);
  EXPECT_EQ(listed["authorization_models"][0]["id"], second_id);
  EXPECT_EQ(listed["authorization_models"][1]["id"], first);
  auto read = body(call("GET", "/stores/" + store + "/authorization-models/" + first));
  EXPECT_EQ(read["authorization_model"]["id"], first);
  EXPECT_EQ(read["authorization_model"]["schema_version"], "1.1");
  EXPECT_EQ(read["authorization_model"]["conditions"]["in_office"]["expression"],
            "hour >= 9 && hour < 17");
  auto missing =
      call("GET", "/stores/" + store + "/authorization-models/01ARZ3NDEKTSV4RRFFQ69G5FAV");
  EXPECT_EQ(missing.status, 400);  // OpenFGA: every 2000s code is a 400
  EXPECT_EQ(code(missing), "authorization_model_not_found");
}

TEST_F(ApiTest, ModelsThatDoNotValidateOrCompileAreRefused) {
  std::string store = new_store();
  json undefined = json::parse(kModel);
  undefined["type_definitions"][1]["metadata"]["relations"]["editor"]
           ["directly_related_user_types"] = json::array({{{"type", "team"}}});
  auto r = call("POST", "/stores/" + store + "/authorization-models", undefined.dump());
  EXPECT_EQ(r.status, 400);
  EXPECT_FALSE(code(r).empty());
  json bad_condition = json::parse(kModel);
  bad_condition["conditions"]["in_office"]["expression"] = "hour >= ";
  r = call("POST", "/stores/" + store + "/authorization-models", bad_condition.dump());
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(code(r), "invalid_authorization_model");
  json wrong_type = json::parse(kModel);
  wrong_type["conditions"]["in_office"]["expression"] = "hour == 'nine'";
  r = call("POST", "/stores/" + store + "/authorization-models", wrong_type.dump());
  EXPECT_EQ(code(r), "invalid_authorization_model");
  // Nothing was stored.
  auto listed = body(call("GET", "/stores/" + store + "/authorization-models"));
  EXPECT_EQ(listed["authorization_models"].size(), 1u);
}

TEST_F(ApiTest, WriteCheckReadAndDelete) {
  std::string store = new_store();
  json anne = {{"user", "user:anne"}, {"relation", "viewer"}, {"object", "doc:1"}};
  auto written = write(store, json::array({anne}));
  ASSERT_EQ(written.status, 200) << written.body;
  std::string token = body(written)["consistency_token"];
  EXPECT_FALSE(token.empty());
  auto allowed = check(store, "user:anne", "viewer", "doc:1", {{"consistency_token", token}});
  ASSERT_EQ(allowed.status, 200) << allowed.body;
  EXPECT_EQ(body(allowed), json({{"allowed", true}, {"resolution", ""}}));
  EXPECT_FALSE(body(check(store, "user:bob", "viewer", "doc:1"))["allowed"]);
  EXPECT_EQ(code(check(store, "user:anne", "viewer", "doc:1",
                       {{"consistency_token", "bm90LWEtdG9rZW4"}})),
            "validation_error");
  // A duplicate is an error unless on_duplicate is ignore.
  EXPECT_EQ(code(write(store, json::array({anne}))), "write_failed_due_to_invalid_input");
  json ignore = {{"writes", {{"tuple_keys", json::array({anne})}, {"on_duplicate", "ignore"}}}};
  EXPECT_EQ(post("/stores/" + store + "/write", ignore).status, 200);
  // Read with and without a filter.
  auto read = body(post("/stores/" + store + "/read", {{"tuple_key", {{"object", "doc:1"}}}}));
  ASSERT_EQ(read["tuples"].size(), 1u);
  EXPECT_EQ(read["tuples"][0]["key"], anne);
  EXPECT_EQ(read["tuples"][0]["timestamp"].get<std::string>().back(), 'Z');
  // Delete, then on_missing.
  json remove = {{"deletes", {{"tuple_keys", json::array({anne})}}}};
  EXPECT_EQ(post("/stores/" + store + "/write", remove).status, 200);
  EXPECT_FALSE(body(check(store, "user:anne", "viewer", "doc:1"))["allowed"]);
  EXPECT_EQ(code(post("/stores/" + store + "/write", remove)), "write_failed_due_to_invalid_input");
  remove["deletes"]["on_missing"] = "ignore";
  EXPECT_EQ(post("/stores/" + store + "/write", remove).status, 200);
  // Nothing to do, and a bad mode.
  EXPECT_EQ(code(post("/stores/" + store + "/write", json::object())), "invalid_write_input");
  remove["deletes"]["on_missing"] = "sometimes";
  EXPECT_EQ(code(post("/stores/" + store + "/write", remove)), "validation_error");
  // A tuple the model does not allow.
  auto invalid = write(
      store, json::array({{{"user", "user:anne"}, {"relation", "owner"}, {"object", "doc:1"}}}));
  EXPECT_EQ(invalid.status, 400);
  EXPECT_EQ(code(invalid), "validation_error");
  EXPECT_EQ(body(invalid)["message"].get<std::string>().rfind(
                "Invalid tuple 'doc:1#owner@user:anne'. Reason: ", 0),
            0u)
      << invalid.body;
}

TEST_F(ApiTest, ConditionsUseTheTuplesAndTheRequestsContext) {
  std::string store = new_store();
  json tuple = {{"user", "user:anne"},
                {"relation", "viewer"},
                {"object", "doc:1"},
                {"condition", {{"name", "in_office"}, {"context", json::object()}}}};
  ASSERT_EQ(write(store, json::array({tuple})).status, 200);
  EXPECT_TRUE(
      body(check(store, "user:anne", "viewer", "doc:1", {{"context", {{"hour", 10}}}}))["allowed"]);
  EXPECT_FALSE(
      body(check(store, "user:anne", "viewer", "doc:1", {{"context", {{"hour", 20}}}}))["allowed"]);
  // A missing parameter is an error, not "not allowed".
  auto missing = check(store, "user:anne", "viewer", "doc:1");
  EXPECT_EQ(missing.status, 400) << missing.body;
  EXPECT_NE(body(missing).value("message", "").find("hour"), std::string::npos);
  // Read gives the condition back.
  auto read = body(post("/stores/" + store + "/read", json::object()));
  EXPECT_EQ(read["tuples"][0]["key"], tuple);
  // Contextual tuples count for one request only.
  json contextual = {
      {"contextual_tuples",
       {{"tuple_keys",
         json::array({{{"user", "user:bob"}, {"relation", "editor"}, {"object", "doc:2"}}})}}}};
  EXPECT_TRUE(body(check(store, "user:bob", "editor", "doc:2", contextual))["allowed"]);
  EXPECT_FALSE(body(check(store, "user:bob", "editor", "doc:2"))["allowed"]);
}

TEST_F(ApiTest, BatchCheckAnswersEachItemByCorrelationId) {
  std::string store = new_store();
  ASSERT_EQ(
      write(store,
            json::array({{{"user", "user:anne"}, {"relation", "editor"}, {"object", "doc:1"}}}))
          .status,
      200);
  json checks = json::array();
  checks.push_back(
      {{"tuple_key", {{"user", "user:anne"}, {"relation", "editor"}, {"object", "doc:1"}}},
       {"correlation_id", "yes"}});
  checks.push_back(
      {{"tuple_key", {{"user", "user:bob"}, {"relation", "editor"}, {"object", "doc:1"}}},
       {"correlation_id", "no"}});
  checks.push_back(
      {{"tuple_key", {{"user", "user:bob"}, {"relation", "nothing"}, {"object", "doc:1"}}},
       {"correlation_id", "bad"}});
  auto r = post("/stores/" + store + "/batch-check", {{"checks", checks}});
  ASSERT_EQ(r.status, 200) << r.body;
  json result = body(r)["result"];
  EXPECT_EQ(result["yes"], json({{"allowed", true}}));
  EXPECT_EQ(result["no"], json({{"allowed", false}}));
  EXPECT_FALSE(result["bad"]["allowed"]);
  EXPECT_FALSE(result["bad"]["error"]["input_error"].get<std::string>().empty());
  // A repeated correlation id fails the whole batch.
  checks[1]["correlation_id"] = "yes";
  EXPECT_EQ(post("/stores/" + store + "/batch-check", {{"checks", checks}}).status, 400);
  EXPECT_EQ(post("/stores/" + store + "/batch-check", {{"checks", json::array()}}).status, 400);
}

TEST_F(ApiTest, ListObjectsPagesInsteadOfTruncating) {
  std::string store = new_store();
  std::set<std::string> expected;
  for (int batch = 0; batch < 3; ++batch) {
    json tuples = json::array();
    for (int i = 0; i < 50; ++i) {
      std::string object = "doc:" + std::to_string(batch * 50 + i);
      expected.insert(object);
      tuples.push_back({{"user", "user:anne"}, {"relation", "editor"}, {"object", object}});
    }
    ASSERT_EQ(write(store, tuples).status, 200);
  }
  json request = {
      {"type", "doc"}, {"relation", "editor"}, {"user", "user:anne"}, {"page_size", 40}};
  std::set<std::string> seen;
  int pages = 0;
  for (;;) {
    auto r = post("/stores/" + store + "/list-objects", request);
    ASSERT_EQ(r.status, 200) << r.body;
    json page = body(r);
    EXPECT_LE(page["objects"].size(), 40u);
    for (const auto& o : page["objects"]) EXPECT_TRUE(seen.insert(o.get<std::string>()).second);
    ++pages;
    if (page["continuation_token"].get<std::string>().empty()) break;
    request["continuation_token"] = page["continuation_token"];
    ASSERT_LT(pages, 10);
  }
  EXPECT_EQ(pages, 4);
  EXPECT_EQ(seen, expected);
  // Without a page size: one page holds all 150.
  request.erase("page_size");
  request.erase("continuation_token");
  EXPECT_EQ(body(post("/stores/" + store + "/list-objects", request))["objects"].size(), 150u);
  // Streamed: one JSON line per object, every object.
  auto streamed = post("/stores/" + store + "/streamed-list-objects", request);
  ASSERT_EQ(streamed.status, 200);
  std::set<std::string> lines;
  size_t at = 0;
  while (at < streamed.body.size()) {
    size_t end = streamed.body.find('\n', at);
    ASSERT_NE(end, std::string::npos);
    lines.insert(json::parse(streamed.body.substr(at, end - at))["result"]["object"]);
    at = end + 1;
  }
  EXPECT_EQ(lines, expected);
  request["continuation_token"] = "garbage";
  EXPECT_EQ(post("/stores/" + store + "/list-objects", request).status, 400);
}

TEST_F(ApiTest, ListUsersExpandAndChanges) {
  std::string store = new_store();
  ASSERT_EQ(write(store, json::array(
                             {{{"user", "user:anne"}, {"relation", "editor"}, {"object", "doc:1"}},
                              {{"user", "user:bob"}, {"relation", "editor"}, {"object", "doc:1"}}}))
                .status,
            200);
  auto users = post("/stores/" + store + "/list-users",
                    {{"object", {{"type", "doc"}, {"id", "1"}}},
                     {"relation", "editor"},
                     {"user_filters", json::array({{{"type", "user"}}})}});
  ASSERT_EQ(users.status, 200) << users.body;
  EXPECT_EQ(body(users)["users"], json::parse(R"([{"object":{"type":"user","id":"anne"}},
                            {"object":{"type":"user","id":"bob"}}])"));
  auto tree = post("/stores/" + store + "/expand",
                   {{"tuple_key", {{"object", "doc:1"}, {"relation", "editor"}}}});
  ASSERT_EQ(tree.status, 200) << tree.body;
  EXPECT_EQ(body(tree)["tree"]["root"]["name"], "doc:1#editor");
  auto changes = call("GET", "/stores/" + store + "/changes?type=doc");
  ASSERT_EQ(changes.status, 200) << changes.body;
  json list = body(changes)["changes"];
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0]["operation"], "TUPLE_OPERATION_WRITE");
  EXPECT_EQ(list[0]["tuple_key"]["object"], "doc:1");
  EXPECT_FALSE(body(changes)["continuation_token"].get<std::string>().empty());
  EXPECT_EQ(code(call("GET", "/stores/" + store + "/changes?start_time=yesterday")),
            "validation_error");
}

TEST_F(ApiTest, AssertionsRoundTripPerModel) {
  std::string store = new_store();
  std::string target = "/stores/" + store + "/assertions/" + model_id_;
  auto empty = call("GET", target);
  ASSERT_EQ(empty.status, 200) << empty.body;
  EXPECT_EQ(body(empty),
            json({{"authorization_model_id", model_id_}, {"assertions", json::array()}}));
  json assertions = {
      {"assertions",
       json::array(
           {{{"tuple_key", {{"object", "doc:1"}, {"relation", "viewer"}, {"user", "user:anne"}}},
             {"expectation", true},
             {"contextual_tuples", json::array()},
             {"context", {{"hour", 10}}}}})}};
  EXPECT_EQ(call("PUT", target, assertions.dump()).status, 204);
  EXPECT_EQ(body(call("GET", target))["assertions"], assertions["assertions"]);
  auto unknown =
      call("PUT", "/stores/" + store + "/assertions/01ARZ3NDEKTSV4RRFFQ69G5FAV", assertions.dump());
  EXPECT_EQ(code(unknown), "authorization_model_not_found");
}

// The tuple cache is on by default: a write is seen by the next request all the same.
TEST_F(ApiTest, AWriteIsSeenAtOnceThroughTheTupleCache) {
  make_api(kDefaultEngineCacheEntries, /*tuple_index_max_tuples=*/0);
  std::string store = new_store();
  // ListObjects reads from the user's side (cached); Check's point lookup goes to the store.
  const json list = {{"type", "doc"}, {"relation", "editor"}, {"user", "user:anne"}};
  auto objects = [&] { return body(post("/stores/" + store + "/list-objects", list))["objects"]; };
  for (int round = 0; round < 2; ++round) {
    EXPECT_FALSE(body(check(store, "user:anne", "viewer", "doc:1"))["allowed"]);
    EXPECT_EQ(objects(), json::array());
  }
  EXPECT_GT(api_->tuple_cache_stats().hits, 0u);
  ASSERT_EQ(
      write(store,
            json::array({{{"user", "user:anne"}, {"relation", "editor"}, {"object", "doc:7"}}}))
          .status,
      200);
  EXPECT_EQ(objects(), json::array({"doc:7"}));
  ASSERT_EQ(
      write(store,
            json::array({{{"user", "user:anne"}, {"relation", "viewer"}, {"object", "doc:1"}}}))
          .status,
      200);
  EXPECT_TRUE(body(check(store, "user:anne", "viewer", "doc:1"))["allowed"]);
  json remove = {
      {"deletes",
       {{"tuple_keys",
         json::array({{{"user", "user:anne"}, {"relation", "viewer"}, {"object", "doc:1"}}})}}}};
  ASSERT_EQ(post("/stores/" + store + "/write", remove).status, 200);
  EXPECT_FALSE(body(check(store, "user:anne", "viewer", "doc:1"))["allowed"]);
}

// The replica (fga/tuple_index.h): built in the background on a store's first request, then
// answering the requests whose snapshot has its revision; a write is seen by the next request
// (from SQL until the replica catches up, then from the replica), deletes and conditions too.
TEST_F(ApiTest, ChecksAreAnsweredFromTheReplicaOnceItHoldsTheirRevision) {
  std::string store = new_store();
  auto tuple = [](const std::string& user, const std::string& relation, const std::string& object) {
    return json{{"user", user}, {"relation", relation}, {"object", object}};
  };
  json conditioned = tuple("user:carl", "viewer", "doc:3");
  conditioned["condition"] = {{"name", "in_office"}, {"context", {{"hour", 10}}}};
  ASSERT_EQ(write(store, json::array({tuple("user:anne", "editor", "doc:1"),
                                      tuple("user:bob", "viewer", "doc:1"), conditioned}))
                .status,
            200);
  auto allowed = [&](const std::string& user, const std::string& relation,
                     const std::string& object, const json& extra = json::object()) {
    auto r = check(store, user, relation, object, extra);
    EXPECT_EQ(r.status, 200) << r.body;
    return body(r).value("allowed", false);
  };
  EXPECT_TRUE(allowed("user:anne", "editor", "doc:1"));  // from SQL: no replica yet
  api_->wait_for_tuple_index();
  const uint64_t hits_before = api_->tuple_index_stats().hits;
  EXPECT_TRUE(allowed("user:anne", "editor", "doc:1"));
  EXPECT_TRUE(allowed("user:bob", "viewer", "doc:1"));
  EXPECT_FALSE(allowed("user:bob", "editor", "doc:1"));
  EXPECT_TRUE(allowed("user:carl", "viewer", "doc:3"));  // the stored context's hour 10
  // Contextual tuples still count, over the replica.
  json contextual = {
      {"contextual_tuples", {{"tuple_keys", json::array({tuple("user:dan", "editor", "doc:2")})}}}};
  EXPECT_TRUE(allowed("user:dan", "editor", "doc:2", contextual));
  auto stats = api_->tuple_index_stats();
  EXPECT_EQ(stats.builds, 1u);
  EXPECT_EQ(stats.stores, 1u);
  EXPECT_EQ(stats.tuples, 3u);
  EXPECT_EQ(stats.hits - hits_before, 5u);

  // A write and a delete are seen by the very next request.
  ASSERT_EQ(write(store, json::array({tuple("user:erin", "viewer", "doc:1")})).status, 200);
  json remove = {
      {"deletes", {{"tuple_keys", json::array({tuple("user:bob", "viewer", "doc:1")})}}}};
  ASSERT_EQ(post("/stores/" + store + "/write", remove).status, 200);
  EXPECT_TRUE(allowed("user:erin", "viewer", "doc:1"));
  EXPECT_FALSE(allowed("user:bob", "viewer", "doc:1"));
  // Then from the replica, caught up from the change log, not rebuilt.
  api_->wait_for_tuple_index();
  const uint64_t hits_caught_up = api_->tuple_index_stats().hits;
  EXPECT_TRUE(allowed("user:erin", "viewer", "doc:1"));
  EXPECT_FALSE(allowed("user:bob", "viewer", "doc:1"));
  EXPECT_TRUE(allowed("user:anne", "editor", "doc:1"));
  stats = api_->tuple_index_stats();
  EXPECT_EQ(stats.hits - hits_caught_up, 3u);
  EXPECT_EQ(stats.builds, 1u);
  EXPECT_GE(stats.catch_ups, 1u);
  EXPECT_EQ(stats.tuples, 3u);

  // A deleted store loses its replica.
  ASSERT_EQ(call("DELETE", "/stores/" + store).status, 204);
  EXPECT_EQ(api_->tuple_index_stats().stores, 0u);
  EXPECT_EQ(api_->tuple_index_stats().tuples, 0u);
}

TEST_F(ApiTest, AStoreLargerThanTheReplicaBoundIsReadFromSql) {
  make_api(kDefaultEngineCacheEntries, /*tuple_index_max_tuples=*/2);
  std::string store = new_store();
  ASSERT_EQ(
      write(store, json::array({{{"user", "user:a"}, {"relation", "viewer"}, {"object", "doc:1"}},
                                {{"user", "user:b"}, {"relation", "viewer"}, {"object", "doc:1"}},
                                {{"user", "user:c"}, {"relation", "viewer"}, {"object", "doc:1"}}}))
          .status,
      200);
  for (int round = 0; round < 2; ++round) {
    EXPECT_TRUE(body(check(store, "user:c", "viewer", "doc:1"))["allowed"]);
    api_->wait_for_tuple_index();
  }
  const auto stats = api_->tuple_index_stats();
  EXPECT_EQ(stats.stores, 0u);
  EXPECT_EQ(stats.tuples, 0u);
  EXPECT_EQ(stats.hits, 0u);
}

TEST_F(ApiTest, EnginesAreCachedPerModelAndEvicted) {
  make_api(1);
  std::string store = new_store();
  std::string first = model_id_;
  auto second = call("POST", "/stores/" + store + "/authorization-models", kModel);
  std::string second_id = body(second)["authorization_model_id"];
  auto a = api_->engine(store, first);
  auto b = api_->engine(store, second_id);
  ASSERT_TRUE(a && b);
  EXPECT_NE(a->get(), b->get());
  // The latest model is the second one; it is cached.
  auto latest = api_->engine(store, "");
  ASSERT_TRUE(latest);
  EXPECT_EQ(latest->get(), b->get());
  EXPECT_EQ(latest->get()->model().id, second_id);
  // With room for one engine the first was evicted and is compiled again.
  auto again = api_->engine(store, first);
  ASSERT_TRUE(again);
  EXPECT_NE(again->get(), a->get());
  EXPECT_EQ(again->get()->model().id, first);
  EXPECT_EQ(api_->engine(store, "01ARZ3NDEKTSV4RRFFQ69G5FAV").error().code,
            ErrorCode::authorization_model_not_found);
}

}  // namespace
}  // namespace tessera::fga
