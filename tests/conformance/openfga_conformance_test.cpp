// OpenFGA's consolidated conformance suite (../shared/testdata/openfga/
// consolidated_1_1_tests.yaml, from openfga/openfga assets/tests) against the engine. One test
// case per YAML test. Like OpenFGA's runners (tests/check/check.go, tests/listobjects/
// listobjects.go, tests/listusers/listusers.go), every stage writes its model and tuples into
// one store shared by the test's stages, then runs its check, listObjects and listUsers
// assertions; every object ListObjects returns and every user ListUsers returns must also pass
// Check. Then, for single-stage tests, the whole test runs again with the stage's tuples sent
// as contextual tuples instead of stored ones (OpenFGA's "_ctxTuples" variant, which it does not
// run for multi-stage tests because their expectations rely on earlier stages' stored tuples).
// OpenFGA skips that variant for stages with more than 100 tuples, its API's contextual tuple
// limit; this runner raises the engine's limit for the variant instead and runs them too (no
// stage of the current file has that many).
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/worker_pool.h"
#include "fga/dsl.h"
#include "fga/engine.h"
#include "fga/memory_reader.h"

namespace tessera::fga {
namespace {

const char* const kSuite = TESSERA_SHARED_DIR "/testdata/openfga/consolidated_1_1_tests.yaml";

struct Suite {
  std::vector<YAML::Node> tests;
  std::vector<std::string> names;  // unique, for GoogleTest
  std::string load_error;
};

const Suite& suite() {
  static const Suite loaded = [] {
    Suite s;
    try {
      YAML::Node root = YAML::LoadFile(kSuite);
      std::map<std::string, int> seen;
      for (const YAML::Node& test : root["tests"]) {
        std::string name = test["name"].as<std::string>();
        for (char& c : name) {
          if (std::isalnum(static_cast<unsigned char>(c)) == 0) c = '_';
        }
        // The suite names one test twice (immediate_cycle_through_computed_userset).
        const int n = ++seen[name];
        if (n > 1) name += "_" + std::to_string(n);
        s.tests.push_back(test);
        s.names.push_back(name);
      }
    } catch (const std::exception& e) {
      s.load_error = std::string("cannot load ") + kSuite + ": " + e.what();
    }
    return s;
  }();
  return loaded;
}

std::vector<int> test_indices() {
  const Suite& s = suite();
  if (s.tests.empty()) return {-1};
  std::vector<int> indices(s.tests.size());
  for (size_t i = 0; i < indices.size(); ++i) indices[i] = static_cast<int>(i);
  return indices;
}

// Counts, printed at the end of the run.
struct Tally {
  int checks = 0;
  int list_objects = 0;
  int list_users = 0;
  int failed = 0;
  int concurrent_fan_outs = 0;
};
Tally& tally() {
  static Tally t;
  return t;
}

nlohmann::json to_json(const YAML::Node& node) {
  if (!node || node.IsNull()) return nullptr;
  if (node.IsMap()) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& kv : node) out[kv.first.as<std::string>()] = to_json(kv.second);
    return out;
  }
  if (node.IsSequence()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& item : node) out.push_back(to_json(item));
    return out;
  }
  const std::string text = node.as<std::string>();
  if (node.Tag() != "!") {  // an unquoted scalar may be a number or a boolean
    int64_t i = 0;
    double d = 0;
    bool b = false;
    if (YAML::convert<int64_t>::decode(node, i)) return i;
    if (YAML::convert<double>::decode(node, d)) return d;
    if (YAML::convert<bool>::decode(node, b)) return b;
  }
  return text;
}

TupleKey to_tuple(const YAML::Node& node) {
  TupleKey t;
  t.object = node["object"].as<std::string>("");
  t.relation = node["relation"].as<std::string>("");
  t.user = node["user"].as<std::string>("");
  if (const YAML::Node condition = node["condition"]) {
    t.condition = condition["name"].as<std::string>("");
    t.context = to_json(condition["context"]);
  }
  return t;
}

std::vector<TupleKey> to_tuples(const YAML::Node& node) {
  std::vector<TupleKey> out;
  if (!node || !node.IsSequence()) return out;
  for (const YAML::Node& item : node) out.push_back(to_tuple(item));
  return out;
}

std::vector<std::string> to_strings(const YAML::Node& node) {
  std::vector<std::string> out;
  if (!node || !node.IsSequence()) return out;
  for (const YAML::Node& item : node) out.push_back(item.as<std::string>());
  std::sort(out.begin(), out.end());
  return out;
}

std::string join(const std::vector<std::string>& items) {
  std::string out = "[";
  for (const std::string& s : items) out += (out.size() > 1 ? ", " : "") + s;
  return out + "]";
}

std::optional<int> error_code(const YAML::Node& assertion) {
  if (const YAML::Node code = assertion["errorCode"]; code && !code.IsNull()) {
    return code.as<int>();
  }
  return std::nullopt;
}

class StageRunner {
 public:
  StageRunner(const Engine& engine, MemoryTupleReader& store, std::vector<TupleKey> stage_tuples,
              bool contextual)
      : engine_(engine),
        store_(store),
        stage_tuples_(std::move(stage_tuples)),
        contextual_(contextual) {}

  std::vector<TupleKey> contextual_tuples(const YAML::Node& assertion) const {
    std::vector<TupleKey> tuples = to_tuples(assertion["contextualTuples"]);
    if (contextual_) tuples.insert(tuples.end(), stage_tuples_.begin(), stage_tuples_.end());
    return tuples;
  }

  void check(const YAML::Node& a, size_t index) {
    ++tally().checks;
    SCOPED_TRACE("checkAssertions[" + std::to_string(index) + "]");
    CheckRequest request;
    request.object = a["tuple"]["object"].as<std::string>("");
    request.relation = a["tuple"]["relation"].as<std::string>("");
    request.user = a["tuple"]["user"].as<std::string>("");
    request.contextual_tuples = contextual_tuples(a);
    request.context = to_json(a["context"]);
    const std::string what =
        "Check(" + request.object + "#" + request.relation + "@" + request.user + ")";
    auto result = engine_.check(store_, request);
    if (result.ok()) tally().concurrent_fan_outs += result->concurrent_fan_outs;
    if (auto code = error_code(a)) {
      if (result.ok()) {
        fail(what + " answered " + (result->allowed ? "true" : "false") + ", expected error " +
             std::to_string(*code));
      } else if (static_cast<int>(result.error().code) != *code) {
        fail(what + " failed with " + std::to_string(static_cast<int>(result.error().code)) + " (" +
             result.error().message + "), expected " + std::to_string(*code));
      }
      return;
    }
    const bool expected = a["expectation"].as<bool>(false);
    if (!result.ok()) {
      fail(what + " failed: " + std::to_string(static_cast<int>(result.error().code)) + " " +
           result.error().message);
    } else if (result->allowed != expected) {
      fail(what + " answered " + (result->allowed ? "true" : "false") + ", expected " +
           (expected ? "true" : "false"));
    }
  }

  void list_objects(const YAML::Node& a, size_t index) {
    ++tally().list_objects;
    SCOPED_TRACE("listObjectsAssertions[" + std::to_string(index) + "]");
    const YAML::Node r = a["request"];
    ListObjectsRequest request;
    request.type = r["type"].as<std::string>("");
    request.relation = r["relation"].as<std::string>("");
    request.user = r["user"].as<std::string>("");
    request.contextual_tuples = contextual_tuples(a);
    request.context = to_json(a["context"]);
    // Small pages, so every answer also walks the continuation tokens.
    request.page_size = 2;
    const std::string what =
        "ListObjects(" + request.type + "#" + request.relation + "@" + request.user + ")";
    std::vector<std::string> objects;
    std::optional<Error> error;
    for (int page = 0; page < 10000; ++page) {
      auto result = engine_.list_objects(store_, request);
      if (!result.ok()) {
        error = result.error();
        break;
      }
      objects.insert(objects.end(), result->objects.begin(), result->objects.end());
      if (result->continuation_token.empty()) break;
      request.continuation_token = result->continuation_token;
    }
    if (auto code = error_code(a)) {
      if (!error) {
        fail(what + " answered " + join(objects) + ", expected error " + std::to_string(*code));
      } else if (static_cast<int>(error->code) != *code) {
        fail(what + " failed with " + std::to_string(static_cast<int>(error->code)) + " (" +
             error->message + "), expected " + std::to_string(*code));
      }
      return;
    }
    if (error) {
      fail(what + " failed: " + std::to_string(static_cast<int>(error->code)) + " " +
           error->message);
      return;
    }
    std::vector<std::string> sorted = objects;
    std::sort(sorted.begin(), sorted.end());
    if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) {
      fail(what + " repeated an object: " + join(objects));
    }
    const std::vector<std::string> expected = to_strings(a["expectation"]);
    if (sorted != expected) {
      fail(what + " answered " + join(sorted) + ", expected " + join(expected));
    }
    // OpenFGA's runner: every object returned must pass Check.
    for (const std::string& object : objects) {
      CheckRequest check{object, request.relation, request.user, request.contextual_tuples,
                         request.context};
      auto result = engine_.check(store_, check);
      if (!result.ok() || !result->allowed) {
        fail(what + " returned " + std::string(object).append(" but Check does not allow it"));
      }
    }
  }

  void list_users(const YAML::Node& a, size_t index) {
    ++tally().list_users;
    SCOPED_TRACE("listUsersAssertions[" + std::to_string(index) + "]");
    const YAML::Node r = a["request"];
    ListUsersRequest request;
    request.object = r["object"].as<std::string>("");
    request.relation = r["relation"].as<std::string>("");
    for (const std::string& filter : to_strings(r["filters"])) {
      const size_t hash = filter.find('#');
      request.user_filters.push_back(
          hash == std::string::npos ? UserFilter{filter, ""}
                                    : UserFilter{filter.substr(0, hash), filter.substr(hash + 1)});
    }
    request.contextual_tuples = contextual_tuples(a);
    request.context = to_json(a["context"]);
    const std::string what = "ListUsers(" + request.object + "#" + request.relation + " " +
                             join(to_strings(r["filters"])) + ")";
    auto result = engine_.list_users(store_, request);
    if (auto code = error_code(a)) {
      if (result.ok()) {
        fail(what + " answered " + join(result->users) + ", expected error " +
             std::to_string(*code));
      } else if (static_cast<int>(result.error().code) != *code) {
        fail(what + " failed with " + std::to_string(static_cast<int>(result.error().code)) + " (" +
             result.error().message + "), expected " + std::to_string(*code));
      }
      return;
    }
    if (!result.ok()) {
      fail(what + " failed: " + std::to_string(static_cast<int>(result.error().code)) + " " +
           result.error().message);
      return;
    }
    std::vector<std::string> users = result->users;
    std::sort(users.begin(), users.end());
    const std::vector<std::string> expected = to_strings(a["expectation"]);
    if (users != expected) fail(what + " answered " + join(users) + ", expected " + join(expected));
    // OpenFGA's runner: every user returned must pass Check.
    for (const std::string& user : users) {
      CheckRequest check{request.object, request.relation, user, request.contextual_tuples,
                         request.context};
      auto checked = engine_.check(store_, check);
      if (!checked.ok() || !checked->allowed) {
        fail(what + " returned " + std::string(user).append(" but Check does not allow it"));
      }
    }
  }

 private:
  static void fail(const std::string& message) {
    ++tally().failed;
    ADD_FAILURE() << message;
  }

  const Engine& engine_;
  MemoryTupleReader& store_;
  std::vector<TupleKey> stage_tuples_;
  bool contextual_;
};

// `reverse_fanout`: EngineOptions::reverse_fanout; 1 answers every userset it can from the
// user's side, so both ways of resolving usersets are held to the suite. `branches`: a pool on
// which every fan-out of every check runs concurrently (branch_concurrency_after 0), so the
// concurrent evaluation is held to the suite too.
void run_test(const YAML::Node& test, bool contextual, size_t reverse_fanout,
              std::shared_ptr<WorkerPool> branches = nullptr) {
  MemoryTupleReader store;  // one store for all the test's stages
  size_t stage_index = 0;
  for (const YAML::Node& stage : test["stages"]) {
    SCOPED_TRACE(std::string(contextual ? "tuples as contextual tuples" : "stored tuples") +
                 ", reverse fanout " + std::to_string(reverse_fanout) +
                 (branches ? ", concurrent branches" : "") + ", stage " +
                 std::to_string(stage_index++));
    const std::string text = stage["model"].as<std::string>();
    auto parsed = parse_dsl(text);
    if (!parsed.ok()) {
      ADD_FAILURE() << "model does not parse at " << parsed.error().line << ":"
                    << parsed.error().column << ": " << parsed.error().message << "\n"
                    << text;
      ++tally().failed;
      return;
    }
    if (auto valid = validate_model(*parsed); !valid.ok()) {
      ADD_FAILURE() << "model is refused: " << valid.error().message << "\n" << text;
      ++tally().failed;
      return;
    }
    const std::vector<TupleKey> tuples = to_tuples(stage["tuples"]);
    EngineOptions options;
    options.reverse_fanout = reverse_fanout;
    if (branches) {
      options.branch_pool = branches;
      options.branch_concurrency_after = 0;
    }
    if (contextual) options.max_contextual_tuples = tuples.size() + kDefaultMaxContextualTuples;
    auto engine = Engine::create(std::move(parsed).value(), options);
    if (!engine.ok()) {
      ADD_FAILURE() << "engine refuses the model: " << engine.error().message;
      ++tally().failed;
      return;
    }
    if (!contextual) {
      // OpenFGA's runner writes the tuples against the stage's model, which validates them.
      for (const TupleKey& t : tuples) {
        if (auto valid = engine->validate_tuple(t); !valid.ok()) {
          ADD_FAILURE() << "tuple " << t.object << "#" << t.relation << "@" << t.user
                        << " is refused: " << valid.error().message;
          ++tally().failed;
        }
        store.write(t);
      }
    }
    StageRunner runner(*engine, store, contextual ? tuples : std::vector<TupleKey>{}, contextual);
    size_t i = 0;
    for (const YAML::Node& a : stage["checkAssertions"]) runner.check(a, i++);
    i = 0;
    for (const YAML::Node& a : stage["listObjectsAssertions"]) runner.list_objects(a, i++);
    i = 0;
    for (const YAML::Node& a : stage["listUsersAssertions"]) runner.list_users(a, i++);
  }
}

class OpenFgaConformance : public ::testing::TestWithParam<int> {
 public:
  static void TearDownTestSuite() {
    std::printf(
        "OpenFGA conformance: %zu tests; assertions run: %d checks, %d listObjects, %d "
        "listUsers; %d failed; %d checks' fan-outs ran on several threads\n",
        suite().tests.size(), tally().checks, tally().list_objects, tally().list_users,
        tally().failed, tally().concurrent_fan_outs);
  }
};

TEST_P(OpenFgaConformance, Passes) {
  const Suite& s = suite();
  ASSERT_GE(GetParam(), 0) << s.load_error;
  const YAML::Node& test = s.tests[static_cast<size_t>(GetParam())];
  try {
    for (const size_t fanout : {kDefaultReverseFanout, size_t{1}}) {
      run_test(test, false, fanout);
      if (test["stages"].size() == 1) run_test(test, true, fanout);
    }
    static const auto pool = std::make_shared<WorkerPool>(3, 4096);
    run_test(test, false, kDefaultReverseFanout, pool);
    if (test["stages"].size() == 1) run_test(test, true, kDefaultReverseFanout, pool);
  } catch (const std::exception& e) {
    FAIL() << "malformed test: " << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(Consolidated, OpenFgaConformance, ::testing::ValuesIn(test_indices()),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return info.param < 0 ? std::string("load_error")
                                                 : suite().names[static_cast<size_t>(info.param)];
                         });

}  // namespace
}  // namespace tessera::fga
