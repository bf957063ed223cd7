#include "core/json.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

namespace tessera::json {

const char* to_string(ParseError e) {
  switch (e) {
    case ParseError::kTooLarge:
      return "JSON document too large";
    case ParseError::kTooDeep:
      return "JSON nesting too deep";
    case ParseError::kDuplicateMember:
      return "duplicate JSON member name";
    case ParseError::kSyntax:
      return "malformed JSON";
  }
  return "malformed JSON";
}

namespace {

// Builds the document as nlohmann's own DOM parser does, and refuses a member name an object
// already has (looked up in the object being built: no set of seen names on the side) and nesting
// past the limit. Depth counts the containers open around an event, as nlohmann's parse callback
// does: a value or a container inside more than max_depth open containers is too deep.
class StrictDom {
 public:
  explicit StrictDom(int max_depth) : max_depth_(static_cast<size_t>(std::max(max_depth, 0))) {}

  bool null() { return put(Json(nullptr)); }
  bool boolean(bool v) { return put(Json(v)); }
  bool number_integer(Json::number_integer_t v) { return put(Json(v)); }
  bool number_unsigned(Json::number_unsigned_t v) { return put(Json(v)); }
  bool number_float(Json::number_float_t v, const std::string& /*text*/) { return put(Json(v)); }
  bool string(std::string& v) { return put(Json(std::move(v))); }
  bool binary(Json::binary_t& v) { return put(Json::binary(std::move(v))); }

  bool start_object(std::size_t /*size*/) { return open(Json::value_t::object); }
  bool start_array(std::size_t /*size*/) { return open(Json::value_t::array); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }

  bool key(std::string& name) {
    if (too_deep_check()) return false;
    auto& object = stack_.back()->get_ref<Json::object_t&>();
    auto [it, inserted] = object.try_emplace(std::move(name));
    if (!inserted) {
      duplicate_ = true;
      return false;
    }
    member_ = &it->second;
    return true;
  }

  bool parse_error(std::size_t /*position*/, const std::string& /*token*/,
                   const nlohmann::detail::exception& /*error*/) {
    return false;
  }

  Json& root() { return root_; }
  bool too_deep() const { return too_deep_; }
  bool duplicate() const { return duplicate_; }

 private:
  bool too_deep_check() {
    if (stack_.size() > max_depth_) too_deep_ = true;
    return too_deep_;
  }
  // Places a finished value where the parser is: the root, the next array element, or the
  // member whose name came last. Returns where it went.
  Json* place(Json&& v) {
    if (stack_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    Json* parent = stack_.back();
    if (parent->is_array()) {
      auto& array = parent->get_ref<Json::array_t&>();
      array.push_back(std::move(v));
      return &array.back();
    }
    *member_ = std::move(v);
    return member_;
  }
  bool put(Json&& v) {
    if (too_deep_check()) return false;
    place(std::move(v));
    return true;
  }
  bool open(Json::value_t type) {
    if (too_deep_check()) return false;
    stack_.push_back(place(Json(type)));
    return true;
  }
  bool close() {
    stack_.pop_back();
    return true;
  }

  size_t max_depth_;
  Json root_;
  std::vector<Json*> stack_;
  Json* member_ = nullptr;
  bool too_deep_ = false;
  bool duplicate_ = false;
};

}  // namespace

Result<Json, ParseError> parse_strict(std::string_view text, Limits limits) {
  if (text.size() > limits.max_bytes) return Err(ParseError::kTooLarge);
  // nlohmann's lexer takes a NUL byte for the end of the input and would ignore what follows it;
  // RFC 8259 allows the byte nowhere (not even escaped-free inside a string).
  if (text.find('\0') != std::string_view::npos) return Err(ParseError::kSyntax);
  StrictDom dom(limits.max_depth);
  const bool ok = Json::sax_parse(text.begin(), text.end(), &dom, Json::input_format_t::json,
                                  /*strict=*/true);
  if (dom.too_deep()) return Err(ParseError::kTooDeep);
  if (dom.duplicate()) return Err(ParseError::kDuplicateMember);
  if (!ok) return Err(ParseError::kSyntax);
  return std::move(dom.root());
}

}  // namespace tessera::json
