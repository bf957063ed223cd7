#include "core/json_schema.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <string_view>
#include <vector>

namespace tessera::json {
namespace {

constexpr std::array<std::string_view, 7> kAnnotations = {
    "$schema", "$id", "$comment", "title", "description", "examples", "default"};
constexpr std::array<std::string_view, 7> kTypes = {"null",   "boolean", "object", "array",
                                                    "number", "string",  "integer"};

bool is_one_of(std::string_view key, const auto& names) {
  return std::find(names.begin(), names.end(), key) != names.end();
}

bool is_count(const Json& v) { return v.is_number_unsigned() || (v.is_number_integer() && v >= 0); }

std::optional<std::string> problem_at(const Json& schema, const std::string& at, int depth);

// A keyword whose value is a schema.
std::optional<std::string> sub(const Json& schema, const std::string& at, int depth) {
  return problem_at(schema, at, depth + 1);
}

std::optional<std::string> keyword_problem(const std::string& key, const Json& v,
                                           const std::string& at, int depth) {
  const std::string where = at + "/" + key;
  if (key == "type") {
    auto known = [](const Json& t) {
      return t.is_string() && is_one_of(t.get_ref<const std::string&>(), kTypes);
    };
    if (known(v) || (v.is_array() && !v.empty() && std::all_of(v.begin(), v.end(), known))) {
      return std::nullopt;
    }
    return where + ": must name JSON Schema types";
  }
  if (key == "enum") {
    return v.is_array() && !v.empty() ? std::nullopt
                                      : std::optional<std::string>(where + ": must be a list");
  }
  if (key == "const") return std::nullopt;
  if (key == "properties") {
    if (!v.is_object()) return where + ": must be an object of schemas";
    for (const auto& [name, s] : v.items()) {
      if (auto p = sub(s, std::string(where).append("/").append(name), depth)) return p;
    }
    return std::nullopt;
  }
  if (key == "required") {
    if (v.is_array() &&
        std::all_of(v.begin(), v.end(), [](const Json& n) { return n.is_string(); })) {
      return std::nullopt;
    }
    return where + ": must be a list of member names";
  }
  if (key == "additionalProperties") {
    if (v.is_boolean()) return std::nullopt;
    return sub(v, where, depth);
  }
  if (key == "items") return sub(v, where, depth);
  if (key == "uniqueItems") {
    return v.is_boolean() ? std::nullopt
                          : std::optional<std::string>(where + ": must be a boolean");
  }
  if (key == "minItems" || key == "maxItems" || key == "minLength" || key == "maxLength") {
    return is_count(v) ? std::nullopt
                       : std::optional<std::string>(where + ": must be a non-negative integer");
  }
  if (key == "minimum" || key == "maximum" || key == "exclusiveMinimum" ||
      key == "exclusiveMaximum") {
    return v.is_number() ? std::nullopt : std::optional<std::string>(where + ": must be a number");
  }
  if (key == "pattern") {
    return where +
           ": pattern is not supported (regular expressions could be made to run without "
           "bound); use enum or maxLength";
  }
  return where + ": keyword not supported";
}

std::optional<std::string> problem_at(const Json& schema, const std::string& at, int depth) {
  if (depth > kMaxSchemaDepth) return (at.empty() ? "/" : at) + ": nested too deeply";
  if (schema.is_boolean()) return std::nullopt;  // true: anything; false: nothing
  if (!schema.is_object()) return (at.empty() ? "/" : at) + ": a schema must be an object";
  for (const auto& [key, v] : schema.items()) {
    if (is_one_of(key, kAnnotations)) continue;
    if (auto p = keyword_problem(key, v, at, depth)) return p;
  }
  return std::nullopt;
}

bool has_type(const Json& value, std::string_view type) {
  if (type == "null") return value.is_null();
  if (type == "boolean") return value.is_boolean();
  if (type == "object") return value.is_object();
  if (type == "array") return value.is_array();
  if (type == "string") return value.is_string();
  if (type == "number") return value.is_number();
  // integer: any number with a zero fractional part (2020-12 §6.1.1: 1.0 is an integer).
  if (type == "integer") {
    if (value.is_number_integer()) return true;
    if (!value.is_number_float()) return false;
    double d = value.get<double>();
    return std::isfinite(d) && std::floor(d) == d;
  }
  return false;
}

// RFC 8259 §8: a string's length is counted in code points (JSON Schema §6.3.1), not bytes.
size_t code_points(const std::string& text) {
  return static_cast<size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

std::string pointer_escape(const std::string& name) {  // RFC 6901 §3
  std::string out;
  for (char c : name) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

std::optional<std::string> violation_at(const Json& schema, const Json& value,
                                        const std::string& at);

std::optional<std::string> fail(const std::string& at, const std::string& what) {
  return (at.empty() ? "/" : at) + ": " + what;
}

std::optional<std::string> object_violation(const Json& schema, const Json& value,
                                            const std::string& at) {
  if (auto required = schema.find("required"); required != schema.end()) {
    for (const auto& name : *required) {
      if (!value.contains(name.get<std::string>())) {
        return fail(at, "member " + name.get<std::string>() + " is required");
      }
    }
  }
  const Json* properties = nullptr;
  if (auto p = schema.find("properties"); p != schema.end()) properties = &*p;
  auto additional = schema.find("additionalProperties");
  for (const auto& [name, member] : value.items()) {
    const std::string here = at + "/" + pointer_escape(name);
    if (properties != nullptr && properties->contains(name)) {
      if (auto v = violation_at((*properties)[name], member, here)) return v;
    } else if (additional != schema.end()) {
      if (additional->is_boolean() && !additional->get<bool>()) {
        return fail(at, "member " + name + " is not allowed");
      }
      if (auto v = violation_at(*additional, member, here)) return v;
    }
  }
  return std::nullopt;
}

std::optional<std::string> array_violation(const Json& schema, const Json& value,
                                           const std::string& at) {
  if (auto m = schema.find("minItems"); m != schema.end() && value.size() < m->get<size_t>()) {
    return fail(at, "must have at least " + std::to_string(m->get<size_t>()) + " items");
  }
  if (auto m = schema.find("maxItems"); m != schema.end() && value.size() > m->get<size_t>()) {
    return fail(at, "must have at most " + std::to_string(m->get<size_t>()) + " items");
  }
  if (auto u = schema.find("uniqueItems"); u != schema.end() && u->get<bool>()) {
    // Sorted, so a long array costs n log n, not n squared; equal items end up side by side.
    std::vector<Json> items(value.begin(), value.end());
    std::sort(items.begin(), items.end());
    if (std::adjacent_find(items.begin(), items.end()) != items.end()) {
      return fail(at, "items must be unique");
    }
  }
  if (auto items = schema.find("items"); items != schema.end()) {
    for (size_t i = 0; i < value.size(); ++i) {
      if (auto v = violation_at(*items, value[i], at + "/" + std::to_string(i))) return v;
    }
  }
  return std::nullopt;
}

std::optional<std::string> scalar_violation(const Json& schema, const Json& value,
                                            const std::string& at) {
  if (value.is_string()) {
    const size_t length = code_points(value.get_ref<const std::string&>());
    if (auto m = schema.find("minLength"); m != schema.end() && length < m->get<size_t>()) {
      return fail(at, "must be at least " + std::to_string(m->get<size_t>()) + " characters");
    }
    if (auto m = schema.find("maxLength"); m != schema.end() && length > m->get<size_t>()) {
      return fail(at, "must be at most " + std::to_string(m->get<size_t>()) + " characters");
    }
  }
  if (value.is_number()) {
    const double d = value.get<double>();
    auto bound = [&](const char* key, auto broken, const char* what) -> std::optional<std::string> {
      auto b = schema.find(key);
      if (b == schema.end() || !broken(d, b->template get<double>())) return std::nullopt;
      return fail(at, std::string(what) + " " + b->dump());
    };
    if (auto v = bound(
            "minimum", [](double x, double b) { return x < b; }, "must be at least")) {
      return v;
    }
    if (auto v = bound(
            "maximum", [](double x, double b) { return x > b; }, "must be at most")) {
      return v;
    }
    if (auto v = bound(
            "exclusiveMinimum", [](double x, double b) { return x <= b; }, "must be more than")) {
      return v;
    }
    if (auto v = bound(
            "exclusiveMaximum", [](double x, double b) { return x >= b; }, "must be less than")) {
      return v;
    }
  }
  return std::nullopt;
}

std::optional<std::string> violation_at(const Json& schema, const Json& value,
                                        const std::string& at) {
  if (schema.is_boolean()) {
    return schema.get<bool>() ? std::nullopt : fail(at, "no value is allowed here");
  }
  if (auto type = schema.find("type"); type != schema.end()) {
    bool ok = false;
    if (type->is_string()) {
      ok = has_type(value, type->get_ref<const std::string&>());
    } else {
      ok = std::any_of(type->begin(), type->end(), [&](const Json& t) {
        return has_type(value, t.get_ref<const std::string&>());
      });
    }
    if (!ok) return fail(at, "must be of type " + type->dump());
  }
  if (auto e = schema.find("enum"); e != schema.end()) {
    if (std::find(e->begin(), e->end(), value) == e->end()) {
      return fail(at, "must be one of " + e->dump());
    }
  }
  if (auto c = schema.find("const"); c != schema.end() && *c != value) {
    return fail(at, "must be " + c->dump());
  }
  if (value.is_object()) return object_violation(schema, value, at);
  if (value.is_array()) return array_violation(schema, value, at);
  return scalar_violation(schema, value, at);
}

}  // namespace

std::optional<std::string> schema_problem(const Json& schema) { return problem_at(schema, "", 0); }

std::optional<std::string> schema_violation(const Json& schema, const Json& value) {
  return violation_at(schema, value, "");
}

}  // namespace tessera::json
