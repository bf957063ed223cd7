// The relationship engine: Check, BatchCheck, ListObjects, ListUsers, Expand and the in-memory
// readers, over models built in code (the DSL has its own tests).
#include "fga/engine.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "core/worker_pool.h"
#include "counting_reader.h"
#include "fga/memory_reader.h"

namespace tessera::fga {
namespace {

using test_support::CountingReader;

// --- a tiny model builder -------------------------------------------------------------------

Rewrite self() { return Rewrite{}; }
Rewrite computed(std::string relation) {
  Rewrite r;
  r.kind = Rewrite::Kind::Computed;
  r.relation = std::move(relation);
  return r;
}
Rewrite from(std::string relation, std::string tupleset) {
  Rewrite r;
  r.kind = Rewrite::Kind::TupleToUserset;
  r.relation = std::move(relation);
  r.tupleset = std::move(tupleset);
  return r;
}
Rewrite any_of(std::vector<Rewrite> children) {
  Rewrite r;
  r.kind = Rewrite::Kind::Union;
  r.children = std::move(children);
  return r;
}
Rewrite all_of(std::vector<Rewrite> children) {
  Rewrite r;
  r.kind = Rewrite::Kind::Intersection;
  r.children = std::move(children);
  return r;
}
Rewrite but_not(Rewrite base, Rewrite subtract) {
  Rewrite r;
  r.kind = Rewrite::Kind::Difference;
  r.children = {std::move(base), std::move(subtract)};
  return r;
}
RelationReference ref(std::string type, std::string relation = "") {
  return RelationReference{std::move(type), std::move(relation), false, ""};
}
RelationReference wildcard(std::string type) {
  return RelationReference{std::move(type), "", true, ""};
}
RelationReference with(std::string type, std::string condition) {
  return RelationReference{std::move(type), "", false, std::move(condition)};
}
Relation rel(std::string name, Rewrite rewrite, std::vector<RelationReference> direct = {}) {
  return Relation{std::move(name), std::move(rewrite), std::move(direct)};
}
TypeDefinition type(std::string name, std::vector<Relation> relations = {}) {
  return TypeDefinition{std::move(name), std::move(relations)};
}
TupleKey tk(std::string object, std::string relation, std::string user) {
  return TupleKey{std::move(object), std::move(relation), std::move(user), "", nullptr};
}

// user; group(member: [user, group#member]); folder(owner: [user], viewer: [user, user:*] or
// owner, parent: [folder]); document(parent: [folder], owner: [user], editor: [user,
// group#member] or owner, viewer: [user, user:*, group#member] or editor or viewer from
// parent, blocked: [user], can_view: viewer but not blocked, approved: [user], can_publish:
// editor and approved).
Model documents_model() {
  Model m;
  m.types.push_back(type("user"));
  m.types.push_back(type("group", {rel("member", self(), {ref("user"), ref("group", "member")})}));
  m.types.push_back(
      type("folder", {rel("owner", self(), {ref("user")}),
                      rel("viewer", any_of({self(), computed("owner"), from("viewer", "parent")}),
                          {ref("user"), wildcard("user")}),
                      rel("parent", self(), {ref("folder")})}));
  m.types.push_back(type(
      "document",
      {rel("parent", self(), {ref("folder")}), rel("owner", self(), {ref("user")}),
       rel("editor", any_of({self(), computed("owner")}), {ref("user"), ref("group", "member")}),
       rel("viewer", any_of({self(), computed("editor"), from("viewer", "parent")}),
           {ref("user"), wildcard("user"), ref("group", "member")}),
       rel("blocked", self(), {ref("user")}),
       rel("can_view", but_not(computed("viewer"), computed("blocked"))),
       rel("approved", self(), {ref("user")}),
       rel("can_publish", all_of({computed("editor"), computed("approved")}))}));
  return m;
}

Engine make_engine(Model m, EngineOptions options = {}) {
  auto engine = Engine::create(std::move(m), options);
  EXPECT_TRUE(engine.ok()) << (engine.ok() ? "" : engine.error().message);
  return std::move(engine).value();
}

class EngineTest : public ::testing::Test {
 protected:
  EngineTest() : engine_(make_engine(documents_model())) {
    store_.write(tk("document:1", "owner", "user:anne"));
    store_.write(tk("document:1", "viewer", "group:eng#member"));
    store_.write(tk("group:eng", "member", "user:bob"));
    store_.write(tk("group:eng", "member", "group:backend#member"));
    store_.write(tk("group:backend", "member", "user:carl"));
    store_.write(tk("document:2", "parent", "folder:x"));
    store_.write(tk("folder:x", "parent", "folder:root"));
    store_.write(tk("folder:root", "owner", "user:dana"));
    store_.write(tk("document:3", "viewer", "user:*"));
    store_.write(tk("document:1", "blocked", "user:bob"));
    store_.write(tk("document:1", "approved", "user:anne"));
  }

  bool allowed(const std::string& object, const std::string& relation, const std::string& user,
               std::vector<TupleKey> contextual = {}) {
    CheckRequest request{object, relation, user, std::move(contextual), nullptr};
    auto result = engine_.check(store_, request);
    EXPECT_TRUE(result.ok()) << object << "#" << relation << "@" << user << ": "
                             << (result.ok() ? "" : result.error().message);
    return result.ok() && result->allowed;
  }

  ErrorCode check_error(const CheckRequest& request) {
    auto result = engine_.check(store_, request);
    EXPECT_FALSE(result.ok());
    return result.ok() ? ErrorCode::internal_error : result.error().code;
  }

  std::vector<std::string> objects(const std::string& type, const std::string& relation,
                                   const std::string& user) {
    ListObjectsRequest request;
    request.type = type;
    request.relation = relation;
    request.user = user;
    auto result = engine_.list_objects(store_, request);
    EXPECT_TRUE(result.ok()) << (result.ok() ? "" : result.error().message);
    return result.ok() ? result->objects : std::vector<std::string>{};
  }

  std::vector<std::string> users(const std::string& object, const std::string& relation,
                                 UserFilter filter) {
    ListUsersRequest request;
    request.object = object;
    request.relation = relation;
    request.user_filters = {std::move(filter)};
    auto result = engine_.list_users(store_, request);
    EXPECT_TRUE(result.ok()) << (result.ok() ? "" : result.error().message);
    return result.ok() ? result->users : std::vector<std::string>{};
  }

  Engine engine_;
  MemoryTupleReader store_;
};

using Strings = std::vector<std::string>;

// `count` random tuples of documents_model() over three groups, three folders and four
// documents, for the property tests.
MemoryTupleReader random_documents(std::mt19937& rng, int count) {
  const Strings users{"user:a", "user:b", "user:c", "user:*"};
  const Strings groups{"group:g1", "group:g2", "group:g3"};
  const Strings folders{"folder:f1", "folder:f2", "folder:f3"};
  const Strings documents{"document:d1", "document:d2", "document:d3", "document:d4"};
  auto pick = [&](const Strings& from) { return from[rng() % from.size()]; };
  MemoryTupleReader store;
  for (int i = 0; i < count; ++i) {
    switch (rng() % 9) {
      case 0:
        store.write(tk(pick(groups), "member", pick({"user:a", "user:b", "user:c"})));
        break;
      case 1:
        store.write(tk(pick(groups), "member", pick(groups) + "#member"));
        break;
      case 2:
        store.write(tk(pick(folders), "parent", pick(folders)));
        break;
      case 3:
        store.write(tk(pick(folders), "viewer", pick(users)));
        break;
      case 4:
        store.write(tk(pick(documents), "parent", pick(folders)));
        break;
      case 5:
        store.write(tk(pick(documents), "viewer", pick(users)));
        break;
      case 6:
        store.write(tk(pick(documents), "editor", pick(groups) + "#member"));
        break;
      case 7:
        store.write(tk(pick(documents), "blocked", pick({"user:a", "user:b"})));
        break;
      default:
        store.write(tk(pick(documents), "approved", pick({"user:a", "user:c"})));
        break;
    }
  }
  return store;
}

// --- Check ----------------------------------------------------------------------------------

TEST_F(EngineTest, CheckDirectTupleAllowsOnlyThatUser) {
  EXPECT_TRUE(allowed("document:1", "owner", "user:anne"));
  EXPECT_FALSE(allowed("document:1", "owner", "user:bob"));
  EXPECT_FALSE(allowed("document:9", "owner", "user:anne"));
}

TEST_F(EngineTest, CheckComputedUsersetFollowsTheRewrite) {
  EXPECT_TRUE(allowed("document:1", "editor", "user:anne"));
  EXPECT_TRUE(allowed("document:1", "viewer", "user:anne"));
}

TEST_F(EngineTest, CheckFollowsNestedUsersets) {
  EXPECT_TRUE(allowed("document:1", "viewer", "user:bob"));
  EXPECT_TRUE(allowed("document:1", "viewer", "user:carl"));
  EXPECT_FALSE(allowed("document:1", "viewer", "user:zed"));
}

TEST_F(EngineTest, CheckAUsersetAsTheUser) {
  EXPECT_TRUE(allowed("document:1", "viewer", "group:eng#member"));
  EXPECT_TRUE(allowed("document:1", "viewer", "group:backend#member"));
  EXPECT_FALSE(allowed("document:1", "viewer", "group:other#member"));
  // Check(object#relation@object#relation) is always true.
  EXPECT_TRUE(allowed("group:nobody", "member", "group:nobody#member"));
}

TEST_F(EngineTest, CheckTupleToUsersetWalksParents) {
  EXPECT_TRUE(allowed("document:2", "viewer", "user:dana"));
  EXPECT_TRUE(allowed("folder:x", "viewer", "user:dana"));
  EXPECT_FALSE(allowed("document:2", "editor", "user:dana"));
}

TEST_F(EngineTest, CheckWildcardGrantsEveryUserOfItsType) {
  EXPECT_TRUE(allowed("document:3", "viewer", "user:anyone"));
  EXPECT_TRUE(allowed("document:3", "viewer", "user:*"));
  EXPECT_FALSE(allowed("document:3", "viewer", "group:eng"));
  EXPECT_FALSE(allowed("document:1", "viewer", "user:*"));
}

TEST_F(EngineTest, CheckDifferenceAndIntersection) {
  EXPECT_TRUE(allowed("document:1", "can_view", "user:carl"));
  EXPECT_FALSE(allowed("document:1", "can_view", "user:bob"));
  EXPECT_TRUE(allowed("document:1", "can_publish", "user:anne"));
  EXPECT_FALSE(allowed("document:1", "can_publish", "user:bob"));
}

TEST_F(EngineTest, CheckContextualTuplesCountForThisRequestOnly) {
  EXPECT_TRUE(allowed("document:7", "owner", "user:eve", {tk("document:7", "owner", "user:eve")}));
  EXPECT_FALSE(allowed("document:7", "owner", "user:eve"));
  // A contextual membership reaches stored tuples.
  EXPECT_TRUE(allowed("document:1", "viewer", "user:eve", {tk("group:eng", "member", "user:eve")}));
}

TEST_F(EngineTest, CheckIgnoresStoredTuplesTheModelNoLongerAllows) {
  store_.write(tk("document:5", "owner", "group:eng#member"));  // owner: [user] only
  store_.write(tk("document:5", "blocked", "user:*"));          // blocked: [user] only
  EXPECT_FALSE(allowed("document:5", "owner", "user:bob"));
  EXPECT_FALSE(allowed("document:5", "blocked", "user:bob"));
}

TEST_F(EngineTest, CheckSkipsParentsWhoseTypeLacksTheRelation) {
  Model m;
  m.types = {type("user"), type("folder1"), type("folder2", {rel("viewer", self(), {ref("user")})}),
             type("document", {rel("parent", self(), {ref("folder1"), ref("folder2")}),
                               rel("viewer", from("viewer", "parent"))})};
  Engine engine = make_engine(std::move(m));
  MemoryTupleReader store({tk("document:1", "parent", "folder1:a"),
                           tk("document:1", "parent", "folder2:b"),
                           tk("folder2:b", "viewer", "user:anne")});
  auto yes = engine.check(store, {"document:1", "viewer", "user:anne", {}, nullptr});
  ASSERT_TRUE(yes.ok()) << yes.error().message;
  EXPECT_TRUE(yes->allowed);
  auto no = engine.check(store, {"document:1", "viewer", "user:bob", {}, nullptr});
  ASSERT_TRUE(no.ok());
  EXPECT_FALSE(no->allowed);
}

TEST_F(EngineTest, CheckACycleIsNotAllowedAndReported) {
  Model m;
  m.types = {type("user"),
             type("document", {rel("editor", self(), {ref("user"), ref("document", "viewer")}),
                               rel("viewer", any_of({self(), computed("editor")}),
                                   {ref("document", "editor")})})};
  Engine engine = make_engine(std::move(m));
  MemoryTupleReader store({tk("document:1", "editor", "document:1#viewer"),
                           tk("document:1", "viewer", "document:1#editor")});
  auto result = engine.check(store, {"document:1", "viewer", "user:jon", {}, nullptr});
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_FALSE(result->allowed);
  EXPECT_TRUE(result->cycle_detected);
}

TEST_F(EngineTest, CheckACycleInTheSubtractedSideIsNotAllowed) {
  // OpenFGA true_butnot_cycle_return_false.
  Model m;
  m.types = {
      type("user"),
      type("document", {rel("restricted", self(), {ref("user"), ref("document", "viewer")}),
                        rel("viewer", but_not(self(), computed("restricted")), {ref("user")})})};
  Engine engine = make_engine(std::move(m));
  MemoryTupleReader store({tk("document:1", "viewer", "user:jon"),
                           tk("document:1", "restricted", "document:1#viewer")});
  auto result = engine.check(store, {"document:1", "viewer", "user:jon", {}, nullptr});
  ASSERT_TRUE(result.ok());
  EXPECT_FALSE(result->allowed);
}

TEST_F(EngineTest, CheckBeyondTheResolveNodeLimitIsTooComplex) {
  Model m;
  m.types = {type("user"),
             type("group", {rel("member", self(), {ref("user"), ref("group", "member")})})};
  MemoryTupleReader store;
  for (int i = 0; i < 6; ++i) {
    store.write(
        tk("group:" + std::to_string(i), "member", "group:" + std::to_string(i + 1) + "#member"));
  }
  store.write(tk("group:6", "member", "user:maria"));
  EngineOptions tight;
  tight.resolve_node_limit = 6;
  Engine shallow = make_engine(m, tight);
  auto result = shallow.check(store, {"group:0", "member", "user:maria", {}, nullptr});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::authorization_model_resolution_too_complex);
  EngineOptions enough;
  enough.resolve_node_limit = 7;
  Engine deep = make_engine(m, enough);
  auto ok = deep.check(store, {"group:0", "member", "user:maria", {}, nullptr});
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_TRUE(ok->allowed);
  EXPECT_EQ(ok->dispatch_count, 6U);
}

TEST_F(EngineTest, CheckResolvesASharedSubproblemOnce) {
  Model m;
  m.types = {type("user"),
             type("group", {rel("member", self(), {ref("user"), ref("group", "member")})}),
             type("document", {rel("viewer", self(), {ref("group", "member")})})};
  Engine engine = make_engine(std::move(m));
  MemoryTupleReader store(
      {tk("document:1", "viewer", "group:a#member"), tk("document:1", "viewer", "group:b#member"),
       tk("group:a", "member", "group:c#member"), tk("group:b", "member", "group:c#member")});
  auto result = engine.check(store, {"document:1", "viewer", "user:x", {}, nullptr});
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_FALSE(result->allowed);
  // document:1#viewer admits only usersets: one userset read. group:a#member, group:c#member
  // and group:b#member: a point lookup for user:x and a userset read each. The second dispatch
  // to group:c#member is answered from the memo.
  EXPECT_EQ(result->read_count, 7U);
  EXPECT_EQ(result->dispatch_count, 4U);
}

TEST_F(EngineTest, CheckAWildcardUserNeedsAWildcardTuple) {
  store_.write(tk("folder:pub", "viewer", "user:*"));
  store_.write(tk("folder:priv", "viewer", "user:anne"));
  EXPECT_TRUE(allowed("folder:pub", "viewer", "user:*"));
  EXPECT_FALSE(allowed("folder:priv", "viewer", "user:*"));
  // owner: [user] only, so a stored wildcard there does not count.
  store_.write(tk("folder:pub", "owner", "user:*"));
  EXPECT_FALSE(allowed("folder:pub", "owner", "user:*"));
  EXPECT_FALSE(allowed("folder:pub", "owner", "user:anne"));
}

TEST_F(EngineTest, CheckRefusesInputTheModelDoesNotKnow) {
  EXPECT_EQ(check_error({"document:1", "nope", "user:anne", {}, nullptr}),
            ErrorCode::validation_error);
  EXPECT_EQ(check_error({"widget:1", "viewer", "user:anne", {}, nullptr}),
            ErrorCode::validation_error);
  EXPECT_EQ(check_error({"document:1", "viewer", "robot:r2", {}, nullptr}),
            ErrorCode::validation_error);
  EXPECT_EQ(check_error({"document:1", "viewer", "group:eng#nope", {}, nullptr}),
            ErrorCode::validation_error);
  EXPECT_EQ(check_error({"document:1", "viewer", "a:b:c", {}, nullptr}),
            ErrorCode::validation_error);
  EXPECT_EQ(check_error({"document", "viewer", "user:anne", {}, nullptr}),
            ErrorCode::validation_error);
  EXPECT_EQ(check_error({"document:1", "viewer", "user:anne", {}, nlohmann::json::array()}),
            ErrorCode::validation_error);
}

TEST_F(EngineTest, CheckRefusesContextualTuplesTheModelDoesNotAllow) {
  for (const TupleKey& bad :
       {tk("folder:x", "nope", "user:anne"), tk("widget:1", "viewer", "user:anne"),
        tk("document:1", "owner", "user:*"), tk("document:1", "viewer", "group:eng#nope"),
        tk("document:1", "parent", "user:anne"), tk("document:1", "owner", "robot:r2")}) {
    EXPECT_EQ(check_error({"document:1", "viewer", "user:anne", {bad}, nullptr}),
              ErrorCode::invalid_tuple)
        << bad.object << "#" << bad.relation << "@" << bad.user;
  }
}

TEST_F(EngineTest, CheckLimitsContextualTuples) {
  EngineOptions options;
  options.max_contextual_tuples = 2;
  Engine engine = make_engine(documents_model(), options);
  CheckRequest request{"document:1",
                       "owner",
                       "user:anne",
                       {tk("document:1", "owner", "user:a"), tk("document:1", "owner", "user:b"),
                        tk("document:1", "owner", "user:c")},
                       nullptr};
  auto result = engine.check(store_, request);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::validation_error);
}

TEST_F(EngineTest, ValidateTupleAppliesTypeRestrictions) {
  EXPECT_TRUE(engine_.validate_tuple(tk("document:1", "viewer", "user:*")).ok());
  EXPECT_TRUE(engine_.validate_tuple(tk("document:1", "viewer", "group:eng#member")).ok());
  EXPECT_FALSE(engine_.validate_tuple(tk("document:1", "owner", "user:*")).ok());
  EXPECT_FALSE(engine_.validate_tuple(tk("document:1", "can_view", "user:anne")).ok());
  auto conditioned = tk("document:1", "owner", "user:anne");
  conditioned.condition = "undeclared";
  auto result = engine_.validate_tuple(conditioned);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::invalid_tuple);
}

TEST_F(EngineTest, OneEngineAnswersFromManyThreads) {
  const std::vector<std::pair<std::string, bool>> cases{
      {"user:anne", true}, {"user:bob", true}, {"user:carl", true}, {"user:zed", false}};
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  threads.reserve(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        for (const auto& [user, expected] : cases) {
          auto result = engine_.check(store_, {"document:1", "viewer", user, {}, nullptr});
          if (!result.ok() || result->allowed != expected) ++wrong;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
}

// --- Branches on several threads ------------------------------------------------------------

EngineOptions concurrent(std::shared_ptr<WorkerPool> pool, uint32_t after = 0) {
  EngineOptions options;
  options.branch_pool = std::move(pool);
  options.branch_concurrency_after = after;
  return options;
}

TEST(EngineBranches, ConcurrentBranchesAnswerAsOneThreadDoes) {
  Engine one = make_engine(documents_model());
  Engine many = make_engine(documents_model(), concurrent(std::make_shared<WorkerPool>(2, 64)));
  std::mt19937 rng(20261125);
  const Strings users{"user:a", "user:b", "user:c", "user:*", "group:g1#member"};
  const Strings documents{"document:d1", "document:d2", "document:d3", "document:d4"};
  uint32_t fan_outs = 0;
  for (int round = 0; round < 80; ++round) {
    MemoryTupleReader store = random_documents(rng, 24);
    for (const std::string relation : {"viewer", "editor", "can_view", "can_publish"}) {
      for (const std::string& d : documents) {
        for (const std::string& user : users) {
          auto expected = one.check(store, {d, relation, user, {}, nullptr});
          auto got = many.check(store, {d, relation, user, {}, nullptr});
          ASSERT_EQ(expected.ok(), got.ok()) << d << "#" << relation << "@" << user;
          if (!expected.ok()) {
            EXPECT_EQ(expected.error().code, got.error().code);
            continue;
          }
          EXPECT_EQ(expected->allowed, got->allowed)
              << "round " << round << " " << d << "#" << relation << "@" << user;
          EXPECT_EQ(expected->cycle_detected, got->cycle_detected)
              << "round " << round << " " << d << "#" << relation << "@" << user;
          EXPECT_EQ(expected->concurrent_fan_outs, 0U);
          fan_outs += got->concurrent_fan_outs;
        }
      }
    }
  }
  EXPECT_GT(fan_outs, 1000U) << "the branches never ran on the pool";
}

// A team of 40 nested teams, the user in the last one: 40 dispatches at one fan-out.
Model teams_model() {
  Model m;
  m.types = {type("user"),
             type("team", {rel("member", self(), {ref("user"), ref("team", "member")})})};
  return m;
}
MemoryTupleReader teams(const std::string& user) {
  MemoryTupleReader store;
  for (int i = 1; i <= 40; ++i) {
    store.write(tk("team:root", "member", "team:" + std::to_string(i) + "#member"));
  }
  store.write(tk("team:40", "member", user));
  return store;
}

TEST(EngineBranches, AChecksBranchesGoToThePoolOnlyPastTheThreshold) {
  auto pool = std::make_shared<WorkerPool>(2, 64);
  MemoryTupleReader store = teams("user:maria");
  EngineOptions cheap = concurrent(pool, 1000);
  cheap.reverse_fanout = 0;  // checked downwards, one dispatch per team
  EngineOptions always = concurrent(pool, 0);
  always.reverse_fanout = 0;
  // The first ten teams one after the other, then the other thirty on several threads.
  EngineOptions after_ten = concurrent(pool, 10);
  after_ten.reverse_fanout = 0;
  for (const auto& [options, parallel] :
       {std::pair{cheap, false}, std::pair{always, true}, std::pair{after_ten, true}}) {
    Engine engine = make_engine(teams_model(), options);
    // A check fans out only to idle threads; the pool's thread counts as busy until the job
    // of the check before has returned, a moment after that check did.
    auto settle = [&] {
      while (pool->idle() < pool->threads()) std::this_thread::yield();
    };
    settle();
    auto yes = engine.check(store, {"team:root", "member", "user:maria", {}, nullptr});
    ASSERT_TRUE(yes.ok()) << yes.error().message;
    EXPECT_TRUE(yes->allowed);
    settle();
    auto no = engine.check(store, {"team:root", "member", "user:zed", {}, nullptr});
    ASSERT_TRUE(no.ok()) << no.error().message;
    EXPECT_FALSE(no->allowed);
    // Every team was asked about: nothing decided early.
    EXPECT_EQ(no->dispatch_count, 40U);
    EXPECT_EQ(no->concurrent_fan_outs > 0, parallel);
    EXPECT_EQ(yes->concurrent_fan_outs > 0, parallel);
  }
}

TEST(EngineBranches, ACancelledOperandNeverDecidesInItsPlace) {
  // blocked = a and b, where a runs into a cycle (slowly: 200 usersets, each leading back) and b
  // is empty. One thread: a decides the intersection first, with its cycle, and a cycle on the
  // subtracted side of `but not` denies. With b deciding first on another thread and a cut short,
  // taking b's plain "no" would turn the answer into "allowed".
  Model m;
  m.types = {type("user"),
             type("doc", {rel("a", self(), {ref("user"), ref("doc", "a")}),
                          rel("b", self(), {ref("user")}),
                          rel("blocked", all_of({computed("a"), computed("b")})),
                          rel("viewer", but_not(self(), computed("blocked")), {ref("user")})})};
  MemoryTupleReader store;
  store.write(tk("doc:1", "viewer", "user:anne"));
  for (int i = 2; i < 202; ++i) {
    store.write(tk("doc:1", "a", "doc:" + std::to_string(i) + "#a"));
    store.write(tk("doc:" + std::to_string(i), "a", "doc:1#a"));
  }
  EngineOptions one_thread;
  one_thread.reverse_fanout = 0;
  EngineOptions branches = concurrent(std::make_shared<WorkerPool>(2, 64));
  branches.reverse_fanout = 0;
  Engine sequential = make_engine(m, one_thread);
  Engine parallel = make_engine(m, branches);
  auto expected = sequential.check(store, {"doc:1", "viewer", "user:anne", {}, nullptr});
  ASSERT_TRUE(expected.ok()) << expected.error().message;
  EXPECT_FALSE(expected->allowed);
  EXPECT_TRUE(expected->cycle_detected);
  uint32_t fan_outs = 0;
  for (int i = 0; i < 200; ++i) {
    auto got = parallel.check(store, {"doc:1", "viewer", "user:anne", {}, nullptr});
    ASSERT_TRUE(got.ok()) << got.error().message;
    ASSERT_FALSE(got->allowed) << "run " << i;
    ASSERT_TRUE(got->cycle_detected) << "run " << i;
    fan_outs += got->concurrent_fan_outs;
  }
  EXPECT_GT(fan_outs, 0U);
}

TEST(EngineBranches, AReaderThatIsNotSafeAcrossThreadsIsReadFromOne) {
  MemoryTupleReader inner = teams("user:maria");
  test_support::CountingReader store(inner);  // like the SQL reader: one connection
  EngineOptions options = concurrent(std::make_shared<WorkerPool>(2, 64));
  options.reverse_fanout = 0;
  Engine engine = make_engine(teams_model(), options);
  auto result = engine.check(store, {"team:root", "member", "user:maria", {}, nullptr});
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_TRUE(result->allowed);
  EXPECT_EQ(result->concurrent_fan_outs, 0U);
}

TEST(EngineBranches, ManyRequestsOnAOneThreadPoolNeverWaitOnEachOther) {
  // Nested fan-outs from eight requests at once on a pool of one thread with a queue of two:
  // every fan-out runs what the pool has not started itself, so none waits on queued work.
  auto pool = std::make_shared<WorkerPool>(1, 2);
  Model m;
  m.types = {type("user"),
             type("team", {rel("member", self(), {ref("user"), ref("team", "member")})}),
             type("repo", {rel("reader", any_of({self(), computed("writer")}),
                               {ref("user"), ref("team", "member")}),
                           rel("writer", self(), {ref("user"), ref("team", "member")})})};
  EngineOptions options = concurrent(pool);
  options.reverse_fanout = 0;
  Engine engine = make_engine(std::move(m), options);
  MemoryTupleReader store;
  for (int i = 0; i < 6; ++i) {
    const std::string team = "team:" + std::to_string(i);
    store.write(tk("repo:r", i % 2 == 0 ? "reader" : "writer", team + "#member"));
    for (int j = 0; j < 6; ++j) {
      store.write(
          tk(team, "member", "team:" + std::to_string(i) + "-" + std::to_string(j) + "#member"));
    }
  }
  store.write(tk("team:5-5", "member", "user:maria"));
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  threads.reserve(8);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100; ++i) {
        auto yes = engine.check(store, {"repo:r", "reader", "user:maria", {}, nullptr});
        auto no = engine.check(store, {"repo:r", "reader", "user:zed", {}, nullptr});
        if (!yes.ok() || !yes->allowed || !no.ok() || no->allowed) ++wrong;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
}

// --- BatchCheck -----------------------------------------------------------------------------

TEST_F(EngineTest, BatchCheckAnswersEachItemByCorrelationId) {
  std::vector<BatchCheckItem> items{
      {{"document:1", "viewer", "user:carl", {}, nullptr}, "a"},
      {{"document:1", "viewer", "user:zed", {}, nullptr}, "b"},
      {{"document:1", "nope", "user:zed", {}, nullptr}, "c"},
  };
  auto result = engine_.batch_check(store_, items);
  ASSERT_TRUE(result.ok()) << result.error().message;
  ASSERT_EQ(result->size(), 3U);
  EXPECT_EQ((*result)[0].correlation_id, "a");
  EXPECT_TRUE((*result)[0].allowed);
  EXPECT_FALSE((*result)[1].allowed);
  EXPECT_FALSE((*result)[1].failed);
  EXPECT_TRUE((*result)[2].failed);
  EXPECT_EQ((*result)[2].error.code, ErrorCode::validation_error);
}

TEST_F(EngineTest, BatchCheckRefusesMissingOrRepeatedCorrelationIds) {
  std::vector<BatchCheckItem> repeated{{{"document:1", "viewer", "user:carl", {}, nullptr}, "a"},
                                       {{"document:1", "viewer", "user:zed", {}, nullptr}, "a"}};
  EXPECT_FALSE(engine_.batch_check(store_, repeated).ok());
  std::vector<BatchCheckItem> missing{{{"document:1", "viewer", "user:carl", {}, nullptr}, ""}};
  EXPECT_FALSE(engine_.batch_check(store_, missing).ok());
  EXPECT_FALSE(engine_.batch_check(store_, {}).ok());
  std::vector<BatchCheckItem> many;
  for (size_t i = 0; i <= kDefaultMaxBatchCheckItems; ++i) {
    many.push_back({{"document:1", "viewer", "user:carl", {}, nullptr}, std::to_string(i)});
  }
  EXPECT_FALSE(engine_.batch_check(store_, many).ok());
  many.pop_back();
  EXPECT_TRUE(engine_.batch_check(store_, many).ok());
}

// --- ListObjects ----------------------------------------------------------------------------

TEST_F(EngineTest, ListObjectsByReverseExpansion) {
  EXPECT_EQ(objects("document", "viewer", "user:carl"), (Strings{"document:1", "document:3"}));
  EXPECT_EQ(objects("document", "viewer", "user:dana"), (Strings{"document:2", "document:3"}));
  EXPECT_EQ(objects("folder", "viewer", "user:dana"), (Strings{"folder:root", "folder:x"}));
  EXPECT_EQ(objects("document", "viewer", "user:anne"), (Strings{"document:1", "document:3"}));
  EXPECT_EQ(objects("document", "viewer", "user:zed"), Strings{"document:3"});
  EXPECT_EQ(objects("document", "viewer", "group:backend#member"), Strings{"document:1"});
}

TEST_F(EngineTest, ListObjectsConfirmsExclusionAndIntersection) {
  EXPECT_EQ(objects("document", "can_view", "user:bob"), Strings{"document:3"});
  EXPECT_EQ(objects("document", "can_view", "user:carl"), (Strings{"document:1", "document:3"}));
  EXPECT_EQ(objects("document", "can_publish", "user:anne"), Strings{"document:1"});
  EXPECT_EQ(objects("document", "can_publish", "user:carl"), Strings{});
}

TEST_F(EngineTest, ListObjectsPagesWithContinuationTokens) {
  for (int i = 10; i < 15; ++i) {
    store_.write(tk("document:" + std::to_string(i), "owner", "user:pat"));
  }
  ListObjectsRequest request;
  request.type = "document";
  request.relation = "owner";
  request.user = "user:pat";
  request.page_size = 2;
  Strings seen;
  int pages = 0;
  while (true) {
    auto page = engine_.list_objects(store_, request);
    ASSERT_TRUE(page.ok()) << page.error().message;
    ++pages;
    EXPECT_LE(page->objects.size(), 2U);
    seen.insert(seen.end(), page->objects.begin(), page->objects.end());
    if (page->continuation_token.empty()) break;
    request.continuation_token = page->continuation_token;
  }
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen,
            (Strings{"document:10", "document:11", "document:12", "document:13", "document:14"}));
}

TEST_F(EngineTest, ListObjectsRefusesAForeignOrForgedToken) {
  for (int i = 10; i < 13; ++i) {
    store_.write(tk("document:" + std::to_string(i), "owner", "user:pat"));
  }
  ListObjectsRequest request;
  request.type = "document";
  request.relation = "owner";
  request.user = "user:pat";
  request.page_size = 1;
  auto first = engine_.list_objects(store_, request);
  ASSERT_TRUE(first.ok());
  ASSERT_FALSE(first->continuation_token.empty());
  ListObjectsRequest other = request;
  other.user = "user:anne";
  other.continuation_token = first->continuation_token;
  auto mismatch = engine_.list_objects(store_, other);
  ASSERT_FALSE(mismatch.ok());
  EXPECT_EQ(mismatch.error().code, ErrorCode::invalid_continuation_token);
  request.continuation_token = "not-a-token";
  auto forged = engine_.list_objects(store_, request);
  ASSERT_FALSE(forged.ok());
  EXPECT_EQ(forged.error().code, ErrorCode::invalid_continuation_token);
  request.continuation_token.clear();
  request.page_size = kMaxListObjectsPageSize + 1;
  auto too_big = engine_.list_objects(store_, request);
  ASSERT_FALSE(too_big.ok());
  EXPECT_EQ(too_big.error().code, ErrorCode::page_size_invalid);
}

TEST_F(EngineTest, ListObjectsRefusesToGatherBeyondItsBound) {
  EngineOptions options;
  options.max_list_candidates = 3;
  Engine engine = make_engine(documents_model(), options);
  for (int i = 10; i < 15; ++i) {
    store_.write(tk("document:" + std::to_string(i), "owner", "user:pat"));
  }
  ListObjectsRequest request;
  request.type = "document";
  request.relation = "owner";
  request.user = "user:pat";
  auto result = engine.list_objects(store_, request);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::exceeded_entity_limit);
}

TEST_F(EngineTest, ListObjectsValidatesWithOpenFgaCodes) {
  auto code = [&](const ListObjectsRequest& r) {
    auto result = engine_.list_objects(store_, r);
    return result.ok() ? ErrorCode::internal_error : result.error().code;
  };
  EXPECT_EQ(code({"widget", "viewer", "user:anne", {}, nullptr, 0, ""}), ErrorCode::type_not_found);
  EXPECT_EQ(code({"document", "nope", "user:anne", {}, nullptr, 0, ""}),
            ErrorCode::relation_not_found);
  EXPECT_EQ(code({"document", "viewer", "robot:r2", {}, nullptr, 0, ""}),
            ErrorCode::validation_error);
  EXPECT_EQ(code({"document",
                  "viewer",
                  "user:anne",
                  {tk("document:1", "owner", "user:*")},
                  nullptr,
                  0,
                  ""}),
            ErrorCode::invalid_tuple);
}

TEST_F(EngineTest, ListObjectsSeesContextualTuples) {
  ListObjectsRequest request{
      "document", "owner", "user:quinn", {tk("document:42", "owner", "user:quinn")}, nullptr,
      0,          ""};
  auto result = engine_.list_objects(store_, request);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->objects, Strings{"document:42"});
}

// Random tuple sets: ListObjects must answer exactly the objects Check allows (reverse
// expansion finds every candidate), and ListUsers only users Check allows, missing none.
TEST(EngineProperties, ListObjectsAndListUsersAgreeWithCheck) {
  Engine engine = make_engine(documents_model());
  std::mt19937 rng(20261123);
  const Strings documents{"document:d1", "document:d2", "document:d3", "document:d4"};
  for (int round = 0; round < 60; ++round) {
    MemoryTupleReader store = random_documents(rng, 14);
    for (const std::string relation : {"viewer", "editor", "can_view", "can_publish"}) {
      for (const std::string& user :
           Strings{"user:a", "user:b", "user:c", "user:*", "group:g1#member"}) {
        Strings expected;
        for (const std::string& d : documents) {
          auto c = engine.check(store, {d, relation, user, {}, nullptr});
          ASSERT_TRUE(c.ok()) << c.error().message;
          if (c->allowed) expected.push_back(d);
        }
        auto listed = engine.list_objects(store, {"document", relation, user, {}, nullptr, 0, ""});
        ASSERT_TRUE(listed.ok()) << listed.error().message;
        EXPECT_EQ(listed->objects, expected) << "round " << round << " " << relation << " " << user;
      }
      for (const std::string& d : documents) {
        auto listed = engine.list_users(store, {d, relation, {{"user", ""}}, {}, nullptr});
        ASSERT_TRUE(listed.ok()) << listed.error().message;
        const Strings& got = listed->users;
        auto has = [&](const std::string& u) {
          return std::find(got.begin(), got.end(), u) != got.end();
        };
        // Users are enumerated as the tuples name them: a user allowed only through a
        // wildcard is answered by the wildcard.
        for (const std::string& user : Strings{"user:*", "user:a", "user:b", "user:c"}) {
          auto c = engine.check(store, {d, relation, user, {}, nullptr});
          ASSERT_TRUE(c.ok());
          if (c->allowed) {
            EXPECT_TRUE(has(user) || (user != "user:*" && has("user:*")))
                << "round " << round << " " << d << "#" << relation << " misses " << user;
          } else {
            EXPECT_FALSE(has(user))
                << "round " << round << " " << d << "#" << relation << " lists " << user;
          }
        }
      }
    }
  }
}

// --- ListUsers ------------------------------------------------------------------------------

TEST_F(EngineTest, ListUsersExpandsUsersetsAndWildcards) {
  EXPECT_EQ(users("document:1", "viewer", {"user", ""}),
            (Strings{"user:anne", "user:bob", "user:carl"}));
  EXPECT_EQ(users("document:3", "viewer", {"user", ""}), Strings{"user:*"});
  EXPECT_EQ(users("document:2", "viewer", {"user", ""}), Strings{"user:dana"});
}

TEST_F(EngineTest, ListUsersReturnsUsersetsIncludingTheObjectsOwn) {
  EXPECT_EQ(users("group:eng", "member", {"group", "member"}),
            (Strings{"group:backend#member", "group:eng#member"}));
  EXPECT_EQ(users("document:1", "viewer", {"group", "member"}),
            (Strings{"group:backend#member", "group:eng#member"}));
}

TEST_F(EngineTest, ListUsersConfirmsExclusion) {
  EXPECT_EQ(users("document:1", "can_view", {"user", ""}), (Strings{"user:anne", "user:carl"}));
  EXPECT_EQ(users("document:1", "can_publish", {"user", ""}), Strings{"user:anne"});
}

TEST_F(EngineTest, ListUsersValidatesWithOpenFgaCodes) {
  auto code = [&](const ListUsersRequest& r) {
    auto result = engine_.list_users(store_, r);
    return result.ok() ? ErrorCode::internal_error : result.error().code;
  };
  EXPECT_EQ(code({"widget:1", "viewer", {{"user", ""}}, {}, nullptr}), ErrorCode::type_not_found);
  EXPECT_EQ(code({"document:1", "nope", {{"user", ""}}, {}, nullptr}),
            ErrorCode::relation_not_found);
  EXPECT_EQ(code({"document:1", "viewer", {{"robot", ""}}, {}, nullptr}),
            ErrorCode::type_not_found);
  EXPECT_EQ(code({"document:1", "viewer", {{"group", "nope"}}, {}, nullptr}),
            ErrorCode::relation_not_found);
  EXPECT_EQ(code({"document:1", "viewer", {}, {}, nullptr}), ErrorCode::validation_error);
  EXPECT_EQ(
      code({"document:1", "viewer", {{"user", ""}}, {tk("document:1", "nope", "user:a")}, nullptr}),
      ErrorCode::invalid_tuple);
}

TEST(UserToJson, HasOpenFgaShapes) {
  EXPECT_EQ(user_to_json("user:anne"),
            nlohmann::json::parse(R"({"object":{"type":"user","id":"anne"}})"));
  EXPECT_EQ(user_to_json("user:*"), nlohmann::json::parse(R"({"wildcard":{"type":"user"}})"));
  EXPECT_EQ(
      user_to_json("group:eng#member"),
      nlohmann::json::parse(R"({"userset":{"type":"group","id":"eng","relation":"member"}})"));
}

// --- Expand ---------------------------------------------------------------------------------

TEST_F(EngineTest, ExpandReturnsOneLevelOfTheUsersetTree) {
  auto tree = engine_.expand(store_, {"document:2", "viewer", {}, nullptr});
  ASSERT_TRUE(tree.ok()) << tree.error().message;
  const auto expected =
      nlohmann::json::parse(R"({"tree":{"root":{"name":"document:2#viewer","union":{"nodes":[
      {"name":"document:2#viewer","leaf":{"users":{"users":[]}}},
      {"name":"document:2#viewer","leaf":{"computed":{"userset":"document:2#editor"}}},
      {"name":"document:2#viewer","leaf":{"tupleToUserset":{"tupleset":"document:2#parent",
        "computed":[{"userset":"folder:x#viewer"}]}}}]}}}})");
  EXPECT_EQ(*tree, expected) << tree->dump();
}

TEST_F(EngineTest, ExpandShowsDifferenceAndDirectUsers) {
  auto tree = engine_.expand(store_, {"document:1", "can_view", {}, nullptr});
  ASSERT_TRUE(tree.ok());
  const auto expected =
      nlohmann::json::parse(R"({"tree":{"root":{"name":"document:1#can_view","difference":{
      "base":{"name":"document:1#can_view","leaf":{"computed":{"userset":"document:1#viewer"}}},
      "subtract":{"name":"document:1#can_view","leaf":{"computed":{"userset":"document:1#blocked"}}}}}}})");
  EXPECT_EQ(*tree, expected) << tree->dump();
  auto direct = engine_.expand(store_, {"group:eng", "member", {}, nullptr});
  ASSERT_TRUE(direct.ok());
  EXPECT_EQ((*direct)["tree"]["root"]["leaf"]["users"]["users"],
            nlohmann::json::parse(R"(["group:backend#member","user:bob"])"));
  auto unknown = engine_.expand(store_, {"document:1", "nope", {}, nullptr});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, ErrorCode::relation_not_found);
}

// --- Conditions -----------------------------------------------------------------------------

Model conditional_model() {
  Model m = documents_model();
  Condition in_region;
  in_region.name = "in_region";
  in_region.expression = "region == allowed";
  in_region.parameters = {{"region", ParamTypeRef{ParamType::String, {}}},
                          {"allowed", ParamTypeRef{ParamType::String, {}}}};
  m.conditions.emplace("in_region", in_region);
  m.types.push_back(
      type("report", {rel("viewer", self(), {ref("user"), with("user", "in_region")})}));
  return m;
}

TEST(EngineConditions, ConditionDecidesWithTupleContextOverRequestContext) {
  Engine engine = make_engine(conditional_model());
  TupleKey t = tk("report:1", "viewer", "user:anne");
  t.condition = "in_region";
  t.context = {{"allowed", "eu"}};
  MemoryTupleReader store({t});
  auto yes = engine.check(store, {"report:1", "viewer", "user:anne", {}, {{"region", "eu"}}});
  ASSERT_TRUE(yes.ok()) << yes.error().message;
  EXPECT_TRUE(yes->allowed);
  auto no = engine.check(store, {"report:1", "viewer", "user:anne", {}, {{"region", "us"}}});
  ASSERT_TRUE(no.ok());
  EXPECT_FALSE(no->allowed);
  // The request cannot override what the tuple stored.
  auto stored_wins = engine.check(
      store, {"report:1", "viewer", "user:anne", {}, {{"region", "us"}, {"allowed", "us"}}});
  ASSERT_TRUE(stored_wins.ok());
  EXPECT_FALSE(stored_wins->allowed);
}

TEST(EngineConditions, MissingParameterIsAnErrorNamingIt) {
  Engine engine = make_engine(conditional_model());
  TupleKey t = tk("report:1", "viewer", "user:anne");
  t.condition = "in_region";
  t.context = {{"allowed", "eu"}};
  MemoryTupleReader store({t});
  auto result = engine.check(store, {"report:1", "viewer", "user:anne", {}, nullptr});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::validation_error);
  EXPECT_NE(result.error().message.find("region"), std::string::npos) << result.error().message;
  // Another tuple that allows wins over the error.
  auto unconditioned = engine.check(
      store, {"report:1", "viewer", "user:anne", {tk("report:1", "viewer", "user:anne")}, nullptr});
  ASSERT_TRUE(unconditioned.ok());
  EXPECT_TRUE(unconditioned->allowed);
}

TEST(EngineConditions, AnErrorLosesToADecidingOperand) {
  Model m = conditional_model();
  for (TypeDefinition& t : m.types) {
    if (t.name != "report") continue;
    t.relations.push_back(rel("approved", self(), {ref("user")}));
    t.relations.push_back(rel("both", all_of({computed("viewer"), computed("approved")})));
    t.relations.push_back(rel("either", any_of({computed("viewer"), computed("approved")})));
    t.relations.push_back(rel("unless", but_not(computed("approved"), computed("viewer"))));
  }
  Engine engine = make_engine(std::move(m));
  TupleKey t = tk("report:1", "viewer", "user:anne");
  t.condition = "in_region";
  MemoryTupleReader store({t});
  auto code = [&](const std::string& relation) {
    auto r = engine.check(store, {"report:1", relation, "user:anne", {}, nullptr});
    return r.ok() ? (r->allowed ? "true" : "false") : std::string(error_name(r.error().code));
  };
  // viewer cannot be evaluated (no region, no allowed); approved is false.
  EXPECT_EQ(code("viewer"), "validation_error");
  EXPECT_EQ(code("both"), "false");               // a false operand decides an intersection
  EXPECT_EQ(code("either"), "validation_error");  // nothing allows: the error stands
  EXPECT_EQ(code("unless"), "false");             // a base that is not allowed decides
  store.write(tk("report:1", "approved", "user:anne"));
  EXPECT_EQ(code("either"), "true");
  EXPECT_EQ(code("both"), "validation_error");
  EXPECT_EQ(code("unless"), "validation_error");
}

TEST(EngineConditions, ExpandListsOnlyTuplesWhoseConditionHolds) {
  Engine engine = make_engine(conditional_model());
  TupleKey eu = tk("report:1", "viewer", "user:anne");
  eu.condition = "in_region";
  eu.context = {{"allowed", "eu"}};
  MemoryTupleReader store({eu, tk("report:1", "viewer", "user:bob")});
  auto tree = engine.expand(store, {"report:1", "viewer", {}, {{"region", "us"}}});
  ASSERT_TRUE(tree.ok()) << tree.error().message;
  EXPECT_EQ((*tree)["tree"]["root"]["leaf"]["users"]["users"], nlohmann::json::array({"user:bob"}));
  auto missing = engine.expand(store, {"report:1", "viewer", {}, nullptr});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::validation_error);
}

TEST(EngineConditions, ContextualTuplesMayCarryConditions) {
  Engine engine = make_engine(conditional_model());
  MemoryTupleReader store;
  TupleKey t = tk("report:9", "viewer", "user:anne");
  t.condition = "in_region";
  t.context = {{"allowed", "eu"}};
  auto yes = engine.check(store, {"report:9", "viewer", "user:anne", {t}, {{"region", "eu"}}});
  ASSERT_TRUE(yes.ok()) << yes.error().message;
  EXPECT_TRUE(yes->allowed);
  t.context = {{"undeclared", 1}};
  auto bad = engine.check(store, {"report:9", "viewer", "user:anne", {t}, {{"region", "eu"}}});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::invalid_tuple);
}

TEST(EngineConditions, ListObjectsAndListUsersFilterByCondition) {
  Engine engine = make_engine(conditional_model());
  TupleKey eu = tk("report:1", "viewer", "user:anne");
  eu.condition = "in_region";
  eu.context = {{"allowed", "eu"}};
  TupleKey us = tk("report:2", "viewer", "user:anne");
  us.condition = "in_region";
  us.context = {{"allowed", "us"}};
  MemoryTupleReader store({eu, us});
  auto objects =
      engine.list_objects(store, {"report", "viewer", "user:anne", {}, {{"region", "eu"}}, 0, ""});
  ASSERT_TRUE(objects.ok()) << objects.error().message;
  EXPECT_EQ(objects->objects, Strings{"report:1"});
  auto users =
      engine.list_users(store, {"report:2", "viewer", {{"user", ""}}, {}, {{"region", "us"}}});
  ASSERT_TRUE(users.ok());
  EXPECT_EQ(users->users, Strings{"user:anne"});
}

// --- readers --------------------------------------------------------------------------------

TEST(MemoryTupleReader, IndexesBothWaysAndKeepsOneTuplePerKey) {
  MemoryTupleReader reader;
  reader.write(tk("document:1", "viewer", "user:anne"));
  reader.write(tk("document:2", "viewer", "user:anne"));
  TupleKey conditioned = tk("document:1", "viewer", "user:anne");
  conditioned.condition = "c";
  reader.write(conditioned);
  EXPECT_EQ(reader.size(), 2U);
  auto forward = reader.read("document:1", "viewer");
  ASSERT_TRUE(forward.ok());
  ASSERT_EQ(forward->size(), 1U);
  EXPECT_EQ((*forward)[0].condition, "c");
  auto reverse = reader.read_starting_with_user("document", "viewer", {"user:anne", "user:bob"});
  ASSERT_TRUE(reverse.ok());
  EXPECT_EQ(reverse->size(), 2U);
  EXPECT_TRUE(reader.remove("document:1", "viewer", "user:anne"));
  EXPECT_FALSE(reader.remove("document:1", "viewer", "user:anne"));
  EXPECT_TRUE(reader.read("document:1", "viewer")->empty());
  EXPECT_EQ(reader.read_starting_with_user("document", "viewer", {"user:anne"})->size(), 1U);
}

TEST(CombinedTupleReader, ReadsContextualTuplesWithStoredOnes) {
  MemoryTupleReader store({tk("document:1", "viewer", "user:anne")});
  MemoryTupleReader contextual({tk("document:1", "viewer", "user:bob")});
  CombinedTupleReader combined(store, contextual);
  EXPECT_EQ(combined.read("document:1", "viewer")->size(), 2U);
  EXPECT_EQ(combined.read_starting_with_user("document", "viewer", {"user:bob"})->size(), 1U);
}

TEST(MemoryTupleReader, PointLookupFindsTheExactTupleOnly) {
  MemoryTupleReader reader;
  TupleKey conditioned = tk("document:1", "viewer", "user:anne");
  conditioned.condition = "c";
  conditioned.context = {{"x", 1}};
  reader.write(conditioned);
  reader.write(tk("document:1", "viewer", "user:*"));
  auto found = reader.read_user_tuple("document:1", "viewer", "user:anne");
  ASSERT_TRUE(found.ok());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ(**found, conditioned);
  EXPECT_FALSE(reader.read_user_tuple("document:1", "viewer", "user:bob")->has_value());
  EXPECT_FALSE(reader.read_user_tuple("document:1", "editor", "user:anne")->has_value());
  EXPECT_FALSE(reader.read_user_tuple("document:2", "viewer", "user:anne")->has_value());
  EXPECT_TRUE(reader.read_user_tuple("document:1", "viewer", "user:*")->has_value());
  // Rewriting drops the condition and its context.
  reader.write(tk("document:1", "viewer", "user:anne"));
  EXPECT_EQ(**reader.read_user_tuple("document:1", "viewer", "user:anne"),
            tk("document:1", "viewer", "user:anne"));
}

TEST(MemoryTupleReader, UsersetReadListsOnlyUsersetsAndWildcards) {
  MemoryTupleReader reader;
  for (int i = 0; i < 50; ++i) reader.write(tk("group:a", "member", "user:" + std::to_string(i)));
  reader.write(tk("group:a", "member", "group:b#member"));
  reader.write(tk("group:a", "member", "user:*"));
  reader.write(tk("group:a", "owner", "group:c#member"));
  auto usersets = reader.read_userset_tuples("group:a", "member");
  ASSERT_TRUE(usersets.ok());
  std::set<std::string> users;
  for (const TupleKey& t : *usersets) users.insert(t.user);
  EXPECT_EQ(users, (std::set<std::string>{"group:b#member", "user:*"}));
  EXPECT_EQ(reader.read("group:a", "member")->size(), 52U);
  EXPECT_TRUE(reader.remove("group:a", "member", "group:b#member"));
  ASSERT_EQ(reader.read_userset_tuples("group:a", "member")->size(), 1U);
  EXPECT_EQ((*reader.read_userset_tuples("group:a", "member"))[0].user, "user:*");
  EXPECT_TRUE(reader.read_userset_tuples("group:z", "member")->empty());
}

// Random writes and removes against a plain std::map: every list stays consistent when heads,
// tails and middles leave and slots are reused.
TEST(MemoryTupleReader, AgreesWithANaiveSetUnderChurn) {
  MemoryTupleReader reader;
  std::map<std::tuple<std::string, std::string, std::string>, TupleKey> naive;
  std::mt19937 rng(7);
  auto pick = [&](int n) { return std::to_string(std::uniform_int_distribution<>(0, n - 1)(rng)); };
  for (int step = 0; step < 20000; ++step) {
    const std::string object = "doc:" + pick(5);
    const std::string relation = pick(2) == "0" ? "viewer" : "editor";
    const int kind = std::uniform_int_distribution<>(0, 9)(rng);
    const std::string user = kind == 0   ? "user:*"
                             : kind == 1 ? "group:" + pick(3) + "#member"
                                         : "user:" + pick(8);
    if (std::uniform_int_distribution<>(0, 2)(rng) == 0) {
      EXPECT_EQ(reader.remove(object, relation, user), naive.erase({object, relation, user}) == 1);
    } else {
      reader.write(tk(object, relation, user));
      naive[{object, relation, user}] = tk(object, relation, user);
    }
  }
  ASSERT_EQ(reader.size(), naive.size());
  for (int o = 0; o < 5; ++o) {
    for (const std::string relation : {"viewer", "editor"}) {
      const std::string object = "doc:" + std::to_string(o);
      std::set<std::string> expected_all;
      std::set<std::string> expected_usersets;
      for (const auto& [key, t] : naive) {
        if (t.object != object || t.relation != relation) continue;
        expected_all.insert(t.user);
        if (t.user.find('#') != std::string::npos || t.user == "user:*") {
          expected_usersets.insert(t.user);
        }
      }
      auto read = reader.read(object, relation);
      auto userset_read = reader.read_userset_tuples(object, relation);
      ASSERT_TRUE(read.ok() && userset_read.ok());
      std::set<std::string> all;
      for (const TupleKey& t : *read) all.insert(t.user);
      std::set<std::string> usersets;
      for (const TupleKey& t : *userset_read) usersets.insert(t.user);
      EXPECT_EQ(all, expected_all);
      EXPECT_EQ(usersets, expected_usersets);
      EXPECT_EQ(reader.read(object, relation)->size(), expected_all.size());
    }
  }
  for (int u = 0; u < 8; ++u) {
    const std::string user = "user:" + std::to_string(u);
    std::set<std::string> expected;
    for (const auto& [key, t] : naive) {
      if (t.relation == "viewer" && t.user == user) expected.insert(t.object);
    }
    std::set<std::string> objects;
    auto reverse = reader.read_starting_with_user("doc", "viewer", {user});
    for (const TupleKey& t : *reverse) objects.insert(t.object);
    EXPECT_EQ(objects, expected);
    EXPECT_EQ(reverse->size(), expected.size());
    for (int o = 0; o < 5; ++o) {
      const std::string object = "doc:" + std::to_string(o);
      EXPECT_EQ(reader.read_user_tuple(object, "editor", user)->has_value(),
                naive.count({object, "editor", user}) == 1);
    }
  }
}

TEST(MemoryTupleReader, StaysCompact) {
  MemoryTupleReader reader;
  for (int i = 0; i < 100000; ++i) {
    reader.write(tk("repository:" + std::to_string(i / 5), i % 2 == 0 ? "reader" : "writer",
                    "user:" + std::to_string(i % 5000)));
  }
  ASSERT_EQ(reader.size(), 100000U);
  // Interned strings, 44-byte records and 8-byte table entries (tables a power of two in
  // size): under 150 bytes a tuple, half of what one million tuples in 300 MB allow.
  EXPECT_LT(reader.memory_bytes() / reader.size(), 150U);
}

TEST(CombinedTupleReader, PointAndUsersetReadsSeeBothSets) {
  TupleKey stored = tk("document:1", "viewer", "user:anne");
  MemoryTupleReader store({stored, tk("document:1", "viewer", "group:a#member")});
  TupleKey shadow = tk("document:1", "viewer", "user:anne");
  shadow.condition = "c";
  MemoryTupleReader contextual(
      {shadow, tk("document:1", "viewer", "user:*"), tk("document:1", "viewer", "user:bob")});
  CombinedTupleReader combined(store, contextual);
  // The contextual tuple comes first.
  EXPECT_EQ(**combined.read_user_tuple("document:1", "viewer", "user:anne"), shadow);
  EXPECT_TRUE(combined.read_user_tuple("document:1", "viewer", "user:bob")->has_value());
  EXPECT_FALSE(combined.read_user_tuple("document:1", "viewer", "user:carl")->has_value());
  MemoryTupleReader empty;
  CombinedTupleReader store_only(store, empty);
  EXPECT_EQ(**store_only.read_user_tuple("document:1", "viewer", "user:anne"), stored);
  auto combined_usersets = combined.read_userset_tuples("document:1", "viewer");
  ASSERT_TRUE(combined_usersets.ok());
  std::set<std::string> usersets;
  for (const TupleKey& t : *combined_usersets) usersets.insert(t.user);
  EXPECT_EQ(usersets, (std::set<std::string>{"group:a#member", "user:*"}));
}

TEST(EngineDirect, ResolvesDirectAssignmentByPointLookupsNeverAScan) {
  Engine engine = make_engine(documents_model());
  MemoryTupleReader store;
  for (int i = 0; i < 10000; ++i) {
    store.write(tk("group:big", "member", "user:" + std::to_string(i)));
  }
  store.write(tk("group:big", "member", "group:small#member"));
  store.write(tk("group:small", "member", "user:late"));
  store.write(tk("document:1", "viewer", "group:big#member"));
  CountingReader counting(store);

  auto member = engine.check(counting, {"group:big", "member", "user:9999", {}, nullptr});
  ASSERT_TRUE(member.ok()) << member.error().message;
  EXPECT_TRUE(member->allowed);
  EXPECT_EQ(counting.reads, 0);
  EXPECT_EQ(counting.point_reads, 1);  // the exact tuple; found, so nothing else is read
  EXPECT_EQ(counting.userset_reads, 0);

  counting.reset();
  auto nested = engine.check(counting, {"group:big", "member", "user:late", {}, nullptr});
  ASSERT_TRUE(nested.ok());
  EXPECT_TRUE(nested->allowed);
  EXPECT_EQ(counting.reads, 0);
  // Only the one userset tuple of group:big#member is listed, not its 10,000 members.
  EXPECT_EQ(counting.userset_tuples, 1);

  counting.reset();
  auto viewer = engine.check(counting, {"document:1", "viewer", "user:42", {}, nullptr});
  ASSERT_TRUE(viewer.ok());
  EXPECT_TRUE(viewer->allowed);
  auto stranger = engine.check(counting, {"document:1", "viewer", "user:nobody", {}, nullptr});
  ASSERT_TRUE(stranger.ok());
  EXPECT_FALSE(stranger->allowed);
  // document:1#viewer is [user, user:*, group#member] or editor or viewer from parent: the
  // parent tupleset is read whole (a tuple-to-userset needs every parent), nothing else is;
  // user:42 is found through group:big#member before the tuple-to-userset is reached.
  EXPECT_EQ(counting.reads, 1);  // document:1#parent, for user:nobody
  EXPECT_LE(counting.userset_tuples, 4);
}

TEST(EngineDirect, WildcardIsAPointLookupToo) {
  Engine engine = make_engine(documents_model());
  MemoryTupleReader store({tk("folder:pub", "viewer", "user:*")});
  CountingReader counting(store);
  auto result = engine.check(counting, {"folder:pub", "viewer", "user:anyone", {}, nullptr});
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(result->allowed);
  EXPECT_EQ(counting.point_reads, 2);  // user:anyone, then user:*
  EXPECT_EQ(counting.reads, 0);
  EXPECT_EQ(counting.userset_reads, 0);  // folder#viewer admits no usersets
}

TEST(EngineDirect, ContextualTuplesAreProbedToo) {
  Engine engine = make_engine(documents_model());
  MemoryTupleReader store;
  CountingReader counting(store);
  auto result = engine.check(
      counting,
      {"group:eng", "member", "user:zoe", {tk("group:eng", "member", "user:zoe")}, nullptr});
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(result->allowed);
  // The contextual tuple answered: the store was not asked.
  EXPECT_EQ(counting.point_reads, 0);
  EXPECT_EQ(counting.reads, 0);
}

TEST(EngineIndex, AnEngineMovedAroundKeepsItsModelIndex) {
  Engine first = make_engine(documents_model());
  Engine moved = std::move(first);
  std::vector<Engine> engines;
  engines.push_back(std::move(moved));
  engines.push_back(make_engine(documents_model()));  // may reallocate the vector
  MemoryTupleReader store({tk("document:1", "owner", "user:anne")});
  for (const Engine& engine : engines) {
    auto result = engine.check(store, {"document:1", "viewer", "user:anne", {}, nullptr});
    ASSERT_TRUE(result.ok()) << result.error().message;
    EXPECT_TRUE(result->allowed);
    auto invalid = engine.validate_tuple(tk("document:1", "owner", "group:a#member"));
    EXPECT_FALSE(invalid.ok());
    EXPECT_TRUE(engine.validate_tuple(tk("document:1", "editor", "group:a#member")).ok());
  }
}

TEST(EngineListObjects, UnionOnlyPathsNeedNoConfirmingCheck) {
  Engine engine = make_engine(documents_model());
  MemoryTupleReader store(
      {tk("group:eng", "member", "user:anne"), tk("document:1", "editor", "group:eng#member"),
       tk("document:2", "viewer", "user:anne"), tk("folder:x", "viewer", "user:anne"),
       tk("document:3", "parent", "folder:x"), tk("document:2", "blocked", "user:anne")});
  CountingReader counting(store);
  auto viewer =
      engine.list_objects(counting, {"document", "viewer", "user:anne", {}, nullptr, 0, ""});
  ASSERT_TRUE(viewer.ok()) << viewer.error().message;
  EXPECT_EQ(viewer->objects, (Strings{"document:1", "document:2", "document:3"}));
  // Reverse expansion only: every candidate was proven through unions, none checked.
  EXPECT_GT(counting.reverse_reads, 0);
  EXPECT_EQ(counting.point_reads, 0);
  EXPECT_EQ(counting.reads, 0);
  EXPECT_EQ(counting.userset_reads, 0);

  // `viewer but not blocked`: candidates under a difference are confirmed by a check.
  counting.reset();
  auto can_view =
      engine.list_objects(counting, {"document", "can_view", "user:anne", {}, nullptr, 0, ""});
  ASSERT_TRUE(can_view.ok()) << can_view.error().message;
  EXPECT_EQ(can_view->objects, (Strings{"document:1", "document:3"}));
  EXPECT_GT(counting.point_reads, 0);
}

TEST(EngineListObjects, AConditionThatCannotBeEvaluatedIsLeftToTheCheck) {
  Engine engine = make_engine(conditional_model());
  TupleKey t = tk("report:1", "viewer", "user:anne");
  t.condition = "in_region";
  t.context = {{"allowed", "eu"}};
  MemoryTupleReader store({t, tk("report:2", "viewer", "user:anne")});
  // `region` is missing: the check reports the error, as Check would.
  auto missing = engine.list_objects(store, {"report", "viewer", "user:anne", {}, nullptr, 0, ""});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::validation_error);
  auto denied =
      engine.list_objects(store, {"report", "viewer", "user:anne", {}, {{"region", "us"}}, 0, ""});
  ASSERT_TRUE(denied.ok()) << denied.error().message;
  EXPECT_EQ(denied->objects, Strings{"report:2"});
}

// Answering nested usersets from the user's side (reverse_fanout 1: whenever it can) must not
// change any answer, cycles among groups and exclusions included.
TEST(EngineProperties, UserSideShortcutAgreesWithTheDownwardCheck) {
  EngineOptions always;
  always.reverse_fanout = 1;
  EngineOptions never;
  never.reverse_fanout = 0;
  Engine fast = make_engine(documents_model(), always);
  Engine slow = make_engine(documents_model(), never);
  std::mt19937 rng(5);
  const Strings users{"user:a", "user:b", "user:c"};
  const Strings groups{"group:g1", "group:g2", "group:g3", "group:g4", "group:g5"};
  const Strings documents{"document:d1", "document:d2"};
  auto pick = [&](const Strings& from) { return from[rng() % from.size()]; };
  int allowed = 0;
  int compared = 0;
  for (int round = 0; round < 80; ++round) {
    MemoryTupleReader store;
    for (int i = 0; i < 16; ++i) {
      switch (rng() % 5) {
        case 0:
          store.write(tk(pick(groups), "member", pick(users)));
          break;
        case 1:
        case 2:
          store.write(tk(pick(groups), "member", pick(groups) + "#member"));  // cycles too
          break;
        case 3:
          store.write(
              tk(pick(documents), rng() % 2 == 0 ? "viewer" : "editor", pick(groups) + "#member"));
          break;
        default:
          store.write(tk(pick(documents), "blocked", pick(users)));
          break;
      }
    }
    for (const std::string& user : users) {
      for (const std::string& group : groups) {
        auto a = fast.check(store, {group, "member", user, {}, nullptr});
        auto b = slow.check(store, {group, "member", user, {}, nullptr});
        ASSERT_EQ(a.ok(), b.ok());
        if (a.ok()) {
          EXPECT_EQ(a->allowed, b->allowed) << group << "#member@" << user << " round " << round;
          allowed += a->allowed ? 1 : 0;
        }
        ++compared;
      }
      for (const std::string& document : documents) {
        for (const char* relation : {"viewer", "editor", "can_view", "can_publish"}) {
          auto a = fast.check(store, {document, relation, user, {}, nullptr});
          auto b = slow.check(store, {document, relation, user, {}, nullptr});
          ASSERT_EQ(a.ok(), b.ok());
          if (a.ok()) {
            EXPECT_EQ(a->allowed, b->allowed)
                << document << "#" << relation << "@" << user << " round " << round;
          }
          ++compared;
        }
      }
    }
  }
  EXPECT_GT(allowed, 50);  // the data is not all "no"
  EXPECT_EQ(compared, 80 * 3 * (5 + 2 * 4));
}

TEST(EngineDirect, NestedGroupsAreAnsweredFromTheUsersSide) {
  Engine engine = make_engine(documents_model());  // reverse_fanout 4
  MemoryTupleReader store;
  // group:root has 8 nested groups, each with 8 more; user:x is in one leaf.
  for (int i = 0; i < 8; ++i) {
    const std::string mid = "group:m" + std::to_string(i);
    store.write(tk("group:root", "member", mid + "#member"));
    for (int j = 0; j < 8; ++j) {
      store.write(
          tk(mid, "member", "group:l" + std::to_string(i) + "_" + std::to_string(j) + "#member"));
    }
  }
  store.write(tk("group:l7_7", "member", "user:x"));
  CountingReader counting(store);
  auto in = engine.check(counting, {"group:root", "member", "user:x", {}, nullptr});
  ASSERT_TRUE(in.ok());
  EXPECT_TRUE(in->allowed);
  // Downwards this is 1 + 8 + 64 groups, two reads each; from the user's side a handful.
  EXPECT_LT(counting.point_reads + counting.userset_reads, 10);
  counting.reset();
  auto out = engine.check(counting, {"group:root", "member", "user:y", {}, nullptr});
  ASSERT_TRUE(out.ok());
  EXPECT_FALSE(out->allowed);
  EXPECT_LT(counting.point_reads + counting.userset_reads, 10);
}

}  // namespace
}  // namespace tessera::fga
