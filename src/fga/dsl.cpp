// The OpenFGA modelling language, schema 1.1 (openfga/language: OpenFGALexer.g4 and
// OpenFGAParser.g4, as shipped in @openfga/syntax-transformer), parsed by hand into a Model
// that to_json() turns into exactly the JSON syntax-transformer produces.
//
// What the grammar says, and this parser follows:
// - Comments: before lexing, a line whose first non-blank character is `#` is emptied and
//   anything from ` #` (space, hash) to the end of a line is cut, in condition bodies too
//   (syntax-transformer parseDSL). Trailing blanks are dropped.
// - Indentation is free: a NEWLINE token swallows the blanks around line breaks, so `type`,
//   `relations` and `define` are recognised by keyword, not by column.
// - `define r: <def>`: <def> is operands joined by ONE operator kind, `or`, `and` or
//   `but not` (which takes exactly two operands). Mixing kinds needs parentheses
//   (`a or b and c` is a syntax error), there is no precedence. `[...]` (direct assignment,
//   JSON `this`) may only be the first operand of the chain, possibly inside parentheses;
//   `(x)` is x, and nested groups are never flattened: `a or (b or c)` is a union inside a
//   union.
// - Names of types and relations are IDENTIFIER ([A-Za-z_][A-Za-z0-9_-]*) or
//   EXTENDED_IDENTIFIER (with `.` and `/` separators); the keywords module, model, schema,
//   extend, type and relation may be used as names, the other keywords may not.
// - `condition name(p: type, ...) { expression }`: the expression is the token text between
//   the braces, CEL `//` comments removed, trimmed. It cannot contain `}` outside a string
//   literal (the grammar ends the body at the first RBRACE token).
#include "fga/dsl.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "fga/dsl_internal.h"

namespace tessera::fga {
namespace {

using detail::kMaxConditions;
using detail::kMaxDslBytes;
using detail::kMaxOperands;
using detail::kMaxParameters;
using detail::kMaxRelations;
using detail::kMaxRewriteDepth;
using detail::kMaxTypeRestrictions;
using detail::kMaxTypes;

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\f'; }
bool is_line_break(char c) { return c == '\n' || c == '\r'; }
bool is_letter(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_word_char(char c) { return is_letter(c) || is_digit(c) || c == '_'; }
bool is_ident_char(char c) { return is_word_char(c) || c == '-'; }

// JavaScript's trimEnd() for the characters that can matter here (ASCII white space).
std::string_view trim_end(std::string_view s) {
  while (!s.empty() && (is_blank(s.back()) || s.back() == '\r' || s.back() == '\v')) {
    s.remove_suffix(1);
  }
  return s;
}

std::string_view trim(std::string_view s) {
  s = trim_end(s);
  while (!s.empty() && (is_blank(s.front()) || is_line_break(s.front()) || s.front() == '\v')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && is_line_break(s.back())) s.remove_suffix(1);
  return trim_end(s);
}

// syntax-transformer parseDSL's comment removal, line by line: lines and columns are kept, so
// positions in the cleaned text are positions in the original.
std::string strip_comments(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t start = 0;
  while (true) {
    const size_t nl = text.find('\n', start);
    std::string_view line =
        text.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    size_t first = 0;
    while (first < line.size() && (is_blank(line[first]) || line[first] == '\r' ||
                                   line[first] == '\v' || line[first] == '\n')) {
      ++first;
    }
    if (first < line.size() && line[first] == '#') {
      line = {};
    } else {
      const size_t hash = line.find(" #");
      if (hash != std::string_view::npos) line = line.substr(0, hash);
      line = trim_end(line);
    }
    out.append(line);
    if (nl == std::string_view::npos) break;
    out.push_back('\n');
    start = nl + 1;
  }
  return out;
}

// Keywords that the lexer turns into their own tokens and that the grammar does not accept
// as a name (`identifier: IDENTIFIER | MODULE | MODEL | SCHEMA | EXTEND | TYPE | RELATION`).
bool is_reserved_word(std::string_view w) {
  static const std::set<std::string_view> kReserved = {"and",       "or",        "from", "define",
                                                       "relations", "condition", "with", "in",
                                                       "true",      "false",     "null"};
  return kReserved.count(w) != 0;
}

// Words the lexer's CONDITION_DEF mode turns into type tokens: not usable as condition or
// parameter names.
bool is_param_type_word(std::string_view w) {
  return w == "map" || w == "list" || detail::param_type_from_dsl(w).has_value();
}

struct ParseFailure {
  size_t offset;
  std::string message;
};

class Parser {
 public:
  explicit Parser(std::string text) : text_(std::move(text)) {}

  Result<Model, DslError> run() {
    if (!parse_model()) return Err(to_dsl_error(*failure_));
    return std::move(model_);
  }

 private:
  // --- positions and errors -------------------------------------------------------------

  DslError to_dsl_error(const ParseFailure& f) const {
    DslError e;
    e.line = 1;
    e.column = 1;
    const size_t end = std::min(f.offset, text_.size());
    for (size_t i = 0; i < end; ++i) {
      const auto c = static_cast<unsigned char>(text_[i]);
      if (c == '\n') {
        ++e.line;
        e.column = 1;
      } else if ((c & 0xC0) != 0x80) {  // count code points, not UTF-8 continuation bytes
        ++e.column;
      }
    }
    e.message = f.message;
    return e;
  }

  bool fail(size_t offset, std::string message) {
    if (!failure_) failure_ = ParseFailure{offset, std::move(message)};
    return false;
  }

  // What is at `offset`, for "expected X, found Y".
  std::string found_at(size_t offset) const {
    if (offset >= text_.size()) return "end of input";
    const char c = text_[offset];
    if (is_line_break(c)) return "end of line";
    if (is_blank(c)) return "white space";
    if (is_word_char(c)) {
      size_t end = offset;
      while (end < text_.size() && is_ident_char(text_[end])) ++end;
      return "'" + text_.substr(offset, end - offset) + "'";
    }
    return "'" + std::string(1, c) + "'";
  }

  bool expected(std::string_view what) { return expected_at(pos_, what); }
  bool expected_at(size_t offset, std::string_view what) {
    return fail(offset, "expected " + std::string(what) + ", found " + found_at(offset));
  }

  // --- tokens ---------------------------------------------------------------------------

  bool at_end() const { return pos_ >= text_.size(); }
  char peek(size_t ahead = 0) const {
    return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0';
  }

  // WHITESPACE: blanks with no line break. NEWLINE: a run of blanks holding a line break
  // (OpenFGALexer NEWLINE swallows the blanks around it and following empty lines); the end
  // of the text counts as one. CEL_COMMENT (`//` to the end of the line) is on the lexer's
  // hidden channel everywhere, so it is skipped as if it were not there.
  enum class Space { None, Blank, Newline };
  size_t comment_end(size_t i) const {
    if (i + 1 >= text_.size() || text_[i] != '/' || text_[i + 1] != '/') return i;
    while (i < text_.size() && !is_line_break(text_[i])) ++i;
    return i;
  }
  Space space_kind(size_t* end) const {
    size_t i = pos_;
    bool newline = false;
    while (i < text_.size()) {
      if (is_blank(text_[i]) || is_line_break(text_[i])) {
        newline = newline || is_line_break(text_[i]);
        ++i;
      } else if (const size_t after = comment_end(i); after != i) {
        i = after;
      } else {
        break;
      }
    }
    if (end != nullptr) *end = i;
    if (i == pos_) return Space::None;
    return newline || i == text_.size() ? Space::Newline : Space::Blank;
  }
  bool accept_blank() {
    size_t end = 0;
    if (space_kind(&end) != Space::Blank) return false;
    pos_ = end;
    return true;
  }
  bool accept_newline() {
    size_t end = 0;
    if (space_kind(&end) != Space::Newline) return false;
    pos_ = end;
    return true;
  }
  // Blanks and line breaks, where the grammar allows NEWLINE? and WHITESPACE? in a row.
  void skip_space() { space_kind(&pos_); }
  bool expect_blank(std::string_view after) {
    if (accept_blank()) return true;
    return expected("a space after " + std::string(after));
  }

  // The word at pos_ (IDENTIFIER), without consuming it.
  std::string_view word_at(size_t offset) const {
    if (offset >= text_.size() || !(is_letter(text_[offset]) || text_[offset] == '_')) return {};
    size_t end = offset + 1;
    while (end < text_.size() && is_ident_char(text_[end])) ++end;
    return std::string_view(text_).substr(offset, end - offset);
  }
  bool accept_word(std::string_view w) {
    if (word_at(pos_) != w) return false;
    pos_ += w.size();
    return true;
  }
  bool expect_word(std::string_view w) {
    if (accept_word(w)) return true;
    return expected("'" + std::string(w) + "'");
  }
  bool accept_char(char c) {
    if (peek() != c || at_end()) return false;
    ++pos_;
    return true;
  }
  bool expect_char(char c) {
    if (accept_char(c)) return true;
    return expected("'" + std::string(1, c) + "'");
  }

  // A type or relation name: the longer of IDENTIFIER and EXTENDED_IDENTIFIER (the lexer's
  // longest match), not a reserved keyword.
  bool parse_name(std::string_view what, std::string* out) {
    const size_t start = pos_;
    if (at_end() || !(is_letter(peek()) || peek() == '_')) return expected(what);
    size_t ident = start + 1;
    while (ident < text_.size() && is_ident_char(text_[ident])) ++ident;
    // EXTENDED_IDENTIFIER: (LETTER | '_') ((SLASH | DOT | MINUS)? (LETTER | DIGIT | '_')+)*
    size_t ext = start + 1;
    while (ext < text_.size()) {
      size_t i = ext;
      if (text_[i] == '/' || text_[i] == '.' || text_[i] == '-') ++i;
      if (i >= text_.size() || !is_word_char(text_[i])) break;
      while (i < text_.size() && is_word_char(text_[i])) ++i;
      ext = i;
    }
    const size_t end = std::max(ident, ext);
    std::string_view name = std::string_view(text_).substr(start, end - start);
    if (is_reserved_word(name)) {
      return fail(start, "'" + std::string(name) + "' is a keyword and cannot be used as " +
                             std::string(what));
    }
    *out = std::string(name);
    pos_ = end;
    return true;
  }

  // A condition or parameter name: IDENTIFIER only (the grammar's conditionName and
  // parameterName), and no keyword of either lexer mode.
  bool parse_plain_name(std::string_view what, std::string* out) {
    std::string_view w = word_at(pos_);
    if (w.empty()) return expected(what);
    if (is_reserved_word(w) || is_param_type_word(w) || w == "model" || w == "module" ||
        w == "schema" || w == "extend" || w == "type" || w == "relation") {
      return fail(
          pos_, "'" + std::string(w) + "' is a keyword and cannot be used as " + std::string(what));
    }
    *out = std::string(w);
    pos_ += w.size();
    return true;
  }

  // --- model ----------------------------------------------------------------------------

  bool parse_model() {
    if (text_.size() > kMaxDslBytes) {
      return fail(0, "model text is larger than " + std::to_string(kMaxDslBytes) + " bytes");
    }
    skip_space();  // main: WHITESPACE? NEWLINE?
    if (word_at(pos_) == "module") {
      return fail(pos_, "modular models (module ...) are not supported; start with 'model'");
    }
    if (!expect_word("model")) return false;
    if (!accept_newline()) return expected("a new line after 'model'");
    if (!expect_word("schema") || !expect_blank("'schema'")) return false;
    // SCHEMA_VERSION: DIGIT+ '.' DIGIT+
    const size_t version_start = pos_;
    while (is_digit(peek()) && !at_end()) ++pos_;
    if (pos_ == version_start || !accept_char('.') || !is_digit(peek())) {
      pos_ = version_start;
      return expected("a schema version such as 1.1");
    }
    while (is_digit(peek()) && !at_end()) ++pos_;
    model_.schema_version = text_.substr(version_start, pos_ - version_start);
    accept_blank();

    bool seen_condition = false;
    while (true) {
      if (at_end()) return true;
      if (!accept_newline()) {
        size_t next = pos_;
        while (next < text_.size() && is_blank(text_[next])) ++next;
        return expected_at(next, "end of line");
      }
      if (at_end()) return true;
      const size_t keyword = pos_;
      if (word_at(pos_) == "type") {
        if (seen_condition) {
          return fail(keyword, "type definitions must come before conditions");
        }
        if (!parse_type()) return false;
      } else if (word_at(pos_) == "condition") {
        seen_condition = true;
        if (!parse_condition()) return false;
      } else if (word_at(pos_) == "extend") {
        return fail(keyword, "extend can only be used in a modular model");
      } else if (word_at(pos_) == "define" || word_at(pos_) == "relations") {
        return fail(keyword, "'" + std::string(word_at(pos_)) +
                                 "' must follow a type definition ('type name' then 'relations')");
      } else {
        return expected("'type' or 'condition'");
      }
    }
  }

  bool parse_type() {
    const size_t start = pos_;
    if (model_.types.size() >= kMaxTypes) {
      return fail(start, "too many type definitions (limit " + std::to_string(kMaxTypes) + ")");
    }
    TypeDefinition type;
    if (!expect_word("type") || !expect_blank("'type'")) return false;
    if (!parse_name("a type name", &type.name)) return false;
    // (NEWLINE RELATIONS relationDeclaration+)?
    const size_t before = pos_;
    if (accept_newline() && accept_word("relations")) {
      bool any = false;
      while (true) {
        const size_t line_start = pos_;
        if (!accept_newline() || word_at(pos_) != "define") {
          pos_ = line_start;
          break;
        }
        if (!parse_relation(&type)) return false;
        any = true;
      }
      if (!any) {
        size_t next = pos_;
        space_kind(&next);
        return expected_at(next, "'define' after 'relations'");
      }
    } else {
      pos_ = before;
    }
    model_.types.push_back(std::move(type));
    return true;
  }

  bool parse_relation(TypeDefinition* type) {
    if (type->relations.size() >= kMaxRelations) {
      return fail(pos_, "too many relations in type '" + type->name + "' (limit " +
                            std::to_string(kMaxRelations) + ")");
    }
    Relation relation;
    if (!expect_word("define") || !expect_blank("'define'")) return false;
    const size_t name_at = pos_;
    if (!parse_name("a relation name", &relation.name)) return false;
    if (type->relation(relation.name) != nullptr) {
      return fail(name_at, "'" + relation.name + "' is already defined in '" + type->name + "'");
    }
    accept_blank();
    if (!expect_char(':')) return false;
    accept_blank();
    current_ = &relation;
    saw_direct_ = false;
    if (!parse_expression(/*allow_direct=*/true, 0, &relation.rewrite)) return false;
    current_ = nullptr;
    // The definition ends the line.
    size_t next = pos_;
    if (!at_end() && space_kind(&next) != Space::Newline) {
      if (space_kind(&next) == Space::Blank) {
        const std::string_view w = word_at(next);
        if (w == "or" || w == "and" || text_.compare(next, 7, "but not") == 0) {
          return fail(next,
                      "cannot mix operators without parentheses: group with ( ) (OpenFGA "
                      "allows one kind of operator per expression)");
        }
      }
      return expected_at(next, "end of line after the relation definition");
    }
    type->relations.push_back(std::move(relation));
    return true;
  }

  // The operator word at `offset`: "or", "and", "but not", or empty.
  std::string_view operator_at(size_t offset) const {
    const std::string_view w = word_at(offset);
    if (w == "or" || w == "and") return w;
    if (text_.compare(offset, 7, "but not") == 0) return "but not";
    return {};
  }

  // relationDef / relationDefNoDirect: operand (WS op WS operand)*, one kind of op.
  bool parse_expression(bool allow_direct, int depth, Rewrite* out) {
    if (depth > kMaxRewriteDepth) {
      return fail(pos_, "relation definition nested too deeply (limit " +
                            std::to_string(kMaxRewriteDepth) + " levels of parentheses)");
    }
    std::vector<Rewrite> operands(1);
    if (!parse_operand(allow_direct, depth, &operands[0])) return false;
    std::string_view op;
    while (true) {
      size_t after_blank = pos_;
      if (space_kind(&after_blank) != Space::Blank) break;
      const std::string_view next_op = operator_at(after_blank);
      if (next_op.empty()) break;
      if (!op.empty() && next_op != op) break;  // the caller reports the mix
      if (op == "but not") {
        return fail(after_blank,
                    "'but not' takes one operand on each side: group with ( ) to chain it");
      }
      if (operands.size() >= kMaxOperands) {
        return fail(after_blank, "too many operands (limit " + std::to_string(kMaxOperands) + ")");
      }
      op = next_op;
      pos_ = after_blank + op.size();
      if (!expect_blank("'" + std::string(op) + "'")) return false;
      operands.emplace_back();
      if (!parse_operand(/*allow_direct=*/false, depth, &operands.back())) return false;
    }
    if (operands.size() == 1) {
      *out = std::move(operands[0]);
      return true;
    }
    Rewrite r;
    if (op == "or") {
      r.kind = Rewrite::Kind::Union;
    } else if (op == "and") {
      r.kind = Rewrite::Kind::Intersection;
    } else {
      r.kind = Rewrite::Kind::Difference;
    }
    r.children = std::move(operands);
    *out = std::move(r);
    return true;
  }

  bool parse_operand(bool allow_direct, int depth, Rewrite* out) {
    const size_t start = pos_;
    if (peek() == '[' && !at_end()) {
      if (!allow_direct) {
        return fail(start,
                    "direct type restrictions [...] must be the first operand of a relation "
                    "definition");
      }
      if (!current_->directly_related.empty() || saw_direct_) {
        return fail(start, "only one direct type restriction [...] per relation");
      }
      saw_direct_ = true;
      out->kind = Rewrite::Kind::This;
      return parse_direct(&current_->directly_related);
    }
    if (accept_char('(')) {
      while (is_blank(peek()) && !at_end()) ++pos_;
      if (!parse_expression(allow_direct, depth + 1, out)) return false;
      while (is_blank(peek()) && !at_end()) ++pos_;
      if (peek() == ')' && !at_end()) {
        ++pos_;
        return true;
      }
      const std::string_view op = operator_at(pos_);
      if (!op.empty()) {
        return fail(pos_,
                    "cannot mix operators without parentheses: group with ( ) (OpenFGA "
                    "allows one kind of operator per expression)");
      }
      return expected("')'");
    }
    std::string name;
    if (!parse_name("a relation name, '(' or '['", &name)) return false;
    // relationDefRewrite: name (WS FROM WS name)?
    size_t after_blank = pos_;
    if (space_kind(&after_blank) == Space::Blank && word_at(after_blank) == "from") {
      pos_ = after_blank + 4;
      if (!expect_blank("'from'")) return false;
      std::string tupleset;
      if (!parse_name("a relation name after 'from'", &tupleset)) return false;
      out->kind = Rewrite::Kind::TupleToUserset;
      out->relation = std::move(name);
      out->tupleset = std::move(tupleset);
      return true;
    }
    out->kind = Rewrite::Kind::Computed;
    out->relation = std::move(name);
    return true;
  }

  // relationDefDirectAssignment: '[' restriction (',' restriction)* ']', each restriction
  // `type`, `type:*`, `type#relation`, optionally `with condition`; blanks and line breaks
  // allowed around restrictions.
  bool parse_direct(std::vector<RelationReference>* refs) {
    ++pos_;  // '['
    while (true) {
      skip_space();
      if (refs->size() >= kMaxTypeRestrictions) {
        return fail(pos_, "too many type restrictions (limit " +
                              std::to_string(kMaxTypeRestrictions) + ")");
      }
      RelationReference ref;
      if (!parse_name("a type name", &ref.type)) return false;
      if (accept_char(':')) {
        if (!expect_char('*')) return false;
        ref.wildcard = true;
      } else if (accept_char('#')) {
        if (!parse_name("a relation name after '#'", &ref.relation)) return false;
      }
      size_t after_blank = pos_;
      if (space_kind(&after_blank) == Space::Blank && word_at(after_blank) == "with") {
        pos_ = after_blank + 4;
        if (!expect_blank("'with'")) return false;
        if (!parse_plain_name("a condition name", &ref.condition)) return false;
      }
      refs->push_back(std::move(ref));
      skip_space();
      if (accept_char(']')) return true;
      if (!accept_char(',')) return expected("',' or ']'");
    }
  }

  // --- conditions -----------------------------------------------------------------------

  bool parse_condition() {
    if (model_.conditions.size() >= kMaxConditions) {
      return fail(pos_, "too many conditions (limit " + std::to_string(kMaxConditions) + ")");
    }
    Condition condition;
    if (!expect_word("condition") || !expect_blank("'condition'")) return false;
    const size_t name_at = pos_;
    if (!parse_plain_name("a condition name", &condition.name)) return false;
    if (model_.conditions.count(condition.name) != 0) {
      return fail(name_at, "condition '" + condition.name + "' is already defined in the model");
    }
    accept_blank();
    if (!expect_char('(')) return false;
    while (true) {
      skip_space();
      if (condition.parameters.size() >= kMaxParameters) {
        return fail(pos_, "too many parameters (limit " + std::to_string(kMaxParameters) + ")");
      }
      const size_t param_at = pos_;
      std::string param;
      if (!parse_plain_name("a parameter name", &param)) return false;
      accept_blank();
      if (!expect_char(':')) return false;
      accept_blank();
      ParamTypeRef type;
      if (!parse_param_type(&type)) return false;
      if (!condition.parameters.emplace(param, std::move(type)).second) {
        return fail(param_at, "parameter '" + param + "' is already defined in the condition '" +
                                  condition.name + "'");
      }
      skip_space();
      if (accept_char(')')) break;
      if (!accept_char(',')) return expected("',' or ')'");
    }
    accept_blank();
    if (!expect_char('{')) return false;
    if (!parse_condition_body(&condition.expression)) return false;
    model_.conditions.emplace(condition.name, std::move(condition));
    return true;
  }

  // parameterType: CONDITION_PARAM_TYPE | CONDITION_PARAM_CONTAINER '<' CONDITION_PARAM_TYPE '>'
  bool parse_param_type(ParamTypeRef* out) {
    const std::string_view w = word_at(pos_);
    if (w == "list" || w == "map") {
      out->type = w == "list" ? ParamType::List : ParamType::Map;
      pos_ += w.size();
      if (!expect_char('<')) return false;
      const std::string_view inner = word_at(pos_);
      const auto inner_type = detail::param_type_from_dsl(inner);
      if (!inner_type || *inner_type == ParamType::List || *inner_type == ParamType::Map) {
        return expected(
            "a parameter type (bool, string, int, uint, double, duration, "
            "timestamp, ipaddress) inside < >");
      }
      pos_ += inner.size();
      out->generic.push_back(ParamTypeRef{*inner_type, {}});
      return expect_char('>');
    }
    const auto type = detail::param_type_from_dsl(w);
    if (!type || *type == ParamType::Any) {
      return expected(
          "a parameter type (bool, string, int, uint, double, duration, timestamp, "
          "ipaddress, list<T>, map<T>)");
    }
    out->type = *type;
    pos_ += w.size();
    return true;
  }

  // A string literal starting at pos_ (the opening quote), per the CEL STRING rule:
  // '...' / "..." (one line, backslash escapes), '''...''' / """...""" (any lines), and the raw
  // forms after r/R (no escapes).
  bool skip_string(bool raw) {
    const size_t start = pos_;
    const char quote = peek();
    const bool triple = peek(1) == quote && peek(2) == quote;
    pos_ += triple ? 3 : 1;
    while (true) {
      if (at_end()) return fail(start, "unterminated string literal in condition");
      const char c = peek();
      if (!raw && c == '\\') {
        if (pos_ + 1 >= text_.size() || (!triple && is_line_break(peek(1)))) {
          return fail(pos_, "invalid escape sequence in string literal");
        }
        pos_ += 2;
        continue;
      }
      if (!triple && is_line_break(c)) {
        return fail(start, "unterminated string literal in condition");
      }
      if (c == quote && (!triple || (peek(1) == quote && peek(2) == quote))) {
        pos_ += triple ? 3 : 1;
        return true;
      }
      ++pos_;
    }
  }

  // conditionExpression: every token up to the first '}' that is not inside a string.
  bool parse_condition_body(std::string* expression) {
    std::string text;
    while (true) {
      if (at_end()) return fail(pos_, "expected '}' to close the condition, found end of input");
      const size_t start = pos_;
      const char c = peek();
      if (c == '}') {
        ++pos_;
        break;
      }
      if (c == '"' || c == '\'') {
        if (!skip_string(false)) return false;
      } else if ((c == 'r' || c == 'R') && (peek(1) == '"' || peek(1) == '\'')) {
        ++pos_;
        if (!skip_string(true)) return false;
      } else if ((c == 'b' || c == 'B') && (peek(1) == '"' || peek(1) == '\'')) {
        ++pos_;
        if (!skip_string(false)) return false;
      } else if ((c == 'b' || c == 'B') && (peek(1) == 'r' || peek(1) == 'R') &&
                 (peek(2) == '"' || peek(2) == '\'')) {
        pos_ += 2;
        if (!skip_string(true)) return false;
      } else if (is_letter(c) || c == '_') {
        while (!at_end() && is_ident_char(peek())) ++pos_;
      } else if (is_digit(c)) {
        while (!at_end() && is_digit(peek())) ++pos_;
      } else if (c == '/' && peek(1) == '/') {
        // CEL_COMMENT goes to the hidden channel: it is not part of the expression text.
        while (!at_end() && peek() != '\n') ++pos_;
        continue;
      } else if ((c == '!' || c == '<' || c == '>') && peek(1) == '=') {
        pos_ += 2;  // != <= >=
      } else if (c == '=' || c == '&' || c == '|') {
        if (peek(1) != c && !(c == '=' && peek(1) == '=')) {
          return fail(pos_, std::string("unexpected '") + c + "' in condition expression" +
                                (c == '=' ? " (use == to compare)" : ""));
        }
        pos_ += 2;
      } else if (is_blank(c) || is_line_break(c) ||
                 std::string_view("#:,<>[]{().-!?+*/%").find(c) != std::string_view::npos) {
        ++pos_;
      } else {
        return fail(pos_, "unexpected character " + found_at(pos_) + " in condition expression");
      }
      text.append(text_, start, pos_ - start);
    }
    *expression = std::string(trim(text));
    return true;
  }

  std::string text_;
  size_t pos_ = 0;
  Model model_;
  Relation* current_ = nullptr;
  bool saw_direct_ = false;
  std::optional<ParseFailure> failure_;
};

// --- writing ----------------------------------------------------------------------------

bool contains_this(const Rewrite& r, int depth = 0) {
  if (r.kind == Rewrite::Kind::This) return true;
  if (depth > kMaxRewriteDepth) return false;
  return std::any_of(r.children.begin(), r.children.end(),
                     [depth](const Rewrite& c) { return contains_this(c, depth + 1); });
}

std::string restriction_text(const RelationReference& ref) {
  std::string out = ref.type;
  if (ref.wildcard) out += ":*";
  if (!ref.relation.empty()) out += "#" + ref.relation;
  if (!ref.condition.empty()) out += " with " + ref.condition;
  return out;
}

void write_rewrite(const Rewrite& r, const std::vector<RelationReference>& refs, bool nested,
                   int depth, std::string* out);

// Union and intersection operands, the one holding `[...]` first: the grammar only accepts
// direct assignment as the first operand (syntax-transformer's JSON-to-DSL does the same).
void write_operands(const Rewrite& r, const std::vector<RelationReference>& refs,
                    std::string_view op, int depth, std::string* out) {
  std::vector<const Rewrite*> order;
  for (const Rewrite& c : r.children) {
    if (contains_this(c)) order.push_back(&c);
  }
  for (const Rewrite& c : r.children) {
    if (!contains_this(c)) order.push_back(&c);
  }
  for (size_t i = 0; i < order.size(); ++i) {
    if (i > 0) *out += op;
    write_rewrite(*order[i], refs, true, depth + 1, out);
  }
}

void write_rewrite(const Rewrite& r, const std::vector<RelationReference>& refs, bool nested,
                   int depth, std::string* out) {
  if (depth > kMaxRewriteDepth) {
    *out += "(...)";  // unreachable for models that parse or load; keeps the stack bounded
    return;
  }
  switch (r.kind) {
    case Rewrite::Kind::This: {
      *out += "[";
      for (size_t i = 0; i < refs.size(); ++i) {
        if (i > 0) *out += ", ";
        *out += restriction_text(refs[i]);
      }
      *out += "]";
      return;
    }
    case Rewrite::Kind::Computed:
      *out += r.relation;
      return;
    case Rewrite::Kind::TupleToUserset:
      *out += r.relation + " from " + r.tupleset;
      return;
    case Rewrite::Kind::Union:
    case Rewrite::Kind::Intersection:
    case Rewrite::Kind::Difference:
      break;
  }
  if (nested) *out += "(";
  if (r.kind == Rewrite::Kind::Difference) {
    static const Rewrite kMissing{};
    write_rewrite(r.children.empty() ? kMissing : r.children[0], refs, true, depth + 1, out);
    *out += " but not ";
    write_rewrite(r.children.size() < 2 ? kMissing : r.children[1], refs, true, depth + 1, out);
  } else {
    write_operands(r, refs, r.kind == Rewrite::Kind::Union ? " or " : " and ", depth, out);
  }
  if (nested) *out += ")";
}

std::string param_type_text(const ParamTypeRef& t) {
  std::string out(detail::param_type_dsl_name(t.type));
  if (!t.generic.empty()) out += "<" + param_type_text(t.generic[0]) + ">";
  return out;
}

}  // namespace

Result<Model, DslError> parse_dsl(std::string_view text) {
  if (text.size() > kMaxDslBytes) {
    return Err(
        DslError{1, 1, "model text is larger than " + std::to_string(kMaxDslBytes) + " bytes"});
  }
  try {
    Parser parser(strip_comments(text));
    return parser.run();
  } catch (const std::exception& e) {  // allocation failure: no exception leaves the parser
    return Err(DslError{1, 1, std::string("cannot parse the model: ") + e.what()});
  }
}

// The layout syntax-transformer's JSON-to-DSL writes: two-space indents, a blank line before
// each type and condition.
std::string to_dsl(const Model& model) {
  std::string out = "model\n  schema " + model.schema_version + "\n";
  for (const TypeDefinition& type : model.types) {
    out += "\ntype " + type.name + "\n";
    if (type.relations.empty()) continue;
    out += "  relations\n";
    for (const Relation& relation : type.relations) {
      out += "    define " + relation.name + ": ";
      write_rewrite(relation.rewrite, relation.directly_related, false, 0, &out);
      out += "\n";
    }
  }
  for (const auto& [name, condition] : model.conditions) {
    out += "\ncondition " + name + "(";
    bool first = true;
    for (const auto& [param, type] : condition.parameters) {
      if (!first) out += ", ";
      first = false;
      out += param + ": " + param_type_text(type);
    }
    out += ") {\n  " + condition.expression + "\n}\n";
  }
  return out;
}

}  // namespace tessera::fga
