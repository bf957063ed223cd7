#include "fga/engine.h"

#include <set>
#include <utility>

#include "fga/check.h"
#include "fga/memory_reader.h"

namespace tessera::fga {

Engine::Engine(Engine&&) noexcept = default;
Engine& Engine::operator=(Engine&&) noexcept = default;
Engine::~Engine() = default;

Result<Engine, Error> Engine::create(Model model, EngineOptions options) {
  if (options.resolve_node_limit < 1) {
    return Err(make_error(ErrorCode::validation_error, "resolve_node_limit must be at least 1"));
  }
  Engine engine;
  engine.compiled_ = std::make_unique<Compiled>();
  for (const auto& [name, condition] : model.conditions) {
    auto program = cel::Program::compile(condition.expression, condition.parameters);
    if (!program) {
      return Err(
          make_error(ErrorCode::invalid_authorization_model,
                     "condition '" + name + "' does not compile: " + program.error().message));
    }
    engine.compiled_->conditions.emplace(name, std::move(program).value());
  }
  engine.model_ = std::make_unique<Model>(std::move(model));
  // The index points into *model_, which stays put when the Engine moves.
  engine.compiled_->index = detail::ModelIndex(*engine.model_);
  engine.options_ = std::move(options);
  return engine;
}

Result<Ok, Error> Engine::validate_tuple(const TupleKey& tuple) const {
  auto ok = detail::tuple_allowed(compiled_->index, tuple);
  if (!ok) return Err(make_error(ErrorCode::invalid_tuple, ok.error()));
  return Ok{};
}

namespace {

// OpenFGA validateCheckRequest: the tuple key is validated loosely (validation.
// ValidateUserObjectRelation); any failure is a validation_error.
Result<Ok, Error> validate_check_key(const detail::ModelIndex& model, const CheckRequest& request) {
  const auto object = parse_object(request.object);
  if (!object || object->wildcard()) {
    return Err(make_error(ErrorCode::validation_error,
                          "invalid 'object' field: '" + request.object + "'"));
  }
  auto user = detail::user_allowed(model, request.user);
  if (!user) {
    return Err(make_error(ErrorCode::validation_error, "invalid 'user' field: " + user.error()));
  }
  if (!model.has_type(object->type)) {
    return Err(make_error(ErrorCode::validation_error,
                          "type '" + std::string(object->type) + "' not found"));
  }
  if (model.relation(object->type, request.relation) == nullptr) {
    return Err(make_error(ErrorCode::validation_error, "relation '" + std::string(object->type) +
                                                           "#" + request.relation + "' not found"));
  }
  return Ok{};
}

}  // namespace

Result<CheckResult, Error> Engine::check(TupleReader& store, const CheckRequest& request) const {
  auto key = validate_check_key(compiled_->index, request);
  if (!key) return Err(key.error());
  auto context = detail::check_context(request.context);
  if (!context) return Err(context.error());
  MemoryTupleReader contextual;
  auto loaded = detail::load_contextual_tuples(*this, request.contextual_tuples, contextual);
  if (!loaded) return Err(loaded.error());
  CombinedTupleReader reader(store, contextual);
  Evaluator evaluator(*this, reader, request.context);
  return evaluator.check(request.object, request.relation, request.user);
}

Result<std::vector<BatchCheckItemResult>, Error> Engine::batch_check(
    TupleReader& store, const std::vector<BatchCheckItem>& items) const {
  // OpenFGA BatchCheck: 1..maxChecksPerBatchCheck checks, each with a unique correlation id.
  if (items.empty() || items.size() > options_.max_batch_check_items) {
    return Err(make_error(
        ErrorCode::validation_error,
        "a batch holds 1 to " + std::to_string(options_.max_batch_check_items) + " checks"));
  }
  std::set<std::string_view> ids;
  for (const BatchCheckItem& item : items) {
    if (item.correlation_id.empty()) {
      return Err(make_error(ErrorCode::validation_error, "every check needs a correlation_id"));
    }
    if (!ids.insert(item.correlation_id).second) {
      return Err(make_error(ErrorCode::validation_error,
                            "duplicate correlation_id '" + item.correlation_id + "'"));
    }
  }
  std::vector<BatchCheckItemResult> results;
  results.reserve(items.size());
  for (const BatchCheckItem& item : items) {
    BatchCheckItemResult out;
    out.correlation_id = item.correlation_id;
    auto result = check(store, item.request);
    if (result) {
      out.allowed = result->allowed;
    } else {
      out.failed = true;
      out.error = result.error();
    }
    results.push_back(std::move(out));
  }
  return results;
}

nlohmann::json user_to_json(std::string_view user) {
  const auto u = parse_user(user);
  if (!u) return nlohmann::json::object();
  if (u->wildcard()) return {{"wildcard", {{"type", std::string(u->type)}}}};
  if (!u->relation.empty()) {
    return {{"userset",
             {{"type", std::string(u->type)},
              {"id", std::string(u->id)},
              {"relation", std::string(u->relation)}}}};
  }
  return {{"object", {{"type", std::string(u->type)}, {"id", std::string(u->id)}}}};
}

}  // namespace tessera::fga
