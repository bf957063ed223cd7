// Evaluation of a checked condition: the context's values are converted to the declared
// parameter types (OpenFGA internal/condition/types/converters.go), then the tree is walked
// with CEL's error and unknown propagation rules.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <unordered_set>
#include <utility>

#include "fga/cel_ast.h"

namespace tessera::fga::cel::detail {

namespace {

// Evaluation cost bound: one unit per node evaluated and per comprehension iteration, plus
// one unit per element (lists, maps) or per 64 bytes (strings) an operation touches, and
// subject bytes x automaton size / 1000 for matches(). Stops nested comprehensions such as
// `l.all(x, l.all(y, l.all(z, ...)))` and repeated string doubling. OpenFGA bounds the same
// thing with cel-go's cost tracker (maxConditionEvaluationCost).
constexpr uint64_t kMaxEvaluationCost = 100000;
// matches() subjects longer than this are an evaluation error.
constexpr size_t kMaxRegexSubjectBytes = 65536;
// Nesting of list and map parameter values converted from the context.
constexpr int kMaxContextDepth = 32;

// ---- Context conversion (OpenFGA internal/condition/types/converters.go) --------------------

std::string json_type(const nlohmann::json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::null:
      return "null";
    case nlohmann::json::value_t::boolean:
      return "bool";
    case nlohmann::json::value_t::string:
      return "string";
    case nlohmann::json::value_t::array:
      return "list";
    case nlohmann::json::value_t::object:
      return "map";
    default:
      return "number";
  }
}

// Parses a decimal number the way OpenFGA does for numeric parameters given as strings
// (big.ParseFloat, base 10): sign, digits, fraction, exponent.
std::optional<double> parse_decimal(std::string_view s) {
  size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  size_t digits = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++digits;
  }
  if (digits == 0) return std::nullopt;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    size_t exp_digits = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++exp_digits;
    if (exp_digits == 0) return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  return std::strtod(std::string(s).c_str(), nullptr);
}

class Converter {
 public:
  // Converts `j` to the declared type `t`; on failure returns nullopt and sets error_.
  std::optional<Value> convert(const nlohmann::json& j, const ParamTypeRef& t, int depth = 0) {
    if (depth > kMaxContextDepth) return fail("value nested too deeply");
    switch (t.type) {
      case ParamType::Any:
        return any(j, depth);
      case ParamType::Bool:
        if (!j.is_boolean()) return expected("bool", j);
        return Value(j.get<bool>());
      case ParamType::String:
        if (!j.is_string()) return expected("string", j);
        return detail::make_string(j.get<std::string>());
      case ParamType::Int:
        return to_int(j);
      case ParamType::Uint:
        return to_uint(j);
      case ParamType::Double:
        if (j.is_number()) return Value(j.get<double>());
        if (j.is_string()) {
          auto d = parse_decimal(j.get_ref<const std::string&>());
          if (!d || std::isinf(*d)) {
            return fail("expected a double value, but found invalid string value '" +
                        j.get<std::string>() + "'");
          }
          return Value(*d);
        }
        return expected("double", j);
      case ParamType::Duration: {
        if (!j.is_string()) return fail("expected a duration string, but found " + json_type(j));
        auto d = detail::parse_go_duration(j.get_ref<const std::string&>());
        if (!d) {
          return fail("expected a valid duration string, but found '" + j.get<std::string>() + "'");
        }
        return Value(detail::Duration{*d});
      }
      case ParamType::Timestamp: {
        if (!j.is_string()) {
          return fail("expected RFC 3339 formatted timestamp string, but found " + json_type(j));
        }
        auto ts = detail::parse_rfc3339(j.get_ref<const std::string&>());
        if (!ts || !detail::timestamp_in_range(*ts)) {
          return fail("expected RFC 3339 formatted timestamp string, but found '" +
                      j.get<std::string>() + "'");
        }
        return Value(*ts);
      }
      case ParamType::IpAddress: {
        if (!j.is_string()) return fail("expected an ipaddress string, but found " + json_type(j));
        auto ip = detail::parse_ip(j.get_ref<const std::string&>());
        if (!ip) {
          return fail("expected a well-formed IP address, but found: '" + j.get<std::string>() +
                      "'");
        }
        return Value(std::make_shared<const detail::IpAddress>(std::move(*ip)));
      }
      case ParamType::List: {
        if (!j.is_array()) return fail("list requires a list, found: " + json_type(j));
        ParamTypeRef elem = t.generic.empty() ? ParamTypeRef{} : t.generic[0];
        auto list = std::make_shared<detail::ListValue>();
        list->items.reserve(j.size());
        for (const auto& item : j) {
          auto v = convert(item, elem, depth + 1);
          if (!v) return std::nullopt;
          list->items.push_back(std::move(*v));
        }
        return Value(std::shared_ptr<const detail::ListValue>(std::move(list)));
      }
      case ParamType::Map: {
        if (!j.is_object()) return fail("map requires a map, found: " + json_type(j));
        ParamTypeRef elem = t.generic.empty() ? ParamTypeRef{} : t.generic[0];
        auto map = std::make_shared<detail::MapValue>();
        map->entries.reserve(j.size());
        for (const auto& [key, item] : j.items()) {
          auto v = convert(item, elem, depth + 1);
          if (!v) {
            error_ = "found an invalid value for key `" + key + "`: " + error_;
            return std::nullopt;
          }
          map->entries.emplace_back(detail::make_string(key), std::move(*v));
        }
        map->build_index();
        return Value(std::shared_ptr<const detail::MapValue>(std::move(map)));
      }
    }
    return fail("unsupported parameter type");
  }

  std::string error_;

 private:
  std::nullopt_t fail(std::string message) {
    error_ = std::move(message);
    return std::nullopt;
  }
  std::nullopt_t expected(const std::string& type, const nlohmann::json& j) {
    return fail("expected type value '" + type + "', but found '" + json_type(j) + "'");
  }

  // google.protobuf.Value semantics (what OpenFGA receives): every JSON number is a double.
  std::optional<Value> any(const nlohmann::json& j, int depth) {
    if (depth > kMaxContextDepth) return fail("value nested too deeply");
    switch (j.type()) {
      case nlohmann::json::value_t::null:
        return Value(detail::NullValue{});
      case nlohmann::json::value_t::boolean:
        return Value(j.get<bool>());
      case nlohmann::json::value_t::number_integer:
      case nlohmann::json::value_t::number_unsigned:
      case nlohmann::json::value_t::number_float:
        return Value(j.get<double>());
      case nlohmann::json::value_t::string:
        return detail::make_string(j.get<std::string>());
      case nlohmann::json::value_t::array: {
        auto list = std::make_shared<detail::ListValue>();
        for (const auto& item : j) {
          auto v = any(item, depth + 1);
          if (!v) return std::nullopt;
          list->items.push_back(std::move(*v));
        }
        return Value(std::shared_ptr<const detail::ListValue>(std::move(list)));
      }
      case nlohmann::json::value_t::object: {
        auto map = std::make_shared<detail::MapValue>();
        for (const auto& [key, item] : j.items()) {
          auto v = any(item, depth + 1);
          if (!v) return std::nullopt;
          map->entries.emplace_back(detail::make_string(key), std::move(*v));
        }
        map->build_index();
        return Value(std::shared_ptr<const detail::MapValue>(std::move(map)));
      }
      default:
        return fail("unsupported JSON value");
    }
  }

  // OpenFGA accepts a JSON number or a numeric string; it must be integral. Unlike OpenFGA
  // (which saturates), a value outside the int64 range is an error.
  std::optional<Value> to_int(const nlohmann::json& j) {
    if (j.is_number_integer() && !j.is_number_unsigned()) return Value(j.get<int64_t>());
    if (j.is_number_unsigned()) {
      auto u = j.get<uint64_t>();
      if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return fail("int value out of range: " + std::to_string(u));
      }
      return Value(static_cast<int64_t>(u));
    }
    std::optional<double> d;
    if (j.is_number_float()) {
      d = j.get<double>();
    } else if (j.is_string()) {
      const auto& s = j.get_ref<const std::string&>();
      int64_t exact = 0;
      auto r = std::from_chars(s.data(), s.data() + s.size(), exact);
      if (r.ec == std::errc() && r.ptr == s.data() + s.size()) return Value(exact);
      d = parse_decimal(s);
      if (!d) return fail("expected a int64 value, but found invalid string value '" + s + "'");
    } else {
      return expected("int64", j);
    }
    if (!std::isfinite(*d) || std::trunc(*d) != *d) {
      return fail("expected an int value, but found numeric value '" + detail::format_double(*d) +
                  "'");
    }
    if (*d < -9223372036854775808.0 || *d >= 9223372036854775808.0) {
      return fail("int value out of range: " + detail::format_double(*d));
    }
    return Value(static_cast<int64_t>(*d));
  }

  std::optional<Value> to_uint(const nlohmann::json& j) {
    if (j.is_number_unsigned()) return Value(j.get<uint64_t>());
    if (j.is_number_integer()) {
      auto i = j.get<int64_t>();
      if (i < 0) {
        return fail("expected a uint value, but found int64 value '" + std::to_string(i) + "'");
      }
      return Value(static_cast<uint64_t>(i));
    }
    std::optional<double> d;
    if (j.is_number_float()) {
      d = j.get<double>();
    } else if (j.is_string()) {
      const auto& s = j.get_ref<const std::string&>();
      uint64_t exact = 0;
      auto r = std::from_chars(s.data(), s.data() + s.size(), exact);
      if (r.ec == std::errc() && r.ptr == s.data() + s.size()) return Value(exact);
      d = parse_decimal(s);
      if (!d) return fail("expected a uint64 value, but found invalid string value '" + s + "'");
    } else {
      return expected("uint64", j);
    }
    if (!std::isfinite(*d) || std::trunc(*d) != *d) {
      return fail("expected a uint value, but found numeric value '" + detail::format_double(*d) +
                  "'");
    }
    if (*d < 0 || *d >= 18446744073709551616.0) {
      return fail("uint value out of range: " + detail::format_double(*d));
    }
    return Value(static_cast<uint64_t>(*d));
  }
};

// ---- Evaluator -----------------------------------------------------------------------------

bool is_error_or_unknown(const Value& v) {
  Kind k = kind_of(v);
  return k == Kind::Error || k == Kind::Unknown;
}

class Evaluator {
 public:
  explicit Evaluator(std::vector<Value> slots) : slots_(std::move(slots)) {}

  Value eval(const Expr& e) {
    if (!charge(1)) return detail::Unknown{};
    switch (e.op) {
      case Op::Literal:
        return e.literal;
      case Op::Ident:
        return slots_[static_cast<size_t>(e.slot)];
      case Op::Select:
        return select(e);
      case Op::Has:
        return has(e);
      case Op::Index:
        return index(e);
      case Op::List:
        return list(e);
      case Op::Map:
        return map(e);
      case Op::Conditional: {
        Value c = eval(*e.args[0]);
        if (is_error_or_unknown(c)) return c;
        if (kind_of(c) != Kind::Bool) return no_overload(e, {c});
        return eval(*e.args[std::get<bool>(c) ? 1 : 2]);
      }
      case Op::And:
      case Op::Or:
        return logical(e);
      case Op::All:
      case Op::Exists:
      case Op::ExistsOne:
      case Op::MapMacro:
      case Op::Filter:
        return comprehension(e);
      default:
        break;
    }
    return strict(e);
  }

  bool aborted() const { return aborted_; }

 private:
  // Strict operators and functions: every argument is evaluated; the first error or unknown
  // argument is the result. (Kept out of eval() so that the frame eval() puts on the stack
  // for each tree level stays small.)
  [[gnu::noinline]] Value strict(const Expr& e) {
    std::vector<Value> args;
    args.reserve(e.args.size());
    for (const auto& a : e.args) {
      args.push_back(eval(*a));
      if (is_error_or_unknown(args.back())) return args.back();
    }
    switch (e.op) {
      case Op::Not:
        if (kind_of(args[0]) != Kind::Bool) return no_overload(e, args);
        return !std::get<bool>(args[0]);
      case Op::Neg:
        return negate(e, args);
      case Op::Add:
      case Op::Sub:
      case Op::Mul:
      case Op::Div:
      case Op::Mod:
        return arithmetic(e, args[0], args[1]);
      case Op::Eq:
        charge_size(args[0]);
        return detail::values_equal(args[0], args[1]);
      case Op::Ne:
        charge_size(args[0]);
        return !detail::values_equal(args[0], args[1]);
      case Op::Lt:
      case Op::Le:
      case Op::Gt:
      case Op::Ge:
        return ordering(e, args[0], args[1]);
      case Op::In:
        return in(e, args[0], args[1]);
      case Op::Call:
        return call(e, args);
      default:
        return error(e, "unsupported expression");
    }
  }

  bool charge(uint64_t units) {
    cost_ += units;
    if (cost_ > kMaxEvaluationCost) aborted_ = true;
    return !aborted_;
  }
  // Cost of touching a value: its element count, or its length in 64-byte units.
  void charge_size(const Value& v) {
    switch (kind_of(v)) {
      case Kind::String:
        charge(detail::str(v).size() / 64);
        break;
      case Kind::Bytes:
        charge(detail::bytes(v).size() / 64);
        break;
      case Kind::List:
        charge(detail::list_items(v).size());
        break;
      case Kind::Map:
        charge(detail::map_of(v).entries.size());
        break;
      default:
        break;
    }
  }

  static Value error(const Expr& e, std::string_view message) {
    return detail::make_error(detail::at(e, message));
  }
  static Value no_overload(const Expr& e, const std::vector<Value>& args) {
    std::string types;
    for (size_t i = 0; i < args.size(); ++i) {
      if (i > 0) types += ", ";
      types += detail::type_name(args[i]);
    }
    std::string name = e.op == Op::Call ? e.name : op_name(e.op);
    return error(e, "no such overload: " + name + "(" + types + ")");
  }

  [[gnu::noinline]] Value select(const Expr& e) {
    Value v = eval(*e.args[0]);
    if (is_error_or_unknown(v)) return v;
    if (kind_of(v) != Kind::Map) {
      return error(e, "type '" + detail::type_name(v) + "' does not support field selection");
    }
    const Value* found = detail::map_of(v).find(detail::make_string(e.name));
    if (found == nullptr) return error(e, "no such key: " + e.name);
    return *found;
  }

  [[gnu::noinline]] Value has(const Expr& e) {
    Value v = eval(*e.args[0]);
    if (is_error_or_unknown(v)) return v;
    if (kind_of(v) != Kind::Map) {
      return error(e, "invalid argument to has(): type '" + detail::type_name(v) +
                          "' does not support field selection");
    }
    return detail::map_of(v).find(detail::make_string(e.name)) != nullptr;
  }

  [[gnu::noinline]] Value index(const Expr& e) {
    Value c = eval(*e.args[0]);
    if (is_error_or_unknown(c)) return c;
    Value i = eval(*e.args[1]);
    if (is_error_or_unknown(i)) return i;
    if (kind_of(c) == Kind::List) {
      const auto& items = detail::list_items(c);
      // cel-go accepts int, uint, and integral double indexes on a dyn list.
      std::optional<int64_t> idx;
      if (kind_of(i) == Kind::Int) {
        idx = std::get<int64_t>(i);
      } else if (kind_of(i) == Kind::Uint && std::get<uint64_t>(i) <= INT64_MAX) {
        idx = static_cast<int64_t>(std::get<uint64_t>(i));
      } else if (kind_of(i) == Kind::Double) {
        double d = std::get<double>(i);
        if (std::trunc(d) == d && d >= -9.2e18 && d <= 9.2e18) idx = static_cast<int64_t>(d);
      }
      if (!idx) return no_overload(e, {c, i});
      if (*idx < 0 || static_cast<uint64_t>(*idx) >= items.size()) {
        return error(e, "index '" + std::to_string(*idx) + "' out of range in list size '" +
                            std::to_string(items.size()) + "'");
      }
      return items[static_cast<size_t>(*idx)];
    }
    if (kind_of(c) == Kind::Map) {
      const Value* found = detail::map_of(c).find(i);
      if (found == nullptr) return error(e, "no such key: " + describe_key(i));
      return *found;
    }
    return no_overload(e, {c, i});
  }

  static std::string describe_key(const Value& k) {
    switch (kind_of(k)) {
      case Kind::String:
        return detail::str(k);
      case Kind::Int:
        return std::to_string(std::get<int64_t>(k));
      case Kind::Uint:
        return std::to_string(std::get<uint64_t>(k));
      case Kind::Bool:
        return std::get<bool>(k) ? "true" : "false";
      case Kind::Double:
        return detail::format_double(std::get<double>(k));
      default:
        return detail::type_name(k);
    }
  }

  [[gnu::noinline]] Value list(const Expr& e) {
    auto out = std::make_shared<detail::ListValue>();
    out->items.reserve(e.args.size());
    for (const auto& a : e.args) {
      Value v = eval(*a);
      if (is_error_or_unknown(v)) return v;
      out->items.push_back(std::move(v));
    }
    return std::shared_ptr<const detail::ListValue>(std::move(out));
  }

  [[gnu::noinline]] Value map(const Expr& e) {
    auto out = std::make_shared<detail::MapValue>();
    std::unordered_set<std::string> keys;
    for (size_t i = 0; i + 1 < e.args.size(); i += 2) {
      Value k = eval(*e.args[i]);
      if (is_error_or_unknown(k)) return k;
      Value v = eval(*e.args[i + 1]);
      if (is_error_or_unknown(v)) return v;
      if (!detail::is_valid_map_key(k)) {
        return error(*e.args[i], "unsupported map key type: " + detail::type_name(k));
      }
      if (!keys.insert(*detail::key_identity(k)).second) {
        return error(*e.args[i], "map literal has a repeated key: " + describe_key(k));
      }
      charge(1);
      out->entries.emplace_back(std::move(k), std::move(v));
    }
    out->build_index();
    return std::shared_ptr<const detail::MapValue>(std::move(out));
  }

  // CEL langdef "Logical Operators": a `false` term decides `&&` (a `true` term decides `||`)
  // whatever errors or unknowns the other terms produce. Otherwise unknown wins over error,
  // as in cel-go.
  [[gnu::noinline]] Value logical(const Expr& e) {
    bool decisive = e.op == Op::Or;  // the value that decides the result
    std::optional<Value> pending;    // first error, or an unknown
    for (const auto& term : e.args) {
      Value v = eval(*term);
      if (aborted_) return detail::Unknown{};
      if (kind_of(v) == Kind::Bool) {
        if (std::get<bool>(v) == decisive) return decisive;
        continue;
      }
      if (kind_of(v) == Kind::Unknown) {
        pending = v;
      } else if (!pending) {
        pending = kind_of(v) == Kind::Error ? v : no_overload(e, {v});
      }
    }
    if (pending) return *pending;
    return !decisive;
  }

  [[gnu::noinline]] Value comprehension(const Expr& e) {
    Value range = eval(*e.args[0]);
    if (is_error_or_unknown(range)) return range;
    std::vector<Value> keys;
    const std::vector<Value>* items = nullptr;
    if (kind_of(range) == Kind::List) {
      items = &detail::list_items(range);
    } else if (kind_of(range) == Kind::Map) {
      for (const auto& entry : detail::map_of(range).entries) keys.push_back(entry.first);
      items = &keys;
    } else {
      return error(e, "expression of type '" + detail::type_name(range) +
                          "' cannot be the range of a comprehension");
    }
    auto slot = static_cast<size_t>(e.slot);
    std::optional<Value> pending;
    int64_t count = 0;
    auto out = std::make_shared<detail::ListValue>();
    for (const Value& item : *items) {
      if (!charge(1)) return detail::Unknown{};
      slots_[slot] = item;
      switch (e.op) {
        case Op::All:
        case Op::Exists: {
          // all() folds with &&, exists() with ||: errors are absorbed by a deciding value.
          bool decisive = e.op == Op::Exists;
          Value p = eval(*e.args[1]);
          if (aborted_) return detail::Unknown{};
          if (kind_of(p) == Kind::Bool) {
            if (std::get<bool>(p) == decisive) return decisive;
          } else if (kind_of(p) == Kind::Unknown) {
            pending = p;
          } else if (!pending) {
            pending = kind_of(p) == Kind::Error ? p : no_overload(e, {p});
          }
          break;
        }
        case Op::ExistsOne: {
          Value p = eval(*e.args[1]);
          if (is_error_or_unknown(p)) return p;
          if (kind_of(p) != Kind::Bool) return no_overload(e, {p});
          if (std::get<bool>(p)) ++count;
          break;
        }
        case Op::Filter: {
          Value p = eval(*e.args[1]);
          if (is_error_or_unknown(p)) return p;
          if (kind_of(p) != Kind::Bool) return no_overload(e, {p});
          if (std::get<bool>(p)) out->items.push_back(item);
          break;
        }
        case Op::MapMacro: {
          if (e.args.size() == 3) {
            Value p = eval(*e.args[1]);
            if (is_error_or_unknown(p)) return p;
            if (kind_of(p) != Kind::Bool) return no_overload(e, {p});
            if (!std::get<bool>(p)) break;
          }
          Value t = eval(*e.args.back());
          if (is_error_or_unknown(t)) return t;
          out->items.push_back(std::move(t));
          break;
        }
        default:
          break;
      }
    }
    switch (e.op) {
      case Op::All:
      case Op::Exists:
        if (pending) return *pending;
        return e.op == Op::All;
      case Op::ExistsOne:
        return count == 1;
      default:
        return std::shared_ptr<const detail::ListValue>(std::move(out));
    }
  }

  [[gnu::noinline]] Value negate(const Expr& e, const std::vector<Value>& args) {
    switch (kind_of(args[0])) {
      case Kind::Int: {
        int64_t v = std::get<int64_t>(args[0]);
        if (v == std::numeric_limits<int64_t>::min()) return error(e, "integer overflow");
        return -v;
      }
      case Kind::Double:
        return -std::get<double>(args[0]);
      case Kind::Duration: {
        int64_t v = std::get<detail::Duration>(args[0]).ns;
        if (v == std::numeric_limits<int64_t>::min()) return error(e, "duration overflow");
        return detail::Duration{-v};
      }
      default:
        return no_overload(e, args);
    }
  }

  [[gnu::noinline]] Value arithmetic(const Expr& e, const Value& a, const Value& b) {
    Kind ka = kind_of(a);
    Kind kb = kind_of(b);
    if (ka == Kind::Int && kb == Kind::Int) {
      int64_t x = std::get<int64_t>(a);
      int64_t y = std::get<int64_t>(b);
      int64_t r = 0;
      switch (e.op) {
        case Op::Add:
          if (__builtin_add_overflow(x, y, &r)) return error(e, "integer overflow");
          return r;
        case Op::Sub:
          if (__builtin_sub_overflow(x, y, &r)) return error(e, "integer overflow");
          return r;
        case Op::Mul:
          if (__builtin_mul_overflow(x, y, &r)) return error(e, "integer overflow");
          return r;
        case Op::Div:
          if (y == 0) return error(e, "division by zero");
          if (x == std::numeric_limits<int64_t>::min() && y == -1) {
            return error(e, "integer overflow");
          }
          return x / y;
        default:  // Mod
          if (y == 0) return error(e, "modulus by zero");
          if (x == std::numeric_limits<int64_t>::min() && y == -1) {
            return error(e, "integer overflow");
          }
          return x % y;
      }
    }
    if (ka == Kind::Uint && kb == Kind::Uint) {
      uint64_t x = std::get<uint64_t>(a);
      uint64_t y = std::get<uint64_t>(b);
      uint64_t r = 0;
      switch (e.op) {
        case Op::Add:
          if (__builtin_add_overflow(x, y, &r)) return error(e, "unsigned integer overflow");
          return r;
        case Op::Sub:
          if (__builtin_sub_overflow(x, y, &r)) return error(e, "unsigned integer overflow");
          return r;
        case Op::Mul:
          if (__builtin_mul_overflow(x, y, &r)) return error(e, "unsigned integer overflow");
          return r;
        case Op::Div:
          if (y == 0) return error(e, "division by zero");
          return x / y;
        default:
          if (y == 0) return error(e, "modulus by zero");
          return x % y;
      }
    }
    if (ka == Kind::Double && kb == Kind::Double && e.op != Op::Mod) {
      double x = std::get<double>(a);
      double y = std::get<double>(b);
      switch (e.op) {
        case Op::Add:
          return x + y;
        case Op::Sub:
          return x - y;
        case Op::Mul:
          return x * y;
        default:
          return x / y;  // IEEE 754: x/0 is ±Inf or NaN, not an error
      }
    }
    if (e.op == Op::Add) {
      if (ka == Kind::String && kb == Kind::String) {
        charge((detail::str(a).size() + detail::str(b).size()) / 64);
        return detail::make_string(detail::str(a) + detail::str(b));
      }
      if (ka == Kind::Bytes && kb == Kind::Bytes) {
        charge((detail::bytes(a).size() + detail::bytes(b).size()) / 64);
        return detail::make_bytes(detail::bytes(a) + detail::bytes(b));
      }
      if (ka == Kind::List && kb == Kind::List) {
        const auto& x = detail::list_items(a);
        const auto& y = detail::list_items(b);
        if (!charge(x.size() + y.size())) return detail::Unknown{};
        auto out = std::make_shared<detail::ListValue>();
        out->items.reserve(x.size() + y.size());
        out->items.insert(out->items.end(), x.begin(), x.end());
        out->items.insert(out->items.end(), y.begin(), y.end());
        return std::shared_ptr<const detail::ListValue>(std::move(out));
      }
    }
    if (e.op == Op::Add || e.op == Op::Sub) {
      if (ka == Kind::Duration && kb == Kind::Duration) {
        int64_t r = 0;
        int64_t x = std::get<detail::Duration>(a).ns;
        int64_t y = std::get<detail::Duration>(b).ns;
        bool overflow =
            e.op == Op::Add ? __builtin_add_overflow(x, y, &r) : __builtin_sub_overflow(x, y, &r);
        if (overflow) return error(e, "duration overflow");
        return detail::Duration{r};
      }
      if (ka == Kind::Timestamp && kb == Kind::Duration) {
        int64_t d = std::get<detail::Duration>(b).ns;
        return shift(e, std::get<detail::Timestamp>(a), e.op == Op::Add ? d : -d,
                     e.op == Op::Sub && d == std::numeric_limits<int64_t>::min());
      }
      if (ka == Kind::Duration && kb == Kind::Timestamp && e.op == Op::Add) {
        return shift(e, std::get<detail::Timestamp>(b), std::get<detail::Duration>(a).ns, false);
      }
      if (ka == Kind::Timestamp && kb == Kind::Timestamp && e.op == Op::Sub) {
        const auto& x = std::get<detail::Timestamp>(a);
        const auto& y = std::get<detail::Timestamp>(b);
        // Go time.Duration holds ±292 years; a larger difference is an error (cel-go).
        __int128 ns = (static_cast<__int128>(x.sec) - y.sec) * 1000000000 + (x.nanos - y.nanos);
        if (ns > std::numeric_limits<int64_t>::max() || ns < std::numeric_limits<int64_t>::min()) {
          return error(e, "duration overflow");
        }
        return detail::Duration{static_cast<int64_t>(ns)};
      }
    }
    return no_overload(e, {a, b});
  }

  // timestamp ± duration, within CEL's timestamp range (years 1..9999).
  static Value shift(const Expr& e, const detail::Timestamp& t, int64_t ns, bool overflow) {
    if (overflow) return error(e, "timestamp overflow");
    int64_t sec = t.sec + ns / 1000000000;
    int64_t nanos = t.nanos + ns % 1000000000;
    if (nanos < 0) {
      nanos += 1000000000;
      --sec;
    } else if (nanos >= 1000000000) {
      nanos -= 1000000000;
      ++sec;
    }
    detail::Timestamp r{sec, static_cast<int32_t>(nanos)};
    if (!detail::timestamp_in_range(r)) return error(e, "timestamp overflow");
    return r;
  }

  [[gnu::noinline]] Value ordering(const Expr& e, const Value& a, const Value& b) {
    charge_size(a);
    detail::Order o = detail::compare(a, b);
    switch (o) {
      case detail::Order::NoOverload:
        return no_overload(e, {a, b});
      case detail::Order::Unordered:
        return false;  // NaN: every comparison is false
      default:
        break;
    }
    switch (e.op) {
      case Op::Lt:
        return o == detail::Order::Less;
      case Op::Le:
        return o != detail::Order::Greater;
      case Op::Gt:
        return o == detail::Order::Greater;
      default:
        return o != detail::Order::Less;
    }
  }

  [[gnu::noinline]] Value in(const Expr& e, const Value& elem, const Value& range) {
    if (kind_of(range) == Kind::List) {
      const auto& items = detail::list_items(range);
      if (!charge(items.size())) return detail::Unknown{};
      for (const auto& item : items) {
        if (detail::values_equal(elem, item)) return true;
      }
      return false;
    }
    if (kind_of(range) == Kind::Map) {
      charge_size(elem);
      return detail::map_of(range).find(elem) != nullptr;
    }
    return no_overload(e, {elem, range});
  }

  [[gnu::noinline]] Value call(const Expr& e, const std::vector<Value>& args) {
    const Value& a0 = args[0];
    Kind k0 = kind_of(a0);
    switch (e.fn) {
      case Fn::Size:
        switch (k0) {
          case Kind::String:
            charge(detail::str(a0).size() / 64);
            return static_cast<int64_t>(detail::utf8_length(detail::str(a0)));
          case Kind::Bytes:
            return static_cast<int64_t>(detail::bytes(a0).size());
          case Kind::List:
            return static_cast<int64_t>(detail::list_items(a0).size());
          case Kind::Map:
            return static_cast<int64_t>(detail::map_of(a0).entries.size());
          default:
            return no_overload(e, args);
        }
      case Fn::Contains:
      case Fn::StartsWith:
      case Fn::EndsWith: {
        if (k0 != Kind::String || kind_of(args[1]) != Kind::String) return no_overload(e, args);
        const std::string& s = detail::str(a0);
        const std::string& t = detail::str(args[1]);
        charge((s.size() + t.size()) / 64);
        if (e.fn == Fn::Contains) return s.find(t) != std::string::npos;
        if (e.fn == Fn::StartsWith) return s.compare(0, t.size(), t) == 0;
        return s.size() >= t.size() && s.compare(s.size() - t.size(), t.size(), t) == 0;
      }
      case Fn::Matches:
        return matches(e, args);
      case Fn::ToInt:
        return to_int(e, args);
      case Fn::ToUint:
        return to_uint(e, args);
      case Fn::ToDouble:
        return to_double(e, args);
      case Fn::ToString:
        return to_string(e, args);
      case Fn::ToBytes:
        if (k0 == Kind::Bytes) return a0;
        if (k0 == Kind::String) return detail::make_bytes(detail::str(a0));
        return no_overload(e, args);
      case Fn::ToBool:
        if (k0 == Kind::Bool) return a0;
        if (k0 == Kind::String) {
          // Go strconv.ParseBool, which cel-go's string-to-bool conversion uses.
          const std::string& s = detail::str(a0);
          if (s == "1" || s == "t" || s == "T" || s == "true" || s == "TRUE" || s == "True") {
            return true;
          }
          if (s == "0" || s == "f" || s == "F" || s == "false" || s == "FALSE" || s == "False") {
            return false;
          }
          return error(e, "type conversion error from 'string' to 'bool': '" + s + "'");
        }
        return no_overload(e, args);
      case Fn::ToTimestamp:
        if (k0 == Kind::Timestamp) return a0;
        if (k0 == Kind::String) {
          auto t = detail::parse_rfc3339(detail::str(a0));
          if (!t) return error(e, "invalid timestamp '" + detail::str(a0) + "'");
          if (!detail::timestamp_in_range(*t)) return error(e, "timestamp out of range");
          return *t;
        }
        if (k0 == Kind::Int) {
          detail::Timestamp t{std::get<int64_t>(a0), 0};
          if (!detail::timestamp_in_range(t)) return error(e, "timestamp out of range");
          return t;
        }
        return no_overload(e, args);
      case Fn::ToDuration:
        if (k0 == Kind::Duration) return a0;
        if (k0 == Kind::String) {
          auto d = detail::parse_go_duration(detail::str(a0));
          if (!d) return error(e, "invalid duration '" + detail::str(a0) + "'");
          return detail::Duration{*d};
        }
        return no_overload(e, args);
      case Fn::ToDyn:
        return a0;
      case Fn::ToIpAddress: {
        if (k0 != Kind::String) return no_overload(e, args);
        auto ip = detail::parse_ip(detail::str(a0));
        if (!ip) return error(e, "ParseAddr(\"" + detail::str(a0) + "\"): invalid IP address");
        return std::make_shared<const detail::IpAddress>(std::move(*ip));
      }
      case Fn::InCidr: {
        if (k0 != Kind::IpAddress || kind_of(args[1]) != Kind::String) {
          return no_overload(e, args);
        }
        // OpenFGA ipaddressCELBinaryBinding: a malformed CIDR is an error.
        auto prefix = detail::parse_prefix(detail::str(args[1]));
        if (!prefix) return error(e, "'" + detail::str(args[1]) + "' is a malformed CIDR string");
        return detail::prefix_contains(*prefix,
                                       *std::get<std::shared_ptr<const detail::IpAddress>>(a0));
      }
      default:
        return time_accessor(e, args);
    }
  }

  [[gnu::noinline]] Value matches(const Expr& e, const std::vector<Value>& args) {
    if (kind_of(args[0]) != Kind::String || kind_of(args[1]) != Kind::String) {
      return no_overload(e, args);
    }
    const std::string& subject = detail::str(args[0]);
    if (subject.size() > kMaxRegexSubjectBytes) {
      return error(
          e, "matches() subject longer than " + std::to_string(kMaxRegexSubjectBytes) + " bytes");
    }
    std::shared_ptr<const detail::CompiledRegex> re = e.regex;
    if (re == nullptr) {
      if (!e.regex_error.empty()) return error(e, e.regex_error);
      auto compiled = compile_regex(detail::str(args[1]));
      if (std::holds_alternative<std::string>(compiled)) {
        return error(e, std::get<std::string>(compiled));
      }
      re = std::get<std::shared_ptr<const detail::CompiledRegex>>(compiled);
    }
    if (!charge(subject.size() * re->size / 1000 + 1)) return detail::Unknown{};
    try {
      // CEL: a match of any substring (use ^ and $ to anchor); the wrapper makes this one
      // whole-subject match.
      return std::regex_match(subject, re->matcher);
    } catch (const std::regex_error& ex) {
      return error(e, std::string("regular expression evaluation failed: ") + ex.what());
    }
  }

  [[gnu::noinline]] Value to_int(const Expr& e, const std::vector<Value>& args) {
    const Value& v = args[0];
    switch (kind_of(v)) {
      case Kind::Int:
        return v;
      case Kind::Uint:
        if (std::get<uint64_t>(v) > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
          return error(e, "int range error");
        }
        return static_cast<int64_t>(std::get<uint64_t>(v));
      case Kind::Double: {
        double d = std::get<double>(v);
        // cel-go: NaN, infinities and values at or beyond ±2^63 are range errors.
        if (!(d > -9223372036854775808.0 && d < 9223372036854775808.0)) {
          return error(e, "int range error");
        }
        return static_cast<int64_t>(d);
      }
      case Kind::String: {
        std::string_view s = detail::str(v);
        if (!s.empty() && s[0] == '+') s.remove_prefix(1);
        int64_t out = 0;
        auto r = std::from_chars(s.data(), s.data() + s.size(), out);
        if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size()) {
          return error(e, "type conversion error from 'string' to 'int': '" + detail::str(v) + "'");
        }
        return out;
      }
      case Kind::Timestamp:
        return std::get<detail::Timestamp>(v).sec;  // seconds since the Unix epoch
      case Kind::Duration:
        return std::get<detail::Duration>(v).ns;  // cel-go: nanoseconds
      default:
        return no_overload(e, args);
    }
  }

  [[gnu::noinline]] Value to_uint(const Expr& e, const std::vector<Value>& args) {
    const Value& v = args[0];
    switch (kind_of(v)) {
      case Kind::Uint:
        return v;
      case Kind::Int:
        if (std::get<int64_t>(v) < 0) return error(e, "uint range error");
        return static_cast<uint64_t>(std::get<int64_t>(v));
      case Kind::Double: {
        double d = std::get<double>(v);
        if (!(d >= 0 && d < 18446744073709551616.0)) return error(e, "uint range error");
        return static_cast<uint64_t>(d);
      }
      case Kind::String: {
        const std::string& s = detail::str(v);
        uint64_t out = 0;
        auto r = std::from_chars(s.data(), s.data() + s.size(), out);
        if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size()) {
          return error(e, "type conversion error from 'string' to 'uint': '" + s + "'");
        }
        return out;
      }
      default:
        return no_overload(e, args);
    }
  }

  [[gnu::noinline]] Value to_double(const Expr& e, const std::vector<Value>& args) {
    const Value& v = args[0];
    switch (kind_of(v)) {
      case Kind::Double:
        return v;
      case Kind::Int:
        return static_cast<double>(std::get<int64_t>(v));
      case Kind::Uint:
        return static_cast<double>(std::get<uint64_t>(v));
      case Kind::String: {
        // Go strconv.ParseFloat: decimal or hex, "inf"/"infinity"/"nan"; no spaces.
        const std::string& s = detail::str(v);
        char* end = nullptr;
        double d = s.empty() || std::isspace(static_cast<unsigned char>(s[0])) != 0
                       ? 0
                       : std::strtod(s.c_str(), &end);
        if (end == nullptr || end != s.c_str() + s.size()) {
          return error(e, "type conversion error from 'string' to 'double': '" + s + "'");
        }
        if (std::isinf(d) && s.find_first_of("iI") == std::string::npos) {
          return error(e, "double range error: '" + s + "'");
        }
        return d;
      }
      default:
        return no_overload(e, args);
    }
  }

  [[gnu::noinline]] Value to_string(const Expr& e, const std::vector<Value>& args) {
    const Value& v = args[0];
    switch (kind_of(v)) {
      case Kind::String:
        return v;
      case Kind::Bool:
        return detail::make_string(std::get<bool>(v) ? "true" : "false");
      case Kind::Int:
        return detail::make_string(std::to_string(std::get<int64_t>(v)));
      case Kind::Uint:
        return detail::make_string(std::to_string(std::get<uint64_t>(v)));
      case Kind::Double:
        return detail::make_string(detail::format_double(std::get<double>(v)));
      case Kind::Bytes:
        if (!detail::valid_utf8(detail::bytes(v))) {
          return error(e, "invalid UTF-8 in bytes, cannot convert to string");
        }
        return detail::make_string(detail::bytes(v));
      case Kind::Timestamp:
        return detail::make_string(detail::format_rfc3339(std::get<detail::Timestamp>(v)));
      case Kind::Duration:
        return detail::make_string(detail::format_duration(std::get<detail::Duration>(v).ns));
      default:
        return no_overload(e, args);
    }
  }

  [[gnu::noinline]] Value time_accessor(const Expr& e, const std::vector<Value>& args) {
    const Value& v = args[0];
    if (kind_of(v) == Kind::Duration && args.size() == 1) {
      // cel-go: the whole duration in the unit, truncated toward zero.
      int64_t ns = std::get<detail::Duration>(v).ns;
      switch (e.fn) {
        case Fn::GetHours:
          return ns / 3600000000000;
        case Fn::GetMinutes:
          return ns / 60000000000;
        case Fn::GetSeconds:
          return ns / 1000000000;
        case Fn::GetMilliseconds:
          return ns / 1000000;
        default:
          return no_overload(e, args);
      }
    }
    if (kind_of(v) != Kind::Timestamp) return no_overload(e, args);
    const auto& t = std::get<detail::Timestamp>(v);
    int64_t offset = 0;
    if (args.size() == 2) {
      if (kind_of(args[1]) != Kind::String) return no_overload(e, args);
      auto o = detail::zone_offset(detail::str(args[1]), t.sec);
      if (!o) return error(e, "unknown time zone '" + detail::str(args[1]) + "'");
      offset = *o;
    }
    // Without a zone argument the accessors read the UTC date (CEL langdef).
    detail::CivilTime c = detail::civil_from_unix(t.sec + offset);
    switch (e.fn) {
      case Fn::GetFullYear:
        return c.year;
      case Fn::GetMonth:
        return int64_t{c.month - 1};
      case Fn::GetDate:
        return int64_t{c.day};
      case Fn::GetDayOfMonth:
        return int64_t{c.day - 1};
      case Fn::GetDayOfWeek:
        return int64_t{c.day_of_week};
      case Fn::GetDayOfYear:
        return int64_t{c.day_of_year};
      case Fn::GetHours:
        return int64_t{c.hour};
      case Fn::GetMinutes:
        return int64_t{c.minute};
      case Fn::GetSeconds:
        return int64_t{c.second};
      case Fn::GetMilliseconds:
        return int64_t{t.nanos / 1000000};
      default:
        return no_overload(e, args);
    }
  }

  std::vector<Value> slots_;
  uint64_t cost_ = 0;
  bool aborted_ = false;
};

}  // namespace

Result<Evaluation, CelError> evaluate(
    const Expr& root, const std::vector<std::pair<std::string, ParamTypeRef>>& params,
    int slot_count, const nlohmann::json& context) {
  try {
    if (!context.is_null() && !context.is_object()) {
      return Err(CelError{"condition context must be a JSON object"});
    }
    // OpenFGA CastContextToTypedParameters: a non-empty context for a condition without
    // parameters is an error.
    if (params.empty() && context.is_object() && !context.empty()) {
      return Err(CelError{"no parameters defined for the condition"});
    }
    Evaluation result;
    std::vector<Value> slots(static_cast<size_t>(slot_count), detail::Unknown{});
    Converter converter;
    for (size_t i = 0; i < params.size(); ++i) {
      const auto& [name, type] = params[i];
      auto it = context.is_object() ? context.find(name) : context.end();
      if (!context.is_object() || it == context.end()) {
        result.missing.push_back(name);  // stays unknown
        continue;
      }
      auto v = converter.convert(*it, type);
      if (!v) {
        return Err(
            CelError{"failed to convert context parameter '" + name + "': " + converter.error_});
      }
      slots[i] = std::move(*v);
    }
    Evaluator evaluator(std::move(slots));
    Value out = evaluator.eval(root);
    if (evaluator.aborted()) {
      return Err(CelError{"condition evaluation cost limit (" + std::to_string(kMaxEvaluationCost) +
                          ") exceeded"});
    }
    switch (kind_of(out)) {
      case Kind::Bool:
        result.value = std::get<bool>(out);
        return result;
      case Kind::Unknown:
        result.value = false;  // undecided: the missing parameters say why
        return result;
      case Kind::Error:
        return Err(CelError{*std::get<detail::Error>(out).message});
      default:
        return Err(CelError{"condition result is " + detail::type_name(out) + ", not bool"});
    }
  } catch (const std::exception& ex) {
    return Err(CelError{std::string("failed to evaluate condition: ") + ex.what()});
  }
}

}  // namespace tessera::fga::cel::detail
