// Type checking of a parsed condition (cel-go's checker, as OpenFGA's environment
// declares it): every identifier is a declared parameter or a comprehension variable, every
// operator and function has a matching overload, and the result is bool.
#include <algorithm>
#include <optional>
#include <utility>

#include "fga/cel_ast.h"

namespace tessera::fga::cel::detail {

namespace {

// matches() patterns (see CompiledRegex in cel_ast.h): the pattern's length, each counted
// repetition (RE2's limit, 1000), and the estimated automaton size are bounded.
constexpr size_t kMaxRegexPatternBytes = 1024;
constexpr uint64_t kMaxRegexRepeat = 1000;
constexpr uint64_t kMaxRegexSize = 50000;

// Upper bound of the automaton's size: pattern length times the product of its counted
// repetitions ({n}, {n,}, {n,m}); nullopt beyond the limits.
std::optional<uint64_t> regex_size(std::string_view p) {
  uint64_t product = 1;
  bool in_class = false;
  for (size_t i = 0; i < p.size(); ++i) {
    char c = p[i];
    if (c == '\\') {
      ++i;
      continue;
    }
    if (in_class) {
      if (c == ']') in_class = false;
      continue;
    }
    if (c == '[') {
      in_class = true;
      if (i + 1 < p.size() && p[i + 1] == '^') ++i;
      if (i + 1 < p.size() && p[i + 1] == ']') ++i;  // a leading ']' is a literal
      continue;
    }
    if (c != '{') continue;
    uint64_t bound = 0;
    size_t j = i + 1;
    bool digits = false;
    while (j < p.size() && ((p[j] >= '0' && p[j] <= '9') || p[j] == ',')) {
      if (p[j] != ',') {
        digits = true;
        uint64_t n = 0;
        while (j < p.size() && p[j] >= '0' && p[j] <= '9') {
          n = std::min<uint64_t>(n * 10 + static_cast<uint64_t>(p[j] - '0'), kMaxRegexRepeat + 1);
          ++j;
        }
        bound = std::max(bound, n);
        continue;
      }
      ++j;
    }
    if (!digits || j >= p.size() || p[j] != '}') continue;
    if (bound > kMaxRegexRepeat) return std::nullopt;
    product = std::min<uint64_t>(product * std::max<uint64_t>(bound, 1), kMaxRegexSize + 1);
  }
  uint64_t size = (p.size() + 16) * product;
  if (size > kMaxRegexSize) return std::nullopt;
  return size;
}

// ---- Types (checker) -----------------------------------------------------------------------

struct Type {
  enum K : uint8_t {
    Dyn,
    Null,
    Bool,
    Int,
    Uint,
    Double,
    String,
    Bytes,
    Duration,
    Timestamp,
    IpAddress,
    List,
    Map
  };
  K k = Dyn;
  std::vector<Type> params;  // List: {elem}; Map: {key, value}

  static Type of(K k) { return Type{k, {}}; }
  static Type list(Type elem) { return Type{List, {std::move(elem)}}; }
  static Type map(Type key, Type value) { return Type{Map, {std::move(key), std::move(value)}}; }
  bool operator==(const Type&) const = default;
};

// Types without parameters hold empty vectors: constructing them allocates nothing.
// NOLINTBEGIN(cert-err58-cpp)
const Type kDyn = Type::of(Type::Dyn);
const Type kBool = Type::of(Type::Bool);
const Type kInt = Type::of(Type::Int);
const Type kUint = Type::of(Type::Uint);
const Type kDouble = Type::of(Type::Double);
const Type kString = Type::of(Type::String);
const Type kBytes = Type::of(Type::Bytes);
const Type kDuration = Type::of(Type::Duration);
const Type kTimestamp = Type::of(Type::Timestamp);
const Type kIp = Type::of(Type::IpAddress);
// NOLINTEND(cert-err58-cpp)

std::string show(const Type& t) {
  switch (t.k) {
    case Type::Dyn:
      return "dyn";
    case Type::Null:
      return "null_type";
    case Type::Bool:
      return "bool";
    case Type::Int:
      return "int";
    case Type::Uint:
      return "uint";
    case Type::Double:
      return "double";
    case Type::String:
      return "string";
    case Type::Bytes:
      return "bytes";
    case Type::Duration:
      return "google.protobuf.Duration";
    case Type::Timestamp:
      return "google.protobuf.Timestamp";
    case Type::IpAddress:
      return "IPAddress";
    case Type::List:
      return "list(" + show(t.params[0]) + ")";
    case Type::Map:
      return "map(" + show(t.params[0]) + ", " + show(t.params[1]) + ")";
  }
  return "dyn";
}

// Gradual typing: dyn is compatible with every type, in either direction.
bool compatible(const Type& a, const Type& b) {
  if (a.k == Type::Dyn || b.k == Type::Dyn) return true;
  if (a.k != b.k || a.params.size() != b.params.size()) return false;
  for (size_t i = 0; i < a.params.size(); ++i) {
    if (!compatible(a.params[i], b.params[i])) return false;
  }
  return true;
}

Type join(const Type& a, const Type& b) { return a == b ? a : kDyn; }

Type from_param(const ParamTypeRef& p) {
  auto generic = [&]() { return p.generic.empty() ? kDyn : from_param(p.generic[0]); };
  switch (p.type) {
    case ParamType::Any:
      return kDyn;
    case ParamType::Bool:
      return kBool;
    case ParamType::String:
      return kString;
    case ParamType::Int:
      return kInt;
    case ParamType::Uint:
      return kUint;
    case ParamType::Double:
      return kDouble;
    case ParamType::Duration:
      return kDuration;
    case ParamType::Timestamp:
      return kTimestamp;
    case ParamType::IpAddress:
      return kIp;
    case ParamType::List:
      return Type::list(generic());
    // OpenFGA map<T> is map(string, T) (internal/condition/types).
    case ParamType::Map:
      return Type::map(kString, generic());
  }
  return kDyn;
}

// One overload of a function or operator (cel-go's standard declarations).
struct Sig {
  const char* name;
  Fn fn;
  bool receiver;
  std::vector<Type> params;  // receiver first when receiver-style
  Type result;
};

const std::vector<Sig>& functions() {
  static const std::vector<Sig> kSigs = [] {
    const Type any_list = Type::list(kDyn);
    const Type any_map = Type::map(kDyn, kDyn);
    std::vector<Sig> s;
    for (bool recv : {false, true}) {
      for (const Type& t : {kString, kBytes, any_list, any_map}) {
        s.push_back({"size", Fn::Size, recv, {t}, kInt});
      }
    }
    s.push_back({"contains", Fn::Contains, true, {kString, kString}, kBool});
    s.push_back({"startsWith", Fn::StartsWith, true, {kString, kString}, kBool});
    s.push_back({"endsWith", Fn::EndsWith, true, {kString, kString}, kBool});
    s.push_back({"matches", Fn::Matches, true, {kString, kString}, kBool});
    s.push_back({"matches", Fn::Matches, false, {kString, kString}, kBool});
    for (const Type& t : {kInt, kUint, kDouble, kString, kTimestamp, kDuration}) {
      s.push_back({"int", Fn::ToInt, false, {t}, kInt});
    }
    for (const Type& t : {kUint, kInt, kDouble, kString}) {
      s.push_back({"uint", Fn::ToUint, false, {t}, kUint});
    }
    for (const Type& t : {kDouble, kInt, kUint, kString}) {
      s.push_back({"double", Fn::ToDouble, false, {t}, kDouble});
    }
    for (const Type& t : {kString, kBool, kInt, kUint, kDouble, kBytes, kTimestamp, kDuration}) {
      s.push_back({"string", Fn::ToString, false, {t}, kString});
    }
    for (const Type& t : {kBytes, kString}) s.push_back({"bytes", Fn::ToBytes, false, {t}, kBytes});
    for (const Type& t : {kBool, kString}) s.push_back({"bool", Fn::ToBool, false, {t}, kBool});
    for (const Type& t : {kTimestamp, kString, kInt}) {
      s.push_back({"timestamp", Fn::ToTimestamp, false, {t}, kTimestamp});
    }
    for (const Type& t : {kDuration, kString}) {
      s.push_back({"duration", Fn::ToDuration, false, {t}, kDuration});
    }
    s.push_back({"dyn", Fn::ToDyn, false, {kDyn}, kDyn});
    // OpenFGA internal/condition/types/ipaddress.go.
    s.push_back({"ipaddress", Fn::ToIpAddress, false, {kString}, kIp});
    s.push_back({"in_cidr", Fn::InCidr, true, {kIp, kString}, kBool});
    const std::pair<const char*, Fn> kTimestampOnly[] = {
        {"getFullYear", Fn::GetFullYear},   {"getMonth", Fn::GetMonth},
        {"getDate", Fn::GetDate},           {"getDayOfMonth", Fn::GetDayOfMonth},
        {"getDayOfWeek", Fn::GetDayOfWeek}, {"getDayOfYear", Fn::GetDayOfYear},
    };
    const std::pair<const char*, Fn> kBoth[] = {
        {"getHours", Fn::GetHours},
        {"getMinutes", Fn::GetMinutes},
        {"getSeconds", Fn::GetSeconds},
        {"getMilliseconds", Fn::GetMilliseconds},
    };
    for (const auto& [name, fn] : kTimestampOnly) {
      s.push_back({name, fn, true, {kTimestamp}, kInt});
      s.push_back({name, fn, true, {kTimestamp, kString}, kInt});
    }
    for (const auto& [name, fn] : kBoth) {
      s.push_back({name, fn, true, {kTimestamp}, kInt});
      s.push_back({name, fn, true, {kTimestamp, kString}, kInt});
      s.push_back({name, fn, true, {kDuration}, kInt});
    }
    return s;
  }();
  return kSigs;
}

struct OpSig {
  std::vector<Type> params;
  Type result;
};

std::vector<OpSig> operator_sigs(Op op) {
  std::vector<OpSig> s;
  auto same = [&](std::initializer_list<Type> types, const Type* result) {
    for (const Type& t : types) s.push_back({{t, t}, result != nullptr ? *result : t});
  };
  switch (op) {
    case Op::Add:
      same({kInt, kUint, kDouble, kString, kBytes}, nullptr);
      s.push_back({{kTimestamp, kDuration}, kTimestamp});
      s.push_back({{kDuration, kTimestamp}, kTimestamp});
      s.push_back({{kDuration, kDuration}, kDuration});
      break;
    case Op::Sub:
      same({kInt, kUint, kDouble}, nullptr);
      s.push_back({{kTimestamp, kTimestamp}, kDuration});
      s.push_back({{kTimestamp, kDuration}, kTimestamp});
      s.push_back({{kDuration, kDuration}, kDuration});
      break;
    case Op::Mul:
    case Op::Div:
      same({kInt, kUint, kDouble}, nullptr);
      break;
    case Op::Mod:
      same({kInt, kUint}, nullptr);
      break;
    case Op::Lt:
    case Op::Le:
    case Op::Gt:
    case Op::Ge:
      same({kBool, kInt, kUint, kDouble, kString, kBytes, kTimestamp, kDuration}, &kBool);
      break;
    case Op::Neg:
      s.push_back({{kInt}, kInt});
      s.push_back({{kDouble}, kDouble});
      break;
    case Op::Not:
      s.push_back({{kBool}, kBool});
      break;
    default:
      break;
  }
  return s;
}

struct Variable {
  std::string name;
  Type type;
  int slot;
};

class Checker {
 public:
  Checker(std::vector<Variable> params, int first_free_slot)
      : scope_(std::move(params)), next_slot_(first_free_slot) {}

  // Checks the children first, then resolves the node from their types in a separate,
  // non-recursive step: the recursion keeps a small frame per tree level.
  std::optional<Type> check(Expr& e) {
    switch (e.op) {
      case Op::Literal:
        return literal_type(e.literal);
      case Op::Ident:
        return ident(e);
      case Op::All:
      case Op::Exists:
      case Op::ExistsOne:
      case Op::MapMacro:
      case Op::Filter:
        return comprehension(e);
      default:
        break;
    }
    auto types = operands(e);
    if (!types) return std::nullopt;
    return resolve(e, *types);
  }

  std::string error_;
  int slots() const { return next_slot_; }

 private:
  std::nullopt_t fail(const Expr& e, const std::string& message) {
    if (error_.empty()) error_ = detail::at(e, message);
    return std::nullopt;
  }

  static std::string list_types(const std::vector<Type>& types, size_t from = 0) {
    std::string out;
    for (size_t i = from; i < types.size(); ++i) {
      if (i > from) out += ", ";
      out += show(types[i]);
    }
    return out;
  }

  std::nullopt_t no_overload(const Expr& e, const std::vector<Type>& types) {
    return fail(e, std::string("found no matching overload for '") + op_name(e.op) +
                       "' applied to '(" + list_types(types) + ")'");
  }

  [[gnu::noinline]] std::optional<std::vector<Type>> operands(Expr& e) {
    std::vector<Type> types;
    for (auto& a : e.args) {
      auto t = check(*a);
      if (!t) return std::nullopt;
      types.push_back(*t);
    }
    return types;
  }

  static Type literal_type(const Value& v) {
    switch (kind_of(v)) {
      case Kind::Null:
        return Type::of(Type::Null);
      case Kind::Bool:
        return kBool;
      case Kind::Int:
        return kInt;
      case Kind::Uint:
        return kUint;
      case Kind::Double:
        return kDouble;
      case Kind::String:
        return kString;
      case Kind::Bytes:
        return kBytes;
      default:
        return kDyn;
    }
  }

  [[gnu::noinline]] std::optional<Type> resolve(Expr& e, const std::vector<Type>& types) {
    switch (e.op) {
      case Op::Select:
        return select(e, types[0]);
      case Op::Has:
        return has(e, types[0]);
      case Op::Index:
        return index(e, types);
      case Op::List: {
        Type elem = kDyn;
        for (size_t i = 0; i < types.size(); ++i) elem = i == 0 ? types[i] : join(elem, types[i]);
        return Type::list(elem);
      }
      case Op::Map: {
        Type key = kDyn;
        Type value = kDyn;
        for (size_t i = 0; i + 1 < types.size(); i += 2) {
          key = i == 0 ? types[i] : join(key, types[i]);
          value = i == 0 ? types[i + 1] : join(value, types[i + 1]);
        }
        return Type::map(key, value);
      }
      case Op::Conditional:
        if (!compatible(types[0], kBool) || !compatible(types[1], types[2])) {
          return no_overload(e, types);
        }
        return join(types[1], types[2]);
      case Op::And:
      case Op::Or:
        for (const Type& t : types) {
          if (!compatible(t, kBool)) return no_overload(e, types);
        }
        return kBool;
      case Op::Eq:
      case Op::Ne:
        // _==_(A, A): both sides must have one type (or be dyn).
        if (!compatible(types[0], types[1])) return no_overload(e, types);
        return kBool;
      case Op::In: {
        const Type& elem = types[0];
        const Type& range = types[1];
        if (range.k == Type::Dyn) return kBool;
        if (range.k == Type::List && compatible(elem, range.params[0])) return kBool;
        if (range.k == Type::Map && compatible(elem, range.params[0])) return kBool;
        return no_overload(e, types);
      }
      case Op::Call:
        return call(e, types);
      default:
        return op_call(e, types);
    }
  }

  [[gnu::noinline]] std::optional<Type> ident(Expr& e) {
    // Innermost binding first: comprehension variables shadow parameters.
    for (auto it = scope_.rbegin(); it != scope_.rend(); ++it) {
      if (it->name == e.name) {
        e.slot = it->slot;
        return it->type;
      }
    }
    return fail(e, "undeclared reference to '" + e.name + "'");
  }

  std::optional<Type> select(Expr& e, const Type& t) {
    if (t.k == Type::Dyn) return kDyn;
    if (t.k == Type::Map && compatible(t.params[0], kString)) return t.params[1];
    return fail(e, "type '" + show(t) + "' does not support field selection");
  }

  std::optional<Type> has(Expr& e, const Type& t) {
    if (t.k == Type::Dyn || (t.k == Type::Map && compatible(t.params[0], kString))) return kBool;
    return fail(e, "invalid argument to has() macro: type '" + show(t) +
                       "' does not support field selection");
  }

  std::optional<Type> index(Expr& e, const std::vector<Type>& types) {
    const Type& c = types[0];
    const Type& i = types[1];
    if (c.k == Type::Dyn) return kDyn;
    if (c.k == Type::List && compatible(i, kInt)) return c.params[0];
    if (c.k == Type::Map && compatible(i, c.params[0])) return c.params[1];
    return no_overload(e, types);
  }

  std::optional<Type> op_call(Expr& e, const std::vector<Type>& arg_types) {
    const std::vector<Type>* types = &arg_types;
    std::optional<Type> result;
    auto add_result = [&](const Type& t) { result = result ? join(*result, t) : t; };
    for (const OpSig& sig : operator_sigs(e.op)) {
      bool ok = true;
      for (size_t i = 0; i < sig.params.size(); ++i) {
        ok = ok && compatible(sig.params[i], (*types)[i]);
      }
      if (ok) add_result(sig.result);
    }
    // list(A) + list(A) -> list(A)
    if (e.op == Op::Add) {
      const Type& a = (*types)[0];
      const Type& b = (*types)[1];
      if (compatible(a, Type::list(kDyn)) && compatible(b, Type::list(kDyn)) &&
          (a.k == Type::List || b.k == Type::List)) {
        Type ea = a.k == Type::List ? a.params[0] : kDyn;
        Type eb = b.k == Type::List ? b.params[0] : kDyn;
        if (!compatible(ea, eb)) return no_overload(e, *types);
        add_result(Type::list(join(ea, eb)));
      }
    }
    if (!result) return no_overload(e, *types);
    return result;
  }

  std::optional<Type> call(Expr& e, const std::vector<Type>& arg_types) {
    const std::vector<Type>* types = &arg_types;
    bool known = false;
    std::optional<Type> result;
    for (const Sig& sig : functions()) {
      if (e.name != sig.name) continue;
      known = true;
      if (sig.receiver != e.receiver || sig.params.size() != types->size()) continue;
      bool ok = true;
      for (size_t i = 0; i < sig.params.size(); ++i) {
        ok = ok && compatible(sig.params[i], (*types)[i]);
      }
      if (!ok) continue;
      e.fn = sig.fn;
      result = result ? join(*result, sig.result) : sig.result;
    }
    if (!known) return fail(e, "undeclared reference to '" + e.name + "'");
    if (!result) {
      std::string applied = e.receiver ? show((*types)[0]) + ".(" + list_types(*types, 1) + ")"
                                       : "(" + list_types(*types) + ")";
      return fail(e,
                  "found no matching overload for '" + e.name + "' applied to '" + applied + "'");
    }
    if (e.fn == Fn::Matches) precompile_regex(e);
    return result;
  }

  // matches() with a literal pattern compiles it here, once.
  static void precompile_regex(Expr& e) {
    const Expr& pattern = *e.args[1];
    if (pattern.op != Op::Literal || kind_of(pattern.literal) != Kind::String) return;
    auto compiled = compile_regex(detail::str(pattern.literal));
    if (std::holds_alternative<std::string>(compiled)) {
      e.regex_error = std::get<std::string>(compiled);
    } else {
      e.regex = std::get<std::shared_ptr<const detail::CompiledRegex>>(compiled);
    }
  }

 private:
  [[gnu::noinline]] std::optional<Type> comprehension(Expr& e) {
    auto range = check(*e.args[0]);
    if (!range) return std::nullopt;
    Type var = kDyn;
    // Comprehensions range over a list's elements or a map's keys: params[0] either way.
    if (range->k == Type::List || range->k == Type::Map) {
      var = range->params[0];
    } else if (range->k != Type::Dyn) {
      return fail(e, "expression of type '" + show(*range) +
                         "' cannot be the range of a comprehension (must be list, map, or dyn)");
    }
    e.slot = next_slot_++;
    scope_.push_back({e.name, var, e.slot});
    std::vector<Type> body;
    for (size_t i = 1; i < e.args.size(); ++i) {
      auto t = check(*e.args[i]);
      if (!t) return std::nullopt;
      body.push_back(*t);
    }
    scope_.pop_back();
    bool predicate_last = e.op != Op::MapMacro;
    for (size_t i = 0; i < body.size(); ++i) {
      bool is_predicate = predicate_last || (e.op == Op::MapMacro && body.size() == 2 && i == 0);
      if (is_predicate && !compatible(body[i], kBool)) {
        return fail(*e.args[i + 1], "expected type 'bool' but found '" + show(body[i]) + "'");
      }
    }
    switch (e.op) {
      case Op::MapMacro:
        return Type::list(body.back());
      case Op::Filter:
        return Type::list(var);
      default:
        return kBool;
    }
  }

  std::vector<Variable> scope_;
  int next_slot_;
};

}  // namespace

const char* op_name(Op op) {
  switch (op) {
    case Op::Add:
      return "_+_";
    case Op::Sub:
      return "_-_";
    case Op::Mul:
      return "_*_";
    case Op::Div:
      return "_/_";
    case Op::Mod:
      return "_%_";
    case Op::Eq:
      return "_==_";
    case Op::Ne:
      return "_!=_";
    case Op::Lt:
      return "_<_";
    case Op::Le:
      return "_<=_";
    case Op::Gt:
      return "_>_";
    case Op::Ge:
      return "_>=_";
    case Op::In:
      return "@in";
    case Op::Index:
      return "_[_]";
    case Op::Neg:
      return "-_";
    case Op::Not:
      return "!_";
    case Op::And:
      return "_&&_";
    case Op::Or:
      return "_||_";
    case Op::Conditional:
      return "_?_:_";
    default:
      return "?";
  }
}

// Patterns are RE2 syntax in CEL (langdef "Regular Expressions"); this uses std::regex's
// ECMAScript grammar, which agrees on the common subset (classes, \d \w \s, anchors,
// groups, alternation, {n,m}, lazy quantifiers). Differences: RE2's inline flags are only
// honoured as a leading "(?i)"; backreferences are refused (as RE2 does) but ECMAScript
// lookahead is accepted; matching is on UTF-8 bytes, so `.` matches one byte, not one code
// point. An invalid pattern is an evaluation error, as in cel-go.
std::variant<std::shared_ptr<const CompiledRegex>, std::string> compile_regex(
    std::string_view pattern) {
  if (pattern.size() > kMaxRegexPatternBytes) {
    return std::string("regular expression longer than ") + std::to_string(kMaxRegexPatternBytes) +
           " bytes";
  }
  auto flags = std::regex::ECMAScript | std::regex_constants::__polynomial;
  if (pattern.substr(0, 4) == "(?i)") {
    flags |= std::regex::icase;
    pattern.remove_prefix(4);
  }
  auto size = regex_size(pattern);
  if (!size) return std::string("regular expression too large");
  try {
    // Validate the pattern alone first: wrapping must not make a malformed one (`a)|(b`)
    // well-formed.
    std::regex check(pattern.begin(), pattern.end(), flags);
    auto out = std::make_shared<CompiledRegex>();
    out->matcher = std::regex("[\\s\\S]*(?:" + std::string(pattern) + ")[\\s\\S]*", flags);
    out->size = *size;
    return std::shared_ptr<const CompiledRegex>(std::move(out));
  } catch (const std::regex_error& ex) {
    return std::string("invalid regular expression: ") + ex.what();
  }
}

Result<int, CelError> check(Expr& root,
                            const std::vector<std::pair<std::string, ParamTypeRef>>& params) {
  std::vector<Variable> vars;
  for (size_t i = 0; i < params.size(); ++i) {
    vars.push_back({params[i].first, from_param(params[i].second), static_cast<int>(i)});
  }
  Checker checker(std::move(vars), static_cast<int>(params.size()));
  auto type = checker.check(root);
  if (!type) return Err(CelError{checker.error_});
  // OpenFGA internal/condition: the output type must be exactly bool (dyn is refused).
  if (*type != kBool) {
    return Err(
        CelError{"expected a bool condition expression output, but got '" + show(*type) + "'"});
  }
  return checker.slots();
}

}  // namespace tessera::fga::cel::detail
