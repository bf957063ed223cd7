// The syntax tree of a CEL expression (CEL langdef "Syntax"), as the parser builds it and the
// checker annotates it. Internal to src/fga/cel*.cpp.
#pragma once

#include <cstdint>
#include <memory>
#include <regex>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/result.h"
#include "fga/cel.h"
#include "fga/cel_value.h"

namespace tessera::fga::cel::detail {

// Limits on what compile() accepts. cel-go's parser defaults (ExpressionSizeCodePointLimit
// 100000, MaxRecursionDepth 250), so that an expression OpenFGA accepts is accepted here.
constexpr size_t kMaxExpressionCodePoints = 100000;
// Depth of the syntax tree (`a + b + c` is three deep; `a || b || c` one n-ary node). Also
// bounds the recursion of the checker and the evaluator: at these limits compile() and
// evaluate() fit in a 256 KiB thread stack (tests/unit/fga/cel_test.cpp checks it).
constexpr int kMaxAstDepth = 250;
// Nested sub-expressions (parentheses, arguments, list and map elements): cel-go's
// MaxRecursionDepth counts the same thing.
constexpr int kMaxNesting = 250;

enum class Op : uint8_t {
  Literal,
  Ident,        // name; slot set by the checker
  Select,       // args[0].name
  Has,          // has(args[0].name): args = {operand}, name = field
  Index,        // args[0][args[1]]
  List,         // [args...]
  Map,          // {args[0]: args[1], args[2]: args[3], ...}
  Conditional,  // args[0] ? args[1] : args[2]
  And,          // n-ary &&
  Or,           // n-ary ||
  Not,
  Neg,
  Add,
  Sub,
  Mul,
  Div,
  Mod,
  Eq,
  Ne,
  Lt,
  Le,
  Gt,
  Ge,
  In,
  Call,  // name(args...) or args[0].name(args[1...]) when receiver
  // Comprehension macros: name = iteration variable, args[0] = range, then the body.
  All,        // {range, predicate}
  Exists,     // {range, predicate}
  ExistsOne,  // {range, predicate}
  MapMacro,   // {range, transform} or {range, filter, transform}
  Filter,     // {range, predicate}
};

// Functions the checker resolves a Call to.
enum class Fn : uint8_t {
  None,
  Size,
  Contains,
  StartsWith,
  EndsWith,
  Matches,
  ToInt,
  ToUint,
  ToDouble,
  ToString,
  ToBytes,
  ToBool,
  ToTimestamp,
  ToDuration,
  ToDyn,
  ToIpAddress,
  InCidr,
  GetFullYear,
  GetMonth,
  GetDate,
  GetDayOfMonth,
  GetDayOfWeek,
  GetDayOfYear,
  GetHours,
  GetMinutes,
  GetSeconds,
  GetMilliseconds,
};

// A matches() pattern ready to run. CEL patterns are RE2 syntax (langdef "Regular
// Expressions"); this uses std::regex's ECMAScript grammar, which agrees on the common subset
// (classes, \d \w \s, anchors, groups, alternation, {n,m}, lazy quantifiers). Differences:
// of RE2's inline flags only a leading "(?i)" is honoured; backreferences are refused (as by
// RE2) but ECMAScript lookahead is accepted; matching is on UTF-8 bytes, so `.` matches one
// byte, not one code point. libstdc++'s polynomial (Thompson NFA) executor runs it, so a
// match costs subject size x automaton size and no stack per subject character (the default
// backtracking executor recurses per character and can take exponential time); the pattern
// is wrapped as `[\s\S]*(?:pattern)[\s\S]*` and matched whole, one linear pass.
struct CompiledRegex {
  std::regex matcher;
  uint64_t size = 0;  // estimate of the automaton's size, for the evaluation cost
};

struct Expr {
  Op op = Op::Literal;
  uint32_t line = 1;
  uint32_t col = 1;  // 1-based, in code points
  int depth = 1;
  Value literal;
  std::string name;
  std::vector<std::unique_ptr<Expr>> args;
  bool receiver = false;
  bool n_ary_open = false;  // parser only: an && / || chain that may still grow
  // Set by the checker.
  int slot = -1;  // Ident: value slot; comprehension: the iteration variable's slot
  Fn fn = Fn::None;
  // matches() with a literal pattern: compiled once (or the reason it does not compile).
  std::shared_ptr<const CompiledRegex> regex;
  std::string regex_error;
};

// "line:col: message", the form every CelError takes.
std::string at(const Expr& e, std::string_view message);

Result<std::unique_ptr<Expr>, CelError> parse(std::string_view source);

// CEL's name for an operator, as in messages ("_+_", "@in", "_[_]").
const char* op_name(Op op);

// Compiles a matches() pattern, or says why it is refused (an evaluation error, as in cel-go).
std::variant<std::shared_ptr<const CompiledRegex>, std::string> compile_regex(
    std::string_view pattern);

// Type-checks `root` against the declared parameters (parameter i gets value slot i), setting
// slots and functions on the tree. Returns the number of value slots evaluation needs.
Result<int, CelError> check(Expr& root,
                            const std::vector<std::pair<std::string, ParamTypeRef>>& params);

// Converts `context` to the declared parameter types and evaluates the checked tree.
Result<Evaluation, CelError> evaluate(
    const Expr& root, const std::vector<std::pair<std::string, ParamTypeRef>>& params,
    int slot_count, const nlohmann::json& context);

}  // namespace tessera::fga::cel::detail
