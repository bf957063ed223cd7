// OpenFGA conditions: the CEL environment of openfga/openfga internal/condition (cel-go's
// standard library and macros, the parameter types of internal/condition/types, and the
// custom `ipaddress` type with `in_cidr`). compile() parses and type-checks once;
// evaluate() converts the context to the declared parameter types and runs the tree.
//
// Semantics follow cel-go as OpenFGA configures it:
// - a declared parameter absent from the context is "unknown" (OpenFGA evaluates with
//   cel.OptPartialEval): it is listed in Evaluation::missing, and the expression still
//   evaluates when the known parameters decide it (`true || x`);
// - `&&` and `||` are commutative: an error or unknown on one side is absorbed when the other
//   side decides the result (CEL langdef "Logical Operators");
// - int and uint arithmetic raise an error on overflow (CEL langdef "Overflow");
// - cross-type numeric comparisons are rejected by the checker (OpenFGA does not enable
//   cel.CrossTypeNumericComparisons) but values of type dyn compare numerically at run time.
#include "fga/cel.h"

#include <utility>

#include "fga/cel_ast.h"

namespace tessera::fga::cel {

using detail::Expr;

// ---- Program -------------------------------------------------------------------------------

struct Program::Impl {
  std::unique_ptr<Expr> root;
  // Declared parameters in name order, each with its value slot (0..n-1).
  std::vector<std::pair<std::string, ParamTypeRef>> params;
  int slot_count = 0;
};

Program::Program(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Program::Program(Program&&) noexcept = default;
Program& Program::operator=(Program&&) noexcept = default;
Program::~Program() = default;

Result<Program, CelError> Program::compile(std::string_view expression,
                                           const std::map<std::string, ParamTypeRef>& params) {
  try {
    auto parsed = detail::parse(expression);
    if (!parsed) return Err(parsed.error());
    auto impl = std::make_unique<Impl>();
    impl->root = std::move(parsed.value());
    for (const auto& [name, type] : params) impl->params.emplace_back(name, type);
    auto slots = detail::check(*impl->root, impl->params);
    if (!slots) return Err(slots.error());
    impl->slot_count = *slots;
    return Program(std::move(impl));
  } catch (const std::exception& ex) {
    return Err(CelError{std::string("failed to compile condition: ") + ex.what()});
  }
}

Result<Evaluation, CelError> Program::evaluate(const nlohmann::json& context) const {
  return detail::evaluate(*impl_->root, impl_->params, impl_->slot_count, context);
}

}  // namespace tessera::fga::cel
