// FgaStore on both backends: stores (soft delete, pagination), immutable models with "latest",
// transactional tuple writes with on_duplicate / on_missing and OpenFGA's error codes, Read
// filters and pagination, the change log, consistency tokens, the TupleReader the engine uses,
// conditions and contexts, and isolation between stores.
#include "store/fga_store.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "backend_fixture.h"
#include "core/base64url.h"
#include "fga/dsl.h"
#include "store/ulid.h"

namespace tessera::store::testing {
namespace {

using fga::ErrorCode;
using fga::TupleKey;

constexpr std::string_view kModelDsl = R"(model
  schema 1.1
type user
type group
  relations
    define member: [user, group#member]
type document
  relations
    define viewer: [user, user:*, group#member, user with nonzero]
    define editor: [user]
condition nonzero(x: int) {
  x != 0
}
)";

fga::Model model_from_dsl(std::string_view text) {
  auto model = fga::parse_dsl(text);
  if (!model) {
    ADD_FAILURE() << "parse_dsl: " << model.error().message;
    return {};
  }
  return std::move(*model);
}

TupleKey key(std::string object, std::string relation, std::string user, std::string condition = {},
             nlohmann::json context = nullptr) {
  return TupleKey{std::move(object), std::move(relation), std::move(user), std::move(condition),
                  std::move(context)};
}

std::string text(const TupleKey& k) { return k.object + "#" + k.relation + "@" + k.user; }

// The error code of a failed result; records a failure when it succeeded.
template <class T>
ErrorCode code_of(const Result<T, fga::Error>& result) {
  if (result) {
    ADD_FAILURE() << "expected an error, got success";
    return ErrorCode::internal_error;
  }
  return result.error().code;
}

std::vector<std::string> texts(const std::vector<TupleKey>& keys) {
  std::vector<std::string> out;
  out.reserve(keys.size());
  for (const TupleKey& k : keys) out.push_back(text(k));
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> texts(const std::vector<FgaTupleRecord>& records) {
  std::vector<TupleKey> keys;
  keys.reserve(records.size());
  for (const auto& r : records) keys.push_back(r.key);
  return texts(keys);
}

class FgaStoreTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    if (store_ == nullptr) return;
    store_id_ = new_store("main");
    auto id = fga().write_model(store_id_, model_from_dsl(kModelDsl));
    ASSERT_TRUE(id) << id.error().message;
    model_id_ = *id;
  }

  FgaStore& fga() { return store_->fga(); }

  std::string new_store(std::string_view name) {
    auto created = fga().create_store(name);
    if (!created) {
      ADD_FAILURE() << created.error().message;
      return {};
    }
    return created->id;
  }

  // Writes `writes` (and `deletes`), recording a failure on error; returns the token.
  std::string write(const std::vector<TupleKey>& writes, const std::vector<TupleKey>& deletes = {},
                    const std::string& store_id = {}) {
    FgaWriteRequest request;
    request.writes = writes;
    request.deletes = deletes;
    auto written = fga().write_tuples(store_id.empty() ? store_id_ : store_id, request);
    if (!written) {
      ADD_FAILURE() << written.error().message;
      return {};
    }
    return written->consistency_token;
  }

  Result<FgaWriteResult, fga::Error> try_write(std::vector<TupleKey> writes,
                                               std::vector<TupleKey> deletes = {},
                                               OnDuplicate on_duplicate = OnDuplicate::kError,
                                               OnMissing on_missing = OnMissing::kError) {
    FgaWriteRequest request;
    request.writes = std::move(writes);
    request.deletes = std::move(deletes);
    request.on_duplicate = on_duplicate;
    request.on_missing = on_missing;
    return fga().write_tuples(store_id_, request);
  }

  std::vector<std::string> read_all(const FgaReadFilter& filter = {},
                                    const std::string& store_id = {}) {
    auto page = fga().read_tuples(store_id.empty() ? store_id_ : store_id, filter,
                                  FgaPageRequest{kFgaMaxPageSize, {}});
    if (!page) {
      ADD_FAILURE() << page.error().message;
      return {};
    }
    EXPECT_TRUE(page->continuation_token.empty());
    return texts(page->items);
  }

  std::vector<FgaChange> changes(const FgaChangesRequest& request = {}) {
    auto page = fga().read_changes(store_id_, request);
    if (!page) {
      ADD_FAILURE() << page.error().message;
      return {};
    }
    return page->items;
  }

  std::string store_id_;
  std::string model_id_;
};

// --- Stores ---------------------------------------------------------------------------------

TEST_P(FgaStoreTest, CreatedStoreIsReadBackAndListedOldestFirst) {
  auto created = fga().create_store("second store");
  ASSERT_TRUE(created) << created.error().message;
  EXPECT_TRUE(is_ulid(created->id));
  EXPECT_EQ(created->name, "second store");
  EXPECT_EQ(created->created_at, clock_.now());
  auto got = fga().get_store(created->id);
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(got->id, created->id);
  EXPECT_EQ(got->name, "second store");
  EXPECT_EQ(got->updated_at, clock_.now());

  const std::string third = new_store("third");
  auto first_page = fga().list_stores(FgaPageRequest{2, {}});
  ASSERT_TRUE(first_page) << first_page.error().message;
  ASSERT_EQ(first_page->items.size(), 2U);
  EXPECT_EQ(first_page->items[0].id, store_id_);
  EXPECT_EQ(first_page->items[1].id, created->id);
  ASSERT_FALSE(first_page->continuation_token.empty());
  auto second_page = fga().list_stores(FgaPageRequest{2, first_page->continuation_token});
  ASSERT_TRUE(second_page) << second_page.error().message;
  ASSERT_EQ(second_page->items.size(), 1U);
  EXPECT_EQ(second_page->items[0].id, third);
  EXPECT_TRUE(second_page->continuation_token.empty());
}

TEST_P(FgaStoreTest, StoreNamesAndIdsAreValidated) {
  EXPECT_EQ(code_of(fga().create_store("ab")), ErrorCode::validation_error);
  EXPECT_EQ(code_of(fga().create_store(std::string(65, 'a'))), ErrorCode::validation_error);
  EXPECT_EQ(code_of(fga().create_store("bad\nname")), ErrorCode::validation_error);
  EXPECT_TRUE(fga().create_store(std::string(64, 'a')));
  EXPECT_EQ(code_of(fga().get_store("not-a-ulid")), ErrorCode::validation_error);
  EXPECT_EQ(code_of(fga().get_store("01ARYZ6S41TSV4RRFFQ69G5FAV")), ErrorCode::store_id_not_found);
  EXPECT_EQ(code_of(fga().list_stores(FgaPageRequest{0, "garbage"})),
            ErrorCode::invalid_continuation_token);
  EXPECT_EQ(code_of(fga().list_stores(FgaPageRequest{101, {}})), ErrorCode::page_size_invalid);
  EXPECT_EQ(code_of(fga().list_stores(FgaPageRequest{-1, {}})), ErrorCode::page_size_invalid);
}

TEST_P(FgaStoreTest, DeletedStoreIsInvisibleEverywhere) {
  write({key("document:1", "viewer", "user:anne")});
  const std::string other = new_store("other");
  clock_.advance(10);
  ASSERT_TRUE(fga().delete_store(store_id_));
  EXPECT_EQ(code_of(fga().get_store(store_id_)), ErrorCode::store_id_not_found);
  EXPECT_EQ(code_of(fga().delete_store(store_id_)), ErrorCode::store_id_not_found);
  EXPECT_EQ(code_of(fga().latest_model(store_id_)), ErrorCode::store_id_not_found);
  EXPECT_EQ(code_of(fga().read_model(store_id_, model_id_)), ErrorCode::store_id_not_found);
  EXPECT_EQ(code_of(fga().list_models(store_id_, {})), ErrorCode::store_id_not_found);
  EXPECT_EQ(code_of(fga().write_model(store_id_, model_from_dsl(kModelDsl))),
            ErrorCode::store_id_not_found);
  EXPECT_EQ(code_of(try_write({key("document:2", "viewer", "user:anne")})),
            ErrorCode::store_id_not_found);
  EXPECT_EQ(code_of(fga().read_tuples(store_id_, {}, {})), ErrorCode::store_id_not_found);
  EXPECT_EQ(code_of(fga().read_changes(store_id_, {})), ErrorCode::store_id_not_found);
  EXPECT_EQ(code_of(fga().reader(store_id_)), ErrorCode::store_id_not_found);
  auto listed = fga().list_stores({});
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->items.size(), 1U);
  EXPECT_EQ(listed->items[0].id, other);
}

// --- Models ---------------------------------------------------------------------------------

TEST_P(FgaStoreTest, ModelsRoundTripAndTheLatestIsTheNewest) {
  const fga::Model original = model_from_dsl(kModelDsl);
  auto read = fga().read_model(store_id_, model_id_);
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_EQ(read->id, model_id_);
  fga::Model without_id = *read;
  without_id.id.clear();
  // The JSON form is what is stored; it keeps everything but the order of a type's relations
  // (a JSON object), so the models are compared in that form.
  EXPECT_EQ(fga::to_json(without_id), fga::to_json(original));
  ASSERT_EQ(without_id.types.size(), 3U);
  EXPECT_NE(without_id.relation("document", "viewer"), nullptr);
  EXPECT_EQ(without_id.conditions.count("nonzero"), 1U);

  const fga::Model smaller = model_from_dsl("model\n  schema 1.1\ntype user\n");
  auto second = fga().write_model(store_id_, smaller);
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_GT(*second, model_id_);
  auto latest = fga().latest_model(store_id_);
  ASSERT_TRUE(latest) << latest.error().message;
  EXPECT_EQ(latest->id, *second);
  EXPECT_EQ(latest->types.size(), 1U);
  // The first model is still there, unchanged.
  auto first = fga().read_model(store_id_, model_id_);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->types.size(), 3U);
}

TEST_P(FgaStoreTest, ModelErrorsAreOpenFgas) {
  const std::string empty_store = new_store("no models");
  EXPECT_EQ(code_of(fga().latest_model(empty_store)),
            ErrorCode::latest_authorization_model_not_found);
  // Another store's model is not found in this one.
  EXPECT_EQ(code_of(fga().read_model(empty_store, model_id_)),
            ErrorCode::authorization_model_not_found);
  EXPECT_EQ(code_of(fga().read_model(store_id_, "01ARYZ6S41TSV4RRFFQ69G5FAV")),
            ErrorCode::authorization_model_not_found);
  EXPECT_EQ(code_of(fga().read_model(store_id_, "bad id")), ErrorCode::validation_error);
  // validate_model runs: a relation on an undefined type is refused and nothing is stored.
  fga::Model invalid = model_from_dsl(
      "model\n  schema 1.1\ntype user\ntype doc\n  relations\n    define viewer: [nosuchtype]\n");
  EXPECT_FALSE(fga().write_model(empty_store, invalid));
  EXPECT_EQ(code_of(fga().latest_model(empty_store)),
            ErrorCode::latest_authorization_model_not_found);
  // A write needs a model.
  FgaWriteRequest request;
  request.writes = {key("document:1", "viewer", "user:anne")};
  EXPECT_EQ(code_of(fga().write_tuples(empty_store, request)),
            ErrorCode::latest_authorization_model_not_found);
  request.model_id = "01ARYZ6S41TSV4RRFFQ69G5FAV";
  EXPECT_EQ(code_of(fga().write_tuples(store_id_, request)),
            ErrorCode::authorization_model_not_found);
}

TEST_P(FgaStoreTest, ModelsAreListedNewestFirstPageByPage) {
  std::vector<std::string> ids{model_id_};
  for (int i = 0; i < 4; ++i) {
    auto id = fga().write_model(store_id_, model_from_dsl(kModelDsl));
    ASSERT_TRUE(id) << id.error().message;
    ids.push_back(*id);
  }
  std::reverse(ids.begin(), ids.end());
  std::vector<std::string> listed;
  std::string token;
  int pages = 0;
  do {
    auto page = fga().list_models(store_id_, FgaPageRequest{2, token});
    ASSERT_TRUE(page) << page.error().message;
    for (const auto& m : page->items) listed.push_back(m.id);
    token = page->continuation_token;
    ++pages;
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(listed, ids);
  auto all = fga().list_models(store_id_, {});
  ASSERT_TRUE(all);
  EXPECT_EQ(all->items.size(), 5U);
  EXPECT_TRUE(all->continuation_token.empty());
  // A store's token for another listing is refused.
  new_store("second");
  auto stores = fga().list_stores(FgaPageRequest{1, {}});
  ASSERT_TRUE(stores);
  ASSERT_FALSE(stores->continuation_token.empty());
  EXPECT_EQ(code_of(fga().list_models(store_id_, FgaPageRequest{1, stores->continuation_token})),
            ErrorCode::invalid_continuation_token);
}

TEST_P(FgaStoreTest, LatestModelIdIsTheNewestModelOfALiveStore) {
  auto first = fga().latest_model_id(store_id_);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(*first, model_id_);
  auto second = fga().write_model(store_id_, model_from_dsl(kModelDsl));
  ASSERT_TRUE(second) << second.error().message;
  auto latest = fga().latest_model_id(store_id_);
  ASSERT_TRUE(latest) << latest.error().message;
  EXPECT_EQ(*latest, *second);
  auto model = fga().latest_model(store_id_);
  ASSERT_TRUE(model) << model.error().message;
  EXPECT_EQ(model->id, *second);
  // Another store's latest model is its own.
  const std::string other = new_store("other");
  EXPECT_EQ(code_of(fga().latest_model_id(other)), ErrorCode::latest_authorization_model_not_found);
  auto others = fga().write_model(other, model_from_dsl(kModelDsl));
  ASSERT_TRUE(others) << others.error().message;
  auto other_latest = fga().latest_model_id(other);
  ASSERT_TRUE(other_latest) << other_latest.error().message;
  EXPECT_EQ(*other_latest, *others);
  auto still = fga().latest_model_id(store_id_);
  ASSERT_TRUE(still) << still.error().message;
  EXPECT_EQ(*still, *second);

  EXPECT_EQ(code_of(fga().latest_model_id("01ARYZ6S41TSV4RRFFQ69G5FAV")),
            ErrorCode::store_id_not_found);
  EXPECT_EQ(code_of(fga().latest_model_id("not a ulid")), ErrorCode::validation_error);
  ASSERT_TRUE(fga().delete_store(store_id_));
  EXPECT_EQ(code_of(fga().latest_model_id(store_id_)), ErrorCode::store_id_not_found);
  EXPECT_EQ(code_of(fga().latest_model(store_id_)), ErrorCode::store_id_not_found);
}

// --- Assertions -----------------------------------------------------------------------------

FgaAssertion assertion(TupleKey tuple_key, bool expectation,
                       std::vector<TupleKey> contextual_tuples = {},
                       nlohmann::json context = nullptr) {
  return FgaAssertion{std::move(tuple_key), expectation, std::move(contextual_tuples),
                      std::move(context)};
}

// FgaAssertion has no operator==; compared field by field, contexts as JSON values.
void expect_same(const std::vector<FgaAssertion>& got, const std::vector<FgaAssertion>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    SCOPED_TRACE("assertion " + std::to_string(i));
    EXPECT_EQ(got[i].key, want[i].key);
    EXPECT_EQ(got[i].expectation, want[i].expectation);
    EXPECT_EQ(got[i].contextual_tuples, want[i].contextual_tuples);
    EXPECT_EQ(got[i].context, want[i].context);
    EXPECT_EQ(got[i].context.dump(), want[i].context.dump());
  }
}

TEST_P(FgaStoreTest, AssertionsRoundTripExactlyAndAWriteReplacesThem) {
  auto none = fga().read_assertions(store_id_, model_id_);
  ASSERT_TRUE(none) << none.error().message;
  EXPECT_TRUE(none->empty());

  const nlohmann::json context = {{"x", 3},
                                  {"ratio", 0.5},
                                  {"names", {"a", "b"}},
                                  {"nested", {{"ok", true}, {"none", nullptr}}}};
  const std::vector<FgaAssertion> written{
      assertion(key("document:1", "viewer", "user:anne"), true),
      assertion(key("document:1", "editor", "user:anne"), false,
                {key("document:1", "viewer", "user:anne", "nonzero", {{"x", 1}}),
                 key("document:1", "viewer", "group:eng#member"),
                 key("group:eng", "member", "user:bob", "nonzero", nlohmann::json::object())},
                context),
      assertion(key("document:2", "viewer", "user:*"), true, {}, nlohmann::json::object()),
      assertion(key("document:2", "viewer", "group:eng#member"), false),
  };
  ASSERT_TRUE(fga().write_assertions(store_id_, model_id_, written));
  auto read = fga().read_assertions(store_id_, model_id_);
  ASSERT_TRUE(read) << read.error().message;
  expect_same(*read, written);

  // Assertions belong to one model: another model of the store has none.
  auto second_model = fga().write_model(store_id_, model_from_dsl(kModelDsl));
  ASSERT_TRUE(second_model) << second_model.error().message;
  auto of_second = fga().read_assertions(store_id_, *second_model);
  ASSERT_TRUE(of_second) << of_second.error().message;
  EXPECT_TRUE(of_second->empty());

  // A write replaces them all; an empty write leaves none.
  const std::vector<FgaAssertion> replaced{
      assertion(key("document:9", "viewer", "user:carl"), true)};
  ASSERT_TRUE(fga().write_assertions(store_id_, model_id_, replaced));
  read = fga().read_assertions(store_id_, model_id_);
  ASSERT_TRUE(read) << read.error().message;
  expect_same(*read, replaced);
  ASSERT_TRUE(fga().write_assertions(store_id_, model_id_, {}));
  read = fga().read_assertions(store_id_, model_id_);
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_TRUE(read->empty());

  // At most kFgaMaxAssertions, and exactly that many are kept.
  std::vector<FgaAssertion> most;
  for (size_t i = 0; i < kFgaMaxAssertions; ++i) {
    most.push_back(
        assertion(key("document:" + std::to_string(i), "viewer", "user:anne"), i % 2 == 0));
  }
  ASSERT_TRUE(fga().write_assertions(store_id_, *second_model, most));
  read = fga().read_assertions(store_id_, *second_model);
  ASSERT_TRUE(read) << read.error().message;
  expect_same(*read, most);
}

TEST_P(FgaStoreTest, AssertionErrorsAreOpenFgas) {
  const std::vector<FgaAssertion> one{assertion(key("document:1", "viewer", "user:anne"), true)};
  ASSERT_TRUE(fga().write_assertions(store_id_, model_id_, one));
  const std::string missing = "01ARYZ6S41TSV4RRFFQ69G5FAV";
  auto refused = [&](const std::vector<FgaAssertion>& assertions) {
    return code_of(fga().write_assertions(store_id_, model_id_, assertions));
  };

  std::vector<FgaAssertion> too_many(kFgaMaxAssertions + 1, one.front());
  EXPECT_EQ(refused(too_many), ErrorCode::assertions_too_many_items);
  // The key is a Check's: no condition, no context.
  EXPECT_EQ(refused({assertion(key("document:1", "viewer", "user:anne", "nonzero"), true)}),
            ErrorCode::validation_error);
  EXPECT_EQ(refused({assertion(key("document:1", "viewer", "user:anne", "", {{"x", 1}}), true)}),
            ErrorCode::validation_error);
  // Keys and contextual tuples pass a written tuple's structural checks.
  EXPECT_EQ(refused({assertion(key("document1", "viewer", "user:anne"), true)}),
            ErrorCode::validation_error);
  EXPECT_EQ(refused({assertion(key("document:1", "viewer", "anne"), true)}),
            ErrorCode::validation_error);
  EXPECT_EQ(refused({assertion(key("document:1", std::string(51, 'r'), "user:anne"), true)}),
            ErrorCode::validation_error);
  EXPECT_EQ(refused({assertion(key("document:1", "viewer", "user:anne"), true,
                               {key("document:1", "viewer", "user:*#member")})}),
            ErrorCode::validation_error);
  EXPECT_EQ(refused({assertion(key("document:1", "viewer", "user:anne"), true,
                               {key("document:1", "viewer", "user:bob", "", {{"x", 1}})})}),
            ErrorCode::validation_error);
  EXPECT_EQ(refused({assertion(key("document:1", "viewer", "user:anne"), true,
                               {key("document:1", "viewer", "user:bob", "nonzero", 5)})}),
            ErrorCode::validation_error);
  std::vector<TupleKey> contextual;
  for (int i = 0; i <= 100; ++i) {
    contextual.push_back(key("document:" + std::to_string(i), "viewer", "user:bob"));
  }
  EXPECT_EQ(refused({assertion(key("document:1", "viewer", "user:anne"), true, contextual)}),
            ErrorCode::validation_error);
  // The context is null or an object, within a tuple context's limits.
  EXPECT_EQ(refused({assertion(key("document:1", "viewer", "user:anne"), true, {},
                               nlohmann::json::array({1, 2}))}),
            ErrorCode::validation_error);
  EXPECT_EQ(refused({assertion(key("document:1", "viewer", "user:anne"), true, {}, "x")}),
            ErrorCode::validation_error);
  EXPECT_EQ(refused({assertion(key("document:1", "viewer", "user:anne"), true, {},
                               {{"x", std::string(kFgaMaxContextBytes, 'a')}})}),
            ErrorCode::validation_error);

  // Ids, then the store, then the model in that store.
  EXPECT_EQ(code_of(fga().write_assertions("bad", model_id_, one)), ErrorCode::validation_error);
  EXPECT_EQ(code_of(fga().write_assertions(store_id_, "bad", one)), ErrorCode::validation_error);
  EXPECT_EQ(code_of(fga().read_assertions(store_id_, "bad")), ErrorCode::validation_error);
  EXPECT_EQ(code_of(fga().write_assertions(missing, model_id_, one)),
            ErrorCode::store_id_not_found);
  EXPECT_EQ(code_of(fga().read_assertions(missing, model_id_)), ErrorCode::store_id_not_found);
  EXPECT_EQ(code_of(fga().write_assertions(store_id_, missing, one)),
            ErrorCode::authorization_model_not_found);
  EXPECT_EQ(code_of(fga().read_assertions(store_id_, missing)),
            ErrorCode::authorization_model_not_found);
  const std::string other = new_store("other");
  EXPECT_EQ(code_of(fga().write_assertions(other, model_id_, one)),
            ErrorCode::authorization_model_not_found);
  EXPECT_EQ(code_of(fga().read_assertions(other, model_id_)),
            ErrorCode::authorization_model_not_found);

  // Nothing refused reached the store.
  auto kept = fga().read_assertions(store_id_, model_id_);
  ASSERT_TRUE(kept) << kept.error().message;
  expect_same(*kept, one);

  ASSERT_TRUE(fga().delete_store(store_id_));
  EXPECT_EQ(code_of(fga().write_assertions(store_id_, model_id_, one)),
            ErrorCode::store_id_not_found);
  EXPECT_EQ(code_of(fga().read_assertions(store_id_, model_id_)), ErrorCode::store_id_not_found);
}

// --- Writes ---------------------------------------------------------------------------------

TEST_P(FgaStoreTest, WrittenTuplesAreReadBackAndDeletesRemoveThem) {
  auto written =
      try_write({key("document:1", "viewer", "user:anne"), key("document:1", "editor", "user:bob"),
                 key("group:eng", "member", "user:anne")});
  ASSERT_TRUE(written) << written.error().message;
  EXPECT_EQ(written->model_id, model_id_);
  EXPECT_FALSE(written->consistency_token.empty());
  EXPECT_EQ(read_all(),
            (std::vector<std::string>{"document:1#editor@user:bob", "document:1#viewer@user:anne",
                                      "group:eng#member@user:anne"}));
  write({}, {key("document:1", "viewer", "user:anne", "ignored-condition")});
  EXPECT_EQ(read_all(),
            (std::vector<std::string>{"document:1#editor@user:bob", "group:eng#member@user:anne"}));
  auto records = fga().read_tuples(store_id_, {}, {});
  ASSERT_TRUE(records);
  for (const auto& r : records->items) EXPECT_EQ(r.timestamp, clock_.now());
}

TEST_P(FgaStoreTest, ExistingTupleIsAnErrorUnlessIgnoredAndIdentical) {
  write({key("document:1", "viewer", "user:anne", "nonzero", {{"x", 1}})});
  EXPECT_EQ(code_of(try_write({key("document:1", "viewer", "user:anne", "nonzero", {{"x", 1}})})),
            ErrorCode::write_failed_due_to_invalid_input);
  // The same key with another condition (or none) is a duplicate too.
  EXPECT_EQ(code_of(try_write({key("document:1", "viewer", "user:anne")})),
            ErrorCode::write_failed_due_to_invalid_input);
  auto ignored = try_write({key("document:1", "viewer", "user:anne", "nonzero", {{"x", 1}}),
                            key("document:2", "viewer", "user:anne")},
                           {}, OnDuplicate::kIgnore);
  ASSERT_TRUE(ignored) << ignored.error().message;
  // OpenFGA: ignore matches on the condition too; another context is still an error.
  EXPECT_EQ(code_of(try_write({key("document:1", "viewer", "user:anne", "nonzero", {{"x", 2}})}, {},
                              OnDuplicate::kIgnore)),
            ErrorCode::write_failed_due_to_invalid_input);
  EXPECT_EQ(
      code_of(try_write({key("document:1", "viewer", "user:anne")}, {}, OnDuplicate::kIgnore)),
      ErrorCode::write_failed_due_to_invalid_input);
  EXPECT_EQ(read_all(), (std::vector<std::string>{"document:1#viewer@user:anne",
                                                  "document:2#viewer@user:anne"}));
  // Exactly two writes reached the change log.
  EXPECT_EQ(changes().size(), 2U);
}

TEST_P(FgaStoreTest, MissingDeleteIsAnErrorUnlessIgnored) {
  write({key("document:1", "viewer", "user:anne")});
  EXPECT_EQ(code_of(try_write({}, {key("document:9", "viewer", "user:anne")})),
            ErrorCode::write_failed_due_to_invalid_input);
  auto ignored = try_write(
      {}, {key("document:9", "viewer", "user:anne"), key("document:1", "viewer", "user:anne")},
      OnDuplicate::kError, OnMissing::kIgnore);
  ASSERT_TRUE(ignored) << ignored.error().message;
  EXPECT_TRUE(read_all().empty());
  // A write that changed nothing still returns a usable token.
  auto nothing = try_write({}, {key("document:9", "viewer", "user:anne")}, OnDuplicate::kError,
                           OnMissing::kIgnore);
  ASSERT_TRUE(nothing) << nothing.error().message;
  EXPECT_EQ(nothing->consistency_token, ignored->consistency_token);
  EXPECT_TRUE(fga().read_tuples(store_id_, {}, {}, nothing->consistency_token));
}

TEST_P(FgaStoreTest, AFailingWriteChangesNothing) {
  write({key("document:1", "viewer", "user:anne"), key("document:2", "viewer", "user:anne")});
  const auto before_changes = changes().size();
  // The delete and the first write would succeed; the last write is a duplicate.
  auto failed = try_write(
      {key("document:3", "viewer", "user:carl"), key("document:1", "viewer", "user:anne")},
      {key("document:2", "viewer", "user:anne")});
  EXPECT_EQ(code_of(failed), ErrorCode::write_failed_due_to_invalid_input);
  // A missing delete after a good write fails the whole request too.
  failed = try_write({key("document:4", "viewer", "user:carl")},
                     {key("document:9", "viewer", "user:nobody")});
  EXPECT_EQ(code_of(failed), ErrorCode::write_failed_due_to_invalid_input);
  EXPECT_EQ(read_all(), (std::vector<std::string>{"document:1#viewer@user:anne",
                                                  "document:2#viewer@user:anne"}));
  EXPECT_EQ(changes().size(), before_changes);
}

TEST_P(FgaStoreTest, DuplicatesInOneRequestAreRefused) {
  EXPECT_EQ(code_of(try_write({key("document:1", "viewer", "user:anne"),
                               key("document:1", "viewer", "user:anne", "nonzero", {{"x", 1}})})),
            ErrorCode::cannot_allow_duplicate_tuples_in_one_request);
  EXPECT_EQ(code_of(try_write({key("document:1", "viewer", "user:anne")},
                              {key("document:1", "viewer", "user:anne")})),
            ErrorCode::cannot_allow_duplicate_tuples_in_one_request);
  EXPECT_EQ(
      code_of(try_write(
          {}, {key("document:1", "viewer", "user:anne"), key("document:1", "viewer", "user:anne")},
          OnDuplicate::kIgnore, OnMissing::kIgnore)),
      ErrorCode::cannot_allow_duplicate_tuples_in_one_request);
  EXPECT_TRUE(read_all().empty());
}

TEST_P(FgaStoreTest, LimitsAndMalformedTuplesAreRefused) {
  EXPECT_EQ(code_of(try_write({}, {})), ErrorCode::invalid_write_input);
  std::vector<TupleKey> many;
  many.reserve(101);
  for (int i = 0; i < 101; ++i) {
    many.push_back(key("document:" + std::to_string(i), "viewer", "user:anne"));
  }
  EXPECT_EQ(code_of(try_write(many)), ErrorCode::exceeded_entity_limit);
  std::vector<TupleKey> deletes(many.begin() + 60, many.end());
  many.resize(60);
  EXPECT_EQ(code_of(try_write(many, deletes)), ErrorCode::exceeded_entity_limit);
  many.resize(100);
  for (int i = 60; i < 100; ++i) {
    many[i] = key("document:" + std::to_string(i), "viewer", "user:anne");
  }
  EXPECT_TRUE(try_write(many));
  EXPECT_EQ(read_all(FgaReadFilter{"document:", "viewer", "user:anne"}).size(), 100U);

  const std::string long_id(256, 'x');
  EXPECT_EQ(code_of(try_write({key("document:" + long_id, "viewer", "user:anne")})),
            ErrorCode::validation_error);
  EXPECT_EQ(code_of(try_write({key("document:1", std::string(51, 'r'), "user:anne")})),
            ErrorCode::validation_error);
  EXPECT_EQ(code_of(try_write({key("document:1", "viewer", "user:" + std::string(508, 'u'))})),
            ErrorCode::validation_error);
  EXPECT_EQ(code_of(try_write({key("document1", "viewer", "user:anne")})),
            ErrorCode::invalid_tuple);
  EXPECT_EQ(code_of(try_write({key("document:1#viewer", "viewer", "user:anne")})),
            ErrorCode::invalid_tuple);
  EXPECT_EQ(code_of(try_write({key("document:1", "viewer", "anne")})), ErrorCode::invalid_tuple);
  EXPECT_EQ(code_of(try_write({key("document:1", "viewer", "user:*#member")})),
            ErrorCode::invalid_tuple);
  EXPECT_EQ(code_of(try_write({key("document:1", "viewer", "")})), ErrorCode::invalid_tuple);
  EXPECT_EQ(code_of(try_write({key("document:1", "viewer", "document:1#viewer")})),
            ErrorCode::invalid_tuple);
  EXPECT_EQ(code_of(try_write({key("document:1", "viewer", "user:anne", "", {{"x", 1}})})),
            ErrorCode::validation_error);
  EXPECT_EQ(code_of(try_write({key("document:1", "viewer", "user:anne", "nonzero", 5)})),
            ErrorCode::validation_error);
  nlohmann::json deep = 1;
  for (int i = 0; i < 40; ++i) deep = nlohmann::json{{"x", deep}};
  EXPECT_EQ(code_of(try_write({key("document:1", "viewer", "user:anne", "nonzero", deep)})),
            ErrorCode::validation_error);
  EXPECT_EQ(code_of(try_write({key("document:1", "viewer", "user:anne", "nonzero",
                                   {{"x", std::string(kFgaMaxContextBytes, 'a')}})})),
            ErrorCode::validation_error);
}

TEST_P(FgaStoreTest, TheModelValidatorSeesEveryWriteAndNoDelete) {
  write({key("document:1", "viewer", "user:anne")});
  std::vector<std::string> seen;
  FgaWriteRequest request;
  request.writes = {key("document:2", "viewer", "user:anne"), key("document:3", "owner", "user:x")};
  request.deletes = {key("document:1", "viewer", "user:anne")};
  request.validate_write = [&](const fga::Model& model,
                               const TupleKey& k) -> Result<Ok, fga::Error> {
    EXPECT_EQ(model.id, model_id_);
    seen.push_back(text(k));
    if (model.relation("document", k.relation) == nullptr) {
      return Err(fga::Error{ErrorCode::invalid_tuple, "relation not in the model"});
    }
    return Ok{};
  };
  EXPECT_EQ(code_of(fga().write_tuples(store_id_, request)), ErrorCode::invalid_tuple);
  EXPECT_EQ(seen,
            (std::vector<std::string>{"document:2#viewer@user:anne", "document:3#owner@user:x"}));
  EXPECT_EQ(read_all(), (std::vector<std::string>{"document:1#viewer@user:anne"}));
  request.writes.pop_back();
  seen.clear();
  ASSERT_TRUE(fga().write_tuples(store_id_, request));
  EXPECT_EQ(seen, (std::vector<std::string>{"document:2#viewer@user:anne"}));
  EXPECT_EQ(read_all(), (std::vector<std::string>{"document:2#viewer@user:anne"}));
}

TEST_P(FgaStoreTest, ConditionsAndContextsRoundTrip) {
  const nlohmann::json context = {{"x", 3}, {"names", {"a", "b"}}, {"nested", {{"ok", true}}}};
  write({key("document:1", "viewer", "user:anne", "nonzero", context),
         key("document:2", "viewer", "user:anne", "nonzero", nlohmann::json::object()),
         key("document:3", "viewer", "user:anne")});
  auto page = fga().read_tuples(store_id_, {}, {});
  ASSERT_TRUE(page) << page.error().message;
  ASSERT_EQ(page->items.size(), 3U);
  EXPECT_EQ(page->items[0].key, key("document:1", "viewer", "user:anne", "nonzero", context));
  // An empty context is no context.
  EXPECT_EQ(page->items[1].key, key("document:2", "viewer", "user:anne", "nonzero"));
  EXPECT_EQ(page->items[2].key, key("document:3", "viewer", "user:anne"));
  auto reader = fga().reader(store_id_);
  ASSERT_TRUE(reader);
  auto one = (*reader)->read_user_tuple("document:1", "viewer", "user:anne");
  ASSERT_TRUE(one);
  ASSERT_TRUE(one->has_value());
  EXPECT_EQ(**one, key("document:1", "viewer", "user:anne", "nonzero", context));
  auto log = changes();
  ASSERT_EQ(log.size(), 3U);
  EXPECT_EQ(log[0].key.condition, "nonzero");
  EXPECT_EQ(log[0].key.context, context);
}

// --- Read -----------------------------------------------------------------------------------

TEST_P(FgaStoreTest, ReadFiltersAsOpenFgaDoes) {
  write({key("document:1", "viewer", "user:anne"), key("document:1", "editor", "user:anne"),
         key("document:1", "viewer", "user:bob"), key("document:2", "viewer", "user:anne"),
         key("document:2", "viewer", "group:eng#member"), key("group:eng", "member", "user:anne")});
  EXPECT_EQ(read_all().size(), 6U);
  EXPECT_EQ(read_all(FgaReadFilter{"document:1", "", ""}),
            (std::vector<std::string>{"document:1#editor@user:anne", "document:1#viewer@user:anne",
                                      "document:1#viewer@user:bob"}));
  EXPECT_EQ(
      read_all(FgaReadFilter{"document:1", "viewer", ""}),
      (std::vector<std::string>{"document:1#viewer@user:anne", "document:1#viewer@user:bob"}));
  EXPECT_EQ(read_all(FgaReadFilter{"document:1", "viewer", "user:bob"}),
            (std::vector<std::string>{"document:1#viewer@user:bob"}));
  EXPECT_EQ(read_all(FgaReadFilter{"document:", "", "user:anne"}),
            (std::vector<std::string>{"document:1#editor@user:anne", "document:1#viewer@user:anne",
                                      "document:2#viewer@user:anne"}));
  EXPECT_EQ(read_all(FgaReadFilter{"document:", "viewer", "group:eng#member"}),
            (std::vector<std::string>{"document:2#viewer@group:eng#member"}));
  EXPECT_TRUE(read_all(FgaReadFilter{"document:3", "", ""}).empty());
  EXPECT_EQ(code_of(fga().read_tuples(store_id_, FgaReadFilter{"document:", "viewer", ""}, {})),
            ErrorCode::validation_error);
  EXPECT_EQ(code_of(fga().read_tuples(store_id_, FgaReadFilter{"", "viewer", "user:anne"}, {})),
            ErrorCode::validation_error);
  EXPECT_EQ(code_of(fga().read_tuples(store_id_, FgaReadFilter{"document:1", "", "anne"}, {})),
            ErrorCode::validation_error);
}

TEST_P(FgaStoreTest, ReadPaginatesInWriteOrder) {
  std::vector<std::string> written;
  for (int i = 0; i < 7; ++i) {
    const TupleKey k = key("document:" + std::to_string(i), "viewer", "user:anne");
    write({k});
    written.push_back(text(k));
  }
  std::vector<std::string> read;
  std::string token;
  std::vector<size_t> sizes;
  do {
    auto page = fga().read_tuples(store_id_, {}, FgaPageRequest{3, token});
    ASSERT_TRUE(page) << page.error().message;
    sizes.push_back(page->items.size());
    for (const auto& r : page->items) read.push_back(text(r.key));
    token = page->continuation_token;
  } while (!token.empty() && sizes.size() < 10);
  EXPECT_EQ(sizes, (std::vector<size_t>{3, 3, 1}));
  EXPECT_EQ(read, written);
  // Filtered reads paginate too.
  auto filtered = fga().read_tuples(store_id_, FgaReadFilter{"document:", "", "user:anne"},
                                    FgaPageRequest{5, {}});
  ASSERT_TRUE(filtered);
  EXPECT_EQ(filtered->items.size(), 5U);
  auto rest = fga().read_tuples(store_id_, FgaReadFilter{"document:", "", "user:anne"},
                                FgaPageRequest{5, filtered->continuation_token});
  ASSERT_TRUE(rest);
  EXPECT_EQ(rest->items.size(), 2U);
  EXPECT_TRUE(rest->continuation_token.empty());
  EXPECT_EQ(code_of(fga().read_tuples(store_id_, {}, FgaPageRequest{3, "bm90IGEgdG9rZW4"})),
            ErrorCode::invalid_continuation_token);
  EXPECT_EQ(code_of(fga().read_tuples(store_id_, {}, FgaPageRequest{0, "***"})),
            ErrorCode::invalid_continuation_token);
  EXPECT_EQ(code_of(fga().read_tuples(store_id_, {}, FgaPageRequest{101, {}})),
            ErrorCode::page_size_invalid);
}

// Reads every page of `filter` with `page_size`; records a failure when a page fails or the
// pages do not end.
std::vector<std::string> read_pages(FgaStore& fga, const std::string& store_id,
                                    const FgaReadFilter& filter, int page_size) {
  std::vector<std::string> out;
  std::string token;
  for (int pages = 0; pages < 100; ++pages) {
    auto page = fga.read_tuples(store_id, filter, FgaPageRequest{page_size, token});
    if (!page) {
      ADD_FAILURE() << page.error().message;
      return out;
    }
    EXPECT_LE(page->items.size(), static_cast<size_t>(page_size));
    for (const auto& r : page->items) out.push_back(text(r.key));
    if (page->continuation_token.empty()) return out;
    token = page->continuation_token;
  }
  ADD_FAILURE() << "the pages do not end";
  return out;
}

// Each filtered form pages in the order of its index (see read_tuples): the columns the filter
// leaves open, compared as strings. Lower-case names sort alike on both backends.
TEST_P(FgaStoreTest, FilteredReadsPageInTheirIndexOrder) {
  std::vector<TupleKey> tuples;
  for (const char* object : {"document:b", "document:a", "document:c"}) {
    for (const char* relation : {"viewer", "editor"}) {
      for (const char* user : {"user:zed", "user:anne", "group:eng#member", "user:*"}) {
        if (std::string(relation) == "editor" && std::string(user) != "user:anne") continue;
        tuples.push_back(key(object, relation, user));
      }
    }
  }
  tuples.push_back(key("group:eng", "member", "user:anne"));
  std::reverse(tuples.begin(), tuples.end());  // write order differs from every index order
  write(tuples);

  struct Case {
    FgaReadFilter filter;
    std::vector<std::string> expected;
  };
  const std::vector<Case> cases{
      // The object's tuples by (relation, user_type, user_id, user_relation).
      {{"document:b", "", ""},
       {"document:b#editor@user:anne", "document:b#viewer@group:eng#member",
        "document:b#viewer@user:*", "document:b#viewer@user:anne", "document:b#viewer@user:zed"}},
      {{"document:a", "viewer", ""},
       {"document:a#viewer@group:eng#member", "document:a#viewer@user:*",
        "document:a#viewer@user:anne", "document:a#viewer@user:zed"}},
      {{"document:c", "", "user:anne"},
       {"document:c#editor@user:anne", "document:c#viewer@user:anne"}},
      {{"document:c", "viewer", "user:zed"}, {"document:c#viewer@user:zed"}},
      // A type and a user: by (relation, object_id).
      {{"document:", "", "user:anne"},
       {"document:a#editor@user:anne", "document:b#editor@user:anne", "document:c#editor@user:anne",
        "document:a#viewer@user:anne", "document:b#viewer@user:anne",
        "document:c#viewer@user:anne"}},
      {{"document:", "viewer", "group:eng#member"},
       {"document:a#viewer@group:eng#member", "document:b#viewer@group:eng#member",
        "document:c#viewer@group:eng#member"}},
      {{"document:", "viewer", "user:*"},
       {"document:a#viewer@user:*", "document:b#viewer@user:*", "document:c#viewer@user:*"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.filter.object + " " + c.filter.relation + " " + c.filter.user);
    for (int page_size : {1, 2, 3, kFgaMaxPageSize}) {
      EXPECT_EQ(read_pages(fga(), store_id_, c.filter, page_size), c.expected) << page_size;
    }
  }
  // The unfiltered read keeps write order, page by page.
  std::vector<std::string> in_write_order;
  in_write_order.reserve(tuples.size());
  for (const TupleKey& k : tuples) in_write_order.push_back(text(k));
  EXPECT_EQ(read_pages(fga(), store_id_, {}, 4), in_write_order);
}

TEST_P(FgaStoreTest, ReadTokensAreStableAndBelongToTheirForm) {
  write({key("document:1", "viewer", "user:b"), key("document:1", "viewer", "user:d"),
         key("document:1", "viewer", "user:f"), key("document:2", "viewer", "user:a"),
         key("document:3", "viewer", "user:a")});
  const FgaReadFilter by_object{"document:1", "viewer", ""};
  auto first = fga().read_tuples(store_id_, by_object, FgaPageRequest{1, {}});
  ASSERT_TRUE(first) << first.error().message;
  ASSERT_EQ(texts(first->items), (std::vector<std::string>{"document:1#viewer@user:b"}));
  const std::string token = first->continuation_token;
  ASSERT_FALSE(token.empty());
  // The same token reads the same page again.
  for (int i = 0; i < 2; ++i) {
    auto again = fga().read_tuples(store_id_, by_object, FgaPageRequest{1, token});
    ASSERT_TRUE(again) << again.error().message;
    EXPECT_EQ(texts(again->items), (std::vector<std::string>{"document:1#viewer@user:d"}));
  }
  // Changes between pages: a tuple written before the position is not read, one after it is;
  // deleted tuples are gone; every tuple after the position that stays is read once.
  write({key("document:1", "viewer", "user:a"), key("document:1", "viewer", "user:e")},
        {key("document:1", "viewer", "user:b"), key("document:1", "viewer", "user:d")});
  std::vector<std::string> rest;
  std::string next = token;
  do {
    auto page = fga().read_tuples(store_id_, by_object, FgaPageRequest{1, next});
    ASSERT_TRUE(page) << page.error().message;
    for (const auto& r : page->items) rest.push_back(text(r.key));
    next = page->continuation_token;
  } while (!next.empty() && rest.size() < 10);
  EXPECT_EQ(rest,
            (std::vector<std::string>{"document:1#viewer@user:e", "document:1#viewer@user:f"}));

  // A token of one form of filter is refused by another.
  const FgaReadFilter by_user{"document:", "viewer", "user:a"};
  auto users = fga().read_tuples(store_id_, by_user, FgaPageRequest{1, {}});
  ASSERT_TRUE(users) << users.error().message;
  ASSERT_FALSE(users->continuation_token.empty());
  auto everything = fga().read_tuples(store_id_, {}, FgaPageRequest{1, {}});
  ASSERT_TRUE(everything) << everything.error().message;
  ASSERT_FALSE(everything->continuation_token.empty());
  EXPECT_EQ(code_of(fga().read_tuples(store_id_, by_user, FgaPageRequest{1, token})),
            ErrorCode::invalid_continuation_token);
  EXPECT_EQ(code_of(fga().read_tuples(store_id_, {}, FgaPageRequest{1, token})),
            ErrorCode::invalid_continuation_token);
  EXPECT_EQ(code_of(fga().read_tuples(store_id_, by_object,
                                      FgaPageRequest{1, users->continuation_token})),
            ErrorCode::invalid_continuation_token);
  EXPECT_EQ(code_of(fga().read_tuples(store_id_, by_object,
                                      FgaPageRequest{1, everything->continuation_token})),
            ErrorCode::invalid_continuation_token);
  // Nor does a token fit a filter of the same form that leaves other columns open.
  EXPECT_EQ(code_of(fga().read_tuples(store_id_, FgaReadFilter{"document:1", "", ""},
                                      FgaPageRequest{1, token})),
            ErrorCode::invalid_continuation_token);
  EXPECT_EQ(code_of(fga().read_tuples(store_id_, FgaReadFilter{"document:1", "viewer", "user:a"},
                                      FgaPageRequest{1, token})),
            ErrorCode::invalid_continuation_token);
  // Malformed positions.
  for (const std::string& bad :
       {base64url::encode("to:"), base64url::encode("to:9:user"), base64url::encode("to:x:user"),
        base64url::encode("to:4:user1:d0:0:"), base64url::encode("tu:1:a"),
        base64url::encode("t:not-a-ulid")}) {
    EXPECT_EQ(code_of(fga().read_tuples(store_id_, by_object, FgaPageRequest{1, bad})),
              ErrorCode::invalid_continuation_token)
        << bad;
  }
  // A well-formed position of this form is accepted and reads after it.
  auto crafted = fga().read_tuples(store_id_, by_object,
                                   FgaPageRequest{1, base64url::encode("to:4:user1:d0:")});
  ASSERT_TRUE(crafted) << crafted.error().message;
  EXPECT_EQ(texts(crafted->items), (std::vector<std::string>{"document:1#viewer@user:e"}));
}

// --- The change log -------------------------------------------------------------------------

TEST_P(FgaStoreTest, ChangesComeInOrderWithTypeFilterAndPolling) {
  write({key("document:1", "viewer", "user:anne"), key("group:eng", "member", "user:anne")});
  clock_.advance(60);
  write({key("document:2", "viewer", "user:bob")}, {key("document:1", "viewer", "user:anne")});
  auto all = changes();
  ASSERT_EQ(all.size(), 4U);
  EXPECT_EQ(text(all[0].key), "document:1#viewer@user:anne");
  EXPECT_EQ(all[0].operation, FgaOperation::kWrite);
  EXPECT_EQ(text(all[1].key), "group:eng#member@user:anne");
  EXPECT_EQ(text(all[2].key), "document:1#viewer@user:anne");  // deletes come first in a write
  EXPECT_EQ(all[2].operation, FgaOperation::kDelete);
  EXPECT_EQ(text(all[3].key), "document:2#viewer@user:bob");
  EXPECT_EQ(all[3].timestamp, all[0].timestamp + 60);

  auto documents = changes(FgaChangesRequest{"document", std::nullopt, 0, {}});
  ASSERT_EQ(documents.size(), 3U);
  for (const auto& c : documents) EXPECT_EQ(c.key.object.rfind("document:", 0), 0U);

  auto since = changes(FgaChangesRequest{"", all[3].timestamp, 0, {}});
  EXPECT_EQ(since.size(), 2U);

  // Page by page; the last page's token is kept, and polling with it finds only what is new.
  auto first = fga().read_changes(store_id_, FgaChangesRequest{"document", std::nullopt, 2, {}});
  ASSERT_TRUE(first) << first.error().message;
  ASSERT_EQ(first->items.size(), 2U);
  auto second = fga().read_changes(
      store_id_, FgaChangesRequest{"document", std::nullopt, 2, first->continuation_token});
  ASSERT_TRUE(second);
  ASSERT_EQ(second->items.size(), 1U);
  EXPECT_EQ(text(second->items[0].key), "document:2#viewer@user:bob");
  ASSERT_FALSE(second->continuation_token.empty());
  auto nothing = fga().read_changes(
      store_id_, FgaChangesRequest{"document", std::nullopt, 2, second->continuation_token});
  ASSERT_TRUE(nothing);
  EXPECT_TRUE(nothing->items.empty());
  EXPECT_EQ(nothing->continuation_token, second->continuation_token);
  write({key("document:3", "viewer", "user:carl")});
  auto polled = fga().read_changes(
      store_id_, FgaChangesRequest{"document", std::nullopt, 2, nothing->continuation_token});
  ASSERT_TRUE(polled);
  ASSERT_EQ(polled->items.size(), 1U);
  EXPECT_EQ(text(polled->items[0].key), "document:3#viewer@user:carl");

  EXPECT_EQ(code_of(fga().read_changes(
                store_id_, FgaChangesRequest{"group", std::nullopt, 2, first->continuation_token})),
            ErrorCode::query_string_type_continuation_token_mismatch);
  EXPECT_EQ(code_of(fga().read_changes(store_id_, FgaChangesRequest{"", std::nullopt, 2, "xyz"})),
            ErrorCode::invalid_continuation_token);
  EXPECT_EQ(code_of(fga().read_changes(store_id_, FgaChangesRequest{"", std::nullopt, 200, {}})),
            ErrorCode::page_size_invalid);
}

// --- Consistency tokens ---------------------------------------------------------------------

TEST_P(FgaStoreTest, ConsistencyTokensAreCheckedAgainstTheStore) {
  const std::string token = write({key("document:1", "viewer", "user:anne")});
  ASSERT_FALSE(token.empty());
  auto read = fga().read_tuples(store_id_, {}, {}, token);
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_EQ(read->items.size(), 1U);
  EXPECT_TRUE(fga().reader(store_id_, token));
  // Still valid after the tuple it wrote is deleted: the change is in the log.
  const std::string later = write({}, {key("document:1", "viewer", "user:anne")});
  EXPECT_NE(later, token);
  EXPECT_TRUE(fga().reader(store_id_, token));

  const std::string other = new_store("other");
  ASSERT_TRUE(fga().write_model(other, model_from_dsl(kModelDsl)));
  EXPECT_EQ(code_of(fga().reader(other, token)), ErrorCode::validation_error);
  EXPECT_EQ(code_of(fga().read_tuples(other, {}, {}, token)), ErrorCode::validation_error);
  EXPECT_EQ(code_of(fga().reader(store_id_, "garbage")), ErrorCode::validation_error);
  // A token of the right shape naming a change that does not exist; a listing's token.
  EXPECT_EQ(code_of(fga().reader(store_id_, base64url::encode("c:01ARYZ6S41TSV4RRFFQ69G5FAV"))),
            ErrorCode::validation_error);
  auto pages = fga().list_stores(FgaPageRequest{1, {}});
  ASSERT_TRUE(pages);
  EXPECT_EQ(code_of(fga().reader(store_id_, pages->continuation_token)),
            ErrorCode::validation_error);
}

// --- The TupleReader ------------------------------------------------------------------------

TEST_P(FgaStoreTest, ReaderAnswersEachQueryPathExactly) {
  write({key("document:1", "viewer", "user:anne"), key("document:1", "viewer", "user:*"),
         key("document:1", "viewer", "group:eng#member"),
         key("document:1", "viewer", "user:bob", "nonzero", {{"x", 1}}),
         key("document:1", "editor", "user:anne"), key("document:2", "viewer", "user:anne"),
         key("document:2", "viewer", "group:ops#member"), key("group:eng", "member", "user:anne"),
         key("group:eng", "member", "group:ops#member")});
  auto opened = fga().reader(store_id_);
  ASSERT_TRUE(opened) << opened.error().message;
  fga::TupleReader& reader = **opened;

  auto viewers = reader.read("document:1", "viewer");
  ASSERT_TRUE(viewers);
  EXPECT_EQ(texts(*viewers), (std::vector<std::string>{
                                 "document:1#viewer@group:eng#member", "document:1#viewer@user:*",
                                 "document:1#viewer@user:anne", "document:1#viewer@user:bob"}));
  auto none = reader.read("document:3", "viewer");
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  auto malformed = reader.read("document", "viewer");
  ASSERT_TRUE(malformed);
  EXPECT_TRUE(malformed->empty());

  auto anne = reader.read_user_tuple("document:1", "viewer", "user:anne");
  ASSERT_TRUE(anne);
  ASSERT_TRUE(anne->has_value());
  EXPECT_EQ(**anne, key("document:1", "viewer", "user:anne"));
  auto bob = reader.read_user_tuple("document:1", "viewer", "user:bob");
  ASSERT_TRUE(bob && bob->has_value());
  EXPECT_EQ((*bob)->condition, "nonzero");
  auto carl = reader.read_user_tuple("document:1", "viewer", "user:carl");
  ASSERT_TRUE(carl);
  EXPECT_FALSE(carl->has_value());
  auto wrong_relation = reader.read_user_tuple("document:2", "editor", "user:anne");
  ASSERT_TRUE(wrong_relation);
  EXPECT_FALSE(wrong_relation->has_value());
  auto userset = reader.read_user_tuple("document:1", "viewer", "group:eng#member");
  ASSERT_TRUE(userset && userset->has_value());

  auto usersets = reader.read_userset_tuples("document:1", "viewer");
  ASSERT_TRUE(usersets);
  EXPECT_EQ(texts(*usersets), (std::vector<std::string>{"document:1#viewer@group:eng#member",
                                                        "document:1#viewer@user:*"}));
  auto no_usersets = reader.read_userset_tuples("document:1", "editor");
  ASSERT_TRUE(no_usersets);
  EXPECT_TRUE(no_usersets->empty());

  auto reverse = reader.read_starting_with_user(
      "document", "viewer", {"user:anne", "user:*", "group:ops#member", "user:anne", "bad"});
  ASSERT_TRUE(reverse);
  EXPECT_EQ(texts(*reverse),
            (std::vector<std::string>{"document:1#viewer@user:*", "document:1#viewer@user:anne",
                                      "document:2#viewer@group:ops#member",
                                      "document:2#viewer@user:anne"}));
  auto groups = reader.read_starting_with_user("group", "member", {"group:ops#member"});
  ASSERT_TRUE(groups);
  EXPECT_EQ(texts(*groups), (std::vector<std::string>{"group:eng#member@group:ops#member"}));
  auto no_users = reader.read_starting_with_user("document", "viewer", {});
  ASSERT_TRUE(no_users);
  EXPECT_TRUE(no_users->empty());

  // A reader answers from one snapshot (one read transaction): a write committed while it is
  // in use is not seen by it, so one Check never mixes two states of the store; the next
  // reader (the next request) sees the write.
  write({key("document:3", "viewer", "user:anne")});
  auto during = reader.read_starting_with_user("document", "viewer", {"user:anne"});
  ASSERT_TRUE(during);
  EXPECT_EQ(during->size(), 2U);
  auto next = fga().reader(store_id_);
  ASSERT_TRUE(next) << next.error().message;
  auto after = (*next)->read_starting_with_user("document", "viewer", {"user:anne"});
  ASSERT_TRUE(after);
  EXPECT_EQ(after->size(), 3U);
}

// DeleteStore only marks a store; purge removes the deleted ones past an age, with everything in
// them, and never a live store.
TEST_P(FgaStoreTest, PurgeRemovesDeletedStoresPastTheirAgeAndNothingElse) {
  write({key("document:1", "viewer", "user:anne")});
  const std::string old_store = new_store("old one");
  ASSERT_TRUE(fga().write_model(old_store, model_from_dsl(kModelDsl)));
  write({key("document:2", "viewer", "user:bob")}, {}, old_store);
  const std::string recent = new_store("recent one");
  ASSERT_TRUE(fga().delete_store(old_store));
  clock_.advance(3600);
  ASSERT_TRUE(fga().delete_store(recent));
  // Deleted an hour ago and just now: a purge of those older than 10 minutes takes only one.
  auto purged = fga().purge_deleted_stores(clock_.now() - 600);
  ASSERT_TRUE(purged) << purged.error().message;
  EXPECT_EQ(*purged, 1U);
  auto rows = store_->database().query(
      "SELECT (SELECT COUNT(*) FROM fga_tuples WHERE store_id = ?) +"
      " (SELECT COUNT(*) FROM fga_changes WHERE store_id = ?) +"
      " (SELECT COUNT(*) FROM fga_models WHERE store_id = ?) +"
      " (SELECT COUNT(*) FROM fga_stores WHERE id = ?)",
      {old_store, old_store, old_store, old_store});
  ASSERT_TRUE(rows) << rows.error().message;
  EXPECT_EQ(rows->front().integer(0), 0);
  auto kept = store_->database().query("SELECT COUNT(*) FROM fga_stores WHERE id = ?", {recent});
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->front().integer(0), 1);
  // The live store and its tuples are untouched; a second purge finds nothing older.
  auto reader = fga().reader(store_id_);
  ASSERT_TRUE(reader);
  auto viewers = (*reader)->read("document:1", "viewer");
  ASSERT_TRUE(viewers);
  EXPECT_EQ(viewers->size(), 1U);
  auto again = fga().purge_deleted_stores(clock_.now() - 600);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, 0U);
  // Everything deleted: the recent one goes too, the live one stays.
  auto all = fga().purge_deleted_stores(clock_.now() + 1);
  ASSERT_TRUE(all);
  EXPECT_EQ(*all, 1U);
  EXPECT_TRUE(fga().get_store(store_id_));
}

// The revision names a state of the store (the tuple cache keys on it): equal for two readers
// while nothing is written, different after any tuple write.
TEST_P(FgaStoreTest, EveryTupleWriteMovesTheStoresRevision) {
  auto revision_now = [&] {
    auto reader = fga().reader(store_id_);
    EXPECT_TRUE(reader);
    auto revision = (*reader)->revision();
    EXPECT_TRUE(revision);
    EXPECT_TRUE(revision->has_value());
    return revision->value_or("");
  };
  const std::string first = revision_now();
  EXPECT_EQ(revision_now(), first);
  write({key("document:1", "viewer", "user:anne")});
  const std::string second = revision_now();
  EXPECT_NE(second, first);
  EXPECT_EQ(revision_now(), second);
  store::FgaWriteRequest remove;
  remove.deletes.push_back(key("document:1", "viewer", "user:anne"));
  ASSERT_TRUE(fga().write_tuples(store_id_, remove));
  EXPECT_NE(revision_now(), second);
}

TEST_P(FgaStoreTest, ReaderOfALiveStoreChecksTheTokenButDoesNotLookTheStoreUp) {
  const std::string token = write({key("document:1", "viewer", "user:anne")});
  auto opened = fga().reader_of_live_store(store_id_, token);
  ASSERT_TRUE(opened) << opened.error().message;
  auto viewers = (*opened)->read("document:1", "viewer");
  ASSERT_TRUE(viewers) << viewers.error().message;
  EXPECT_EQ(texts(*viewers), (std::vector<std::string>{"document:1#viewer@user:anne"}));
  EXPECT_TRUE(fga().reader_of_live_store(store_id_));

  // The token is checked as reader() checks it.
  const std::string other = new_store("other");
  EXPECT_EQ(code_of(fga().reader_of_live_store(other, token)), ErrorCode::validation_error);
  EXPECT_EQ(code_of(fga().reader_of_live_store(store_id_, "garbage")), ErrorCode::validation_error);
  EXPECT_EQ(code_of(fga().reader_of_live_store(store_id_,
                                               base64url::encode("c:01ARYZ6S41TSV4RRFFQ69G5FAV"))),
            ErrorCode::validation_error);
  EXPECT_EQ(code_of(fga().reader_of_live_store("not a ulid")), ErrorCode::validation_error);

  // The store is the caller's to have checked: unlike reader(), a deleted one is not looked up.
  ASSERT_TRUE(fga().delete_store(store_id_));
  EXPECT_EQ(code_of(fga().reader(store_id_)), ErrorCode::store_id_not_found);
  auto dead = fga().reader_of_live_store(store_id_);
  ASSERT_TRUE(dead);
  // Its revision() is the look-up: a deleted store has none.
  EXPECT_EQ(code_of((*dead)->revision()), ErrorCode::store_id_not_found);
}

// What a replica of the store (fga/tuple_index.h) is built and kept in step from: every tuple in
// one snapshot, past one page of the keyset scan, and the change log after a revision, in the
// order the changes were made (a request's deletes before its writes), as of the reader's
// snapshot.
TEST_P(FgaStoreTest, AReaderScansEveryTupleAndListsTheChangesAfterARevision) {
  constexpr size_t kTuples = 10'010;  // the scan pages by 10,000
  std::vector<TupleKey> batch;
  for (size_t i = 0; i < kTuples; ++i) {
    batch.push_back(
        key("document:" + std::to_string(i / 3), "viewer", "user:" + std::to_string(i)));
    if (batch.size() == kFgaMaxTuplesPerWrite || i + 1 == kTuples) {
      write(batch);
      batch.clear();
    }
  }
  auto before = fga().reader(store_id_);
  ASSERT_TRUE(before);
  auto revision = (*before)->revision();
  ASSERT_TRUE(revision && *revision);
  const int64_t at = std::stoll(**revision);
  std::set<std::string> scanned;
  auto scan = (*before)->scan([&](TupleKey k) {
    scanned.insert(text(k));
    return true;
  });
  ASSERT_TRUE(scan && *scan);
  EXPECT_EQ(scanned.size(), kTuples);
  EXPECT_TRUE(scanned.contains("document:0#viewer@user:0"));
  EXPECT_TRUE(scanned.contains("document:3336#viewer@user:10009"));
  // A scan stops when told to.
  size_t seen = 0;
  ASSERT_TRUE((*before)->scan([&](TupleKey) { return ++seen < 5; }));
  EXPECT_EQ(seen, 5u);

  write({key("folder:x", "viewer", "user:anne", "nonzero", {{"x", 1}})});
  write({key("folder:y", "viewer", "user:bob")}, {key("folder:x", "viewer", "user:anne")});
  auto after = fga().reader(store_id_);
  ASSERT_TRUE(after);
  auto changes = (*after)->changes_after(at, 100);
  ASSERT_TRUE(changes && *changes);
  ASSERT_EQ((*changes)->size(), 3u);
  EXPECT_EQ(text((**changes)[0].key), "folder:x#viewer@user:anne");
  EXPECT_FALSE((**changes)[0].deleted);
  EXPECT_EQ((**changes)[0].key.condition, "nonzero");
  EXPECT_EQ((**changes)[0].key.context, nlohmann::json({{"x", 1}}));
  EXPECT_EQ(text((**changes)[1].key), "folder:x#viewer@user:anne");
  EXPECT_TRUE((**changes)[1].deleted);
  EXPECT_EQ(text((**changes)[2].key), "folder:y#viewer@user:bob");
  EXPECT_FALSE((**changes)[2].deleted);
  auto later = (*after)->changes_after(at + 1, 100);
  ASSERT_TRUE(later && *later);
  EXPECT_EQ((*later)->size(), 2u);
  // More than the caller takes: nullopt (the replica rebuilds instead).
  auto too_many = (*after)->changes_after(at, 2);
  ASSERT_TRUE(too_many);
  EXPECT_FALSE(*too_many);
  // The first reader's snapshot predates both writes.
  auto none = (*before)->changes_after(at, 100);
  ASSERT_TRUE(none && *none);
  EXPECT_TRUE((*none)->empty());
}

TEST_P(FgaStoreTest, StoresAreIsolated) {
  const std::string other = new_store("other");
  ASSERT_TRUE(fga().write_model(other, model_from_dsl(kModelDsl)));
  write({key("document:1", "viewer", "user:anne")});
  write({key("document:1", "viewer", "user:anne"), key("document:1", "viewer", "user:bob")}, {},
        other);
  EXPECT_EQ(read_all().size(), 1U);
  EXPECT_EQ(read_all({}, other).size(), 2U);
  write({}, {key("document:1", "viewer", "user:anne")}, other);
  EXPECT_EQ(read_all(), (std::vector<std::string>{"document:1#viewer@user:anne"}));
  auto reader = fga().reader(store_id_);
  ASSERT_TRUE(reader);
  auto viewers = (*reader)->read("document:1", "viewer");
  ASSERT_TRUE(viewers);
  EXPECT_EQ(viewers->size(), 1U);
  auto reverse = (*reader)->read_starting_with_user("document", "viewer", {"user:bob"});
  ASSERT_TRUE(reverse);
  EXPECT_TRUE(reverse->empty());
  EXPECT_EQ(changes().size(), 1U);
  auto other_changes = fga().read_changes(other, {});
  ASSERT_TRUE(other_changes);
  EXPECT_EQ(other_changes->items.size(), 3U);
  // Models too: the other store's latest model is its own.
  auto latest = fga().latest_model(other);
  ASSERT_TRUE(latest);
  EXPECT_NE(latest->id, model_id_);
}

TEST_P(FgaStoreTest, ConcurrentWritesOfOneTupleHaveOneWinner) {
  constexpr int kThreads = 6;
  std::atomic<int> succeeded{0};
  std::atomic<int> refused{0};
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      FgaWriteRequest request;
      request.writes = {key("document:race", "viewer", "user:anne")};
      auto written = fga().write_tuples(store_id_, request);
      if (written) {
        ++succeeded;
      } else if (written.error().code == ErrorCode::write_failed_due_to_invalid_input) {
        ++refused;
      } else {
        ADD_FAILURE() << written.error().message;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(succeeded.load(), 1);
  EXPECT_EQ(refused.load(), kThreads - 1);
  EXPECT_EQ(changes().size(), 1U);
}

TESSERA_ON_BOTH_BACKENDS(FgaStoreTest);

}  // namespace
}  // namespace tessera::store::testing
