// Conditions: the subset of CEL (Common Expression Language) that OpenFGA accepts in
// `condition name(params) { expression }`, compiled once per model and evaluated per tuple.
#pragma once

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "fga/model.h"

namespace tessera::fga::cel {

struct CelError {
  std::string message;
};

// The outcome of evaluating a condition.
struct Evaluation {
  bool value = false;
  // Declared parameters absent from the context. Non-empty means the condition could not be
  // evaluated: the engine reports an error naming them, never a silent false.
  std::vector<std::string> missing;
};

class Program {
 public:
  // Parses and type-checks `expression` against the declared parameters. The result type
  // must be bool. Errors name the position in the expression.
  static Result<Program, CelError> compile(std::string_view expression,
                                           const std::map<std::string, ParamTypeRef>& params);

  // Evaluates with `context`, a JSON object holding parameter values (the tuple's context
  // merged with the request's). Values are converted to their declared types (a duration as
  // "1h30m", a timestamp as RFC 3339, an ipaddress as text); a value that does not convert,
  // a runtime error (division by zero, overflow, no such key) is a CelError.
  Result<Evaluation, CelError> evaluate(const nlohmann::json& context) const;

  Program(Program&&) noexcept;
  Program& operator=(Program&&) noexcept;
  ~Program();

 private:
  struct Impl;
  explicit Program(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tessera::fga::cel
