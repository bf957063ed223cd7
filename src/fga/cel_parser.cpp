// Lexer and recursive-descent parser for CEL (CEL langdef "Syntax"), with the standard macros
// cel-go enables by default and OpenFGA's environment keeps: has(), all(), exists(),
// exists_one(), map(), filter().
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <optional>

#include "core/hex.h"
#include "fga/cel_ast.h"

namespace tessera::fga::cel::detail {

std::string at(const Expr& e, std::string_view message) {
  return std::to_string(e.line) + ":" + std::to_string(e.col) + ": " + std::string(message);
}

namespace {

enum class Tok { End, Int, Uint, Double, String, Bytes, Ident, Punct };

struct Token {
  Tok kind = Tok::End;
  std::string text;  // Ident name, punctuation, or an Int's digits (sign applied by the parser)
  Value value;       // Uint, Double, String, Bytes
  bool hex = false;  // Int written in hex
  size_t offset = 0;
};

struct SyntaxError {
  size_t offset;
  std::string message;
};

bool is_ident_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_reserved(std::string_view s) {
  static constexpr std::string_view kReserved[] = {
      "as",  "break", "const",   "continue",  "else",   "for", "function", "if",   "import",
      "let", "loop",  "package", "namespace", "return", "var", "void",     "while"};
  for (auto r : kReserved) {
    if (s == r) return true;
  }
  return false;
}

class Lexer {
 public:
  explicit Lexer(std::string_view src) : src_(src) {}

  // Tokenises the whole input; nullopt and error_ on a lexical error.
  std::optional<std::vector<Token>> run() {
    std::vector<Token> out;
    while (true) {
      skip_space();
      Token t;
      t.offset = pos_;
      if (pos_ >= src_.size()) {
        out.push_back(t);
        return out;
      }
      if (!next(t)) return std::nullopt;
      out.push_back(std::move(t));
    }
  }

  SyntaxError error_{0, ""};

 private:
  bool fail(size_t offset, std::string message) {
    error_ = {offset, std::move(message)};
    return false;
  }

  void skip_space() {
    while (pos_ < src_.size()) {
      char c = src_[pos_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f') {
        ++pos_;
      } else if (c == '/' && pos_ + 1 < src_.size() && src_[pos_ + 1] == '/') {
        while (pos_ < src_.size() && src_[pos_] != '\n') ++pos_;
      } else {
        return;
      }
    }
  }

  bool next(Token& t) {
    char c = src_[pos_];
    // String and bytes literals, with optional r/R (raw) and b/B (bytes) prefixes.
    {
      size_t p = pos_;
      bool raw = false;
      bool is_bytes = false;
      for (int i = 0; i < 2 && p < src_.size(); ++i) {
        char d = src_[p];
        if ((d == 'r' || d == 'R') && !raw) {
          raw = true;
          ++p;
        } else if ((d == 'b' || d == 'B') && !is_bytes) {
          is_bytes = true;
          ++p;
        } else {
          break;
        }
      }
      if (p < src_.size() && (src_[p] == '"' || src_[p] == '\'')) {
        pos_ = p;
        return string_literal(t, raw, is_bytes);
      }
    }
    if (is_ident_start(c)) {
      size_t start = pos_;
      while (pos_ < src_.size() && (is_ident_start(src_[pos_]) || is_digit(src_[pos_]))) ++pos_;
      t.kind = Tok::Ident;
      t.text = std::string(src_.substr(start, pos_ - start));
      if (is_reserved(t.text)) return fail(start, "reserved identifier '" + t.text + "'");
      return true;
    }
    if (is_digit(c) || (c == '.' && pos_ + 1 < src_.size() && is_digit(src_[pos_ + 1]))) {
      return number(t);
    }
    static constexpr std::string_view kTwo[] = {"==", "!=", "<=", ">=", "&&", "||"};
    for (auto op : kTwo) {
      if (src_.substr(pos_, 2) == op) {
        t.kind = Tok::Punct;
        t.text = std::string(op);
        pos_ += 2;
        return true;
      }
    }
    static constexpr std::string_view kOne = "<>+-*/%!?:.,()[]{}";
    if (kOne.find(c) != std::string_view::npos) {
      t.kind = Tok::Punct;
      t.text = std::string(1, c);
      ++pos_;
      return true;
    }
    return fail(pos_, "unexpected character '" + std::string(1, c) + "'");
  }

  bool number(Token& t) {
    size_t start = pos_;
    if (src_[pos_] == '0' && pos_ + 1 < src_.size() &&
        (src_[pos_ + 1] == 'x' || src_[pos_ + 1] == 'X')) {
      pos_ += 2;
      size_t digits = pos_;
      while (pos_ < src_.size() && hex_value(src_[pos_]) >= 0) ++pos_;
      if (pos_ == digits) return fail(start, "malformed hex literal");
      t.text = std::string(src_.substr(digits, pos_ - digits));
      t.hex = true;
      return int_suffix(t, start);
    }
    while (pos_ < src_.size() && is_digit(src_[pos_])) ++pos_;
    bool is_double = false;
    if (pos_ + 1 < src_.size() && src_[pos_] == '.' && is_digit(src_[pos_ + 1])) {
      is_double = true;
      ++pos_;
      while (pos_ < src_.size() && is_digit(src_[pos_])) ++pos_;
    }
    if (pos_ < src_.size() && (src_[pos_] == 'e' || src_[pos_] == 'E')) {
      size_t p = pos_ + 1;
      if (p < src_.size() && (src_[p] == '+' || src_[p] == '-')) ++p;
      if (p < src_.size() && is_digit(src_[p])) {
        is_double = true;
        pos_ = p;
        while (pos_ < src_.size() && is_digit(src_[pos_])) ++pos_;
      }
    }
    if (is_double) {
      std::string text(src_.substr(start, pos_ - start));
      char* end = nullptr;
      double v = std::strtod(text.c_str(), &end);
      if (end != text.c_str() + text.size()) return fail(start, "malformed number");
      t.kind = Tok::Double;
      t.value = v;
      return true;
    }
    t.text = std::string(src_.substr(start, pos_ - start));
    return int_suffix(t, start);
  }

  bool int_suffix(Token& t, size_t start) {
    if (pos_ < src_.size() && (src_[pos_] == 'u' || src_[pos_] == 'U')) {
      ++pos_;
      uint64_t v = 0;
      auto r = std::from_chars(t.text.data(), t.text.data() + t.text.size(), v, t.hex ? 16 : 10);
      if (r.ec != std::errc() || r.ptr != t.text.data() + t.text.size()) {
        return fail(start, "uint literal out of range");
      }
      t.kind = Tok::Uint;
      t.value = v;
      return true;
    }
    t.kind = Tok::Int;
    return true;
  }

  bool string_literal(Token& t, bool raw, bool is_bytes) {
    size_t start = pos_;
    char q = src_[pos_];
    bool triple = src_.substr(pos_, 3) == std::string(3, q);
    pos_ += triple ? 3 : 1;
    std::string out;
    while (true) {
      if (pos_ >= src_.size()) return fail(start, "unterminated string literal");
      char c = src_[pos_];
      if (triple ? src_.substr(pos_, 3) == std::string(3, q) : c == q) {
        pos_ += triple ? 3 : 1;
        break;
      }
      if (!triple && (c == '\n' || c == '\r')) return fail(start, "unterminated string literal");
      if (c == '\\' && !raw) {
        if (!escape(out, is_bytes)) return false;
        continue;
      }
      if (c == '\\' && raw && pos_ + 1 < src_.size() && src_[pos_ + 1] == q) {
        // A raw string still cannot contain its unescaped delimiter: `r'\''` is "\'".
        out += src_.substr(pos_, 2);
        pos_ += 2;
        continue;
      }
      out.push_back(c);
      ++pos_;
    }
    t.kind = is_bytes ? Tok::Bytes : Tok::String;
    if (!is_bytes && !valid_utf8(out)) return fail(start, "invalid UTF-8 in string literal");
    t.value = is_bytes ? make_bytes(std::move(out)) : make_string(std::move(out));
    return true;
  }

  // CEL langdef "String and Bytes Values": escapes. \x, \X and octal escapes are code points
  // in strings and octets in bytes; \u and \U are for strings only.
  bool escape(std::string& out, bool is_bytes) {
    size_t start = pos_;
    if (pos_ + 1 >= src_.size()) return fail(start, "invalid escape sequence");
    char c = src_[pos_ + 1];
    pos_ += 2;
    switch (c) {
      case 'a':
        out.push_back('\a');
        return true;
      case 'b':
        out.push_back('\b');
        return true;
      case 'f':
        out.push_back('\f');
        return true;
      case 'n':
        out.push_back('\n');
        return true;
      case 'r':
        out.push_back('\r');
        return true;
      case 't':
        out.push_back('\t');
        return true;
      case 'v':
        out.push_back('\v');
        return true;
      case '\\':
      case '\'':
      case '"':
      case '`':
      case '?':
        out.push_back(c);
        return true;
      default:
        break;
    }
    auto code_point = [&](uint32_t cp) {
      if (is_bytes) {
        out.push_back(static_cast<char>(cp));
      } else {
        append_utf8(out, cp);
      }
      return true;
    };
    if (c == 'x' || c == 'X' || c == 'u' || c == 'U') {
      size_t n = (c == 'u') ? 4 : (c == 'U') ? 8 : 2;
      if ((c == 'u' || c == 'U') && is_bytes) return fail(start, "\\u escape in bytes literal");
      uint32_t cp = 0;
      for (size_t i = 0; i < n; ++i) {
        if (pos_ >= src_.size() || hex_value(src_[pos_]) < 0) {
          return fail(start, "invalid escape sequence");
        }
        cp = cp * 16 + static_cast<uint32_t>(hex_value(src_[pos_]));
        ++pos_;
      }
      if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        return fail(start, "invalid code point in escape sequence");
      }
      return code_point(cp);
    }
    if (c >= '0' && c <= '3') {
      uint32_t cp = static_cast<uint32_t>(c - '0');
      for (int i = 0; i < 2; ++i) {
        if (pos_ >= src_.size() || src_[pos_] < '0' || src_[pos_] > '7') {
          return fail(start, "invalid octal escape sequence");
        }
        cp = cp * 8 + static_cast<uint32_t>(src_[pos_] - '0');
        ++pos_;
      }
      return code_point(cp);
    }
    return fail(start, "invalid escape sequence");
  }

  std::string_view src_;
  size_t pos_ = 0;
};

class Parser {
 public:
  Parser(std::string_view src, std::vector<Token> tokens) : src_(src), toks_(std::move(tokens)) {
    build_position_tables();
  }

  std::unique_ptr<Expr> run() {
    auto e = expr();
    if (e && !peek_end()) return fail(cur().offset, "unexpected '" + describe(cur()) + "'");
    return e;
  }

  SyntaxError error_{0, ""};

 private:
  using Ptr = std::unique_ptr<Expr>;

  const Token& cur() const { return toks_[i_]; }
  bool peek_end() const { return cur().kind == Tok::End; }
  bool is(std::string_view punct) const { return cur().kind == Tok::Punct && cur().text == punct; }
  bool accept(std::string_view punct) {
    if (!is(punct)) return false;
    ++i_;
    return true;
  }
  static std::string describe(const Token& t) {
    switch (t.kind) {
      case Tok::End:
        return "end of input";
      case Tok::Punct:
      case Tok::Ident:
        return t.text;
      default:
        return "literal";
    }
  }
  [[gnu::noinline]] Ptr fail(size_t offset, std::string message) {
    if (error_.message.empty()) error_ = {offset, std::move(message)};
    return nullptr;
  }
  [[gnu::noinline]] bool expect(std::string_view punct) {
    if (accept(punct)) return true;
    fail(cur().offset, "expected '" + std::string(punct) + "', found '" + describe(cur()) + "'");
    return false;
  }

  // Line and column (1-based, in code points) of a byte offset, from tables built once.
  [[gnu::noinline]] void locate(Expr& e, size_t offset) const {
    offset = std::min(offset, src_.size());
    auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
    size_t line_start = *(it - 1);
    e.line = static_cast<uint32_t>(it - line_starts_.begin());
    e.col = static_cast<uint32_t>(code_points_[offset] - code_points_[line_start] + 1);
  }

  void build_position_tables() {
    line_starts_.push_back(0);
    code_points_.reserve(src_.size() + 1);
    uint32_t cps = 0;
    for (size_t i = 0; i < src_.size(); ++i) {
      code_points_.push_back(cps);
      if ((static_cast<unsigned char>(src_[i]) & 0xC0) != 0x80) ++cps;
      if (src_[i] == '\n') line_starts_.push_back(i + 1);
    }
    code_points_.push_back(cps);
  }

  [[gnu::noinline]] Ptr node(Op op, size_t offset, std::vector<Ptr> args = {}) {
    auto e = std::make_unique<Expr>();
    e->op = op;
    locate(*e, offset);
    int depth = 0;
    for (const auto& a : args) depth = std::max(depth, a->depth);
    e->depth = depth + 1;
    e->args = std::move(args);
    if (e->depth > kMaxAstDepth) return too_deep(offset);
    return e;
  }
  Ptr too_deep(size_t offset) {
    return fail(offset,
                "expression nested more than " + std::to_string(kMaxAstDepth) + " levels deep");
  }
  [[gnu::noinline]] Ptr make_binary(Op op, size_t offset, Ptr a, Ptr b) {
    std::vector<Ptr> args;
    args.push_back(std::move(a));
    args.push_back(std::move(b));
    return node(op, offset, std::move(args));
  }

  // Expr = ConditionalOr ["?" ConditionalOr ":" Expr]
  Ptr expr() {
    if (++nesting_ > kMaxNesting) {
      return fail(cur().offset,
                  "expression nested more than " + std::to_string(kMaxNesting) + " levels deep");
    }
    Ptr cond = binary(kPrecOr);
    if (cond && is("?")) {
      size_t at_q = cur().offset;
      ++i_;
      Ptr yes = binary(kPrecOr);
      if (!yes || !expect(":")) return nullptr;
      Ptr no = expr();
      if (!no) return nullptr;
      std::vector<Ptr> args;
      args.push_back(std::move(cond));
      args.push_back(std::move(yes));
      args.push_back(std::move(no));
      cond = node(Op::Conditional, at_q, std::move(args));
    }
    --nesting_;
    return cond;
  }

  // Binary operators by precedence climbing (CEL langdef precedence table): || < && <
  // relations < + - < * / %, all left associative. Chains of || and of && become one n-ary
  // node (cel-go balances them; a flat node keeps the tree as shallow).
  static constexpr int kPrecOr = 1;
  static constexpr int kPrecAnd = 2;
  static constexpr int kPrecRelation = 3;
  static constexpr int kPrecAdd = 4;
  static constexpr int kPrecMul = 5;

  // The binary operator at the cursor and its precedence (0: none).
  std::pair<Op, int> binary_op() const {
    const Token& t = cur();
    if (t.kind == Tok::Ident && t.text == "in") return {Op::In, kPrecRelation};
    if (t.kind != Tok::Punct) return {Op::Literal, 0};
    static const std::pair<std::string_view, std::pair<Op, int>> kOps[] = {
        {"||", {Op::Or, kPrecOr}},       {"&&", {Op::And, kPrecAnd}},
        {"<", {Op::Lt, kPrecRelation}},  {"<=", {Op::Le, kPrecRelation}},
        {">", {Op::Gt, kPrecRelation}},  {">=", {Op::Ge, kPrecRelation}},
        {"==", {Op::Eq, kPrecRelation}}, {"!=", {Op::Ne, kPrecRelation}},
        {"+", {Op::Add, kPrecAdd}},      {"-", {Op::Sub, kPrecAdd}},
        {"*", {Op::Mul, kPrecMul}},      {"/", {Op::Div, kPrecMul}},
        {"%", {Op::Mod, kPrecMul}},
    };
    for (const auto& [text, op] : kOps) {
      if (t.text == text) return op;
    }
    return {Op::Literal, 0};
  }

  Ptr binary(int min_prec) {
    Ptr left = unary();
    while (left) {
      auto [op, prec] = binary_op();
      if (prec == 0 || prec < min_prec) break;
      size_t offset = cur().offset;
      ++i_;
      Ptr right = binary(prec + 1);
      if (!right) return nullptr;
      if ((op == Op::And || op == Op::Or) && left->op == op && left->n_ary_open) {
        left->depth = std::max(left->depth, right->depth + 1);
        left->args.push_back(std::move(right));
        if (left->depth > kMaxAstDepth) return too_deep(offset);
        continue;
      }
      left = make_binary(op, offset, std::move(left), std::move(right));
      if (left && (op == Op::And || op == Op::Or)) left->n_ary_open = true;
    }
    if (left) left->n_ary_open = false;  // parentheses close a chain
    return left;
  }

  // Unary = Member | "!" {"!"} Member | "-" {"-"} Member. As in cel-go, an even run of the
  // same operator cancels out, and a single "-" before a number literal is part of it (so
  // -9223372036854775808 is an int).
  Ptr unary() {
    if (is("!") || is("-")) {
      std::string sym = cur().text;
      size_t offset = cur().offset;
      int count = 0;
      while (is(sym)) {
        ++count;
        ++i_;
      }
      if (sym == "-" && (cur().kind == Tok::Int || cur().kind == Tok::Double)) {
        Ptr lit = number_literal(true);
        if (!lit) return nullptr;
        Ptr m = member_suffix(std::move(lit));
        if (!m) return nullptr;
        --count;
        if (count % 2 == 0) return m;
        std::vector<Ptr> args;
        args.push_back(std::move(m));
        return node(Op::Neg, offset, std::move(args));
      }
      Ptr m = member();
      if (!m) return nullptr;
      if (count % 2 == 0) return m;
      std::vector<Ptr> args;
      args.push_back(std::move(m));
      return node(sym == "!" ? Op::Not : Op::Neg, offset, std::move(args));
    }
    return member();
  }

  [[gnu::noinline]] Ptr number_literal(bool negative) {
    const Token& t = cur();
    auto e = node(Op::Literal, t.offset);
    if (!e) return nullptr;
    if (t.kind == Tok::Double) {
      double v = std::get<double>(t.value);
      e->literal = negative ? -v : v;
    } else {
      uint64_t mag = 0;
      auto r = std::from_chars(t.text.data(), t.text.data() + t.text.size(), mag, t.hex ? 16 : 10);
      constexpr uint64_t kMinMagnitude = uint64_t{1} << 63;
      if (r.ec != std::errc() || mag > (negative ? kMinMagnitude : kMinMagnitude - 1)) {
        return fail(t.offset, "int literal out of range");
      }
      e->literal = negative ? static_cast<int64_t>(0 - mag) : static_cast<int64_t>(mag);
    }
    ++i_;
    return e;
  }

  Ptr member() {
    Ptr e = primary();
    if (!e) return nullptr;
    return member_suffix(std::move(e));
  }

  // Member "." IDENT ["(" args ")"] | Member "[" Expr "]"
  Ptr member_suffix(Ptr e) {
    while (e) {
      if (is(".")) {
        size_t dot = cur().offset;
        ++i_;
        if (cur().kind != Tok::Ident) {
          return fail(cur().offset, "expected a field or method name after '.'");
        }
        std::string name = cur().text;
        ++i_;
        if (is("(")) {
          size_t paren = cur().offset;
          ++i_;
          std::vector<Ptr> args;
          args.push_back(std::move(e));
          if (!arguments(args, ")")) return nullptr;
          e = receiver_call(name, paren, std::move(args));
        } else {
          std::vector<Ptr> args;
          args.push_back(std::move(e));
          e = node(Op::Select, dot, std::move(args));
          if (e) e->name = name;
        }
      } else if (is("[")) {
        size_t bracket = cur().offset;
        ++i_;
        Ptr index = expr();
        if (!index || !expect("]")) return nullptr;
        e = make_binary(Op::Index, bracket, std::move(e), std::move(index));
      } else if (is("{")) {
        return fail(cur().offset, "message construction is not supported");
      } else {
        break;
      }
    }
    return e;
  }

  // Parses "a, b, c" up to `close` (a trailing comma is allowed), appending to `out`.
  bool arguments(std::vector<Ptr>& out, std::string_view close) {
    if (accept(close)) return true;
    while (true) {
      Ptr a = expr();
      if (!a) return false;
      out.push_back(std::move(a));
      if (accept(close)) return true;
      if (!expect(",")) return false;
      if (accept(close)) return true;
    }
  }

  [[gnu::noinline]] Ptr receiver_call(const std::string& name, size_t offset,
                                      std::vector<Ptr> args) {
    // cel-go's standard macros (parser/macro.go): receiver-style comprehensions.
    size_t n = args.size() - 1;  // arguments after the receiver
    Op macro = Op::Literal;
    if (name == "all" && n == 2) macro = Op::All;
    if (name == "exists" && n == 2) macro = Op::Exists;
    if (name == "exists_one" && n == 2) macro = Op::ExistsOne;
    if (name == "map" && (n == 2 || n == 3)) macro = Op::MapMacro;
    if (name == "filter" && n == 2) macro = Op::Filter;
    if (macro != Op::Literal) {
      if (args[1]->op != Op::Ident) {
        return fail(offset, name + "() macro: the first argument must be a simple name");
      }
      std::string var = args[1]->name;
      args.erase(args.begin() + 1);
      Ptr e = node(macro, offset, std::move(args));
      if (e) e->name = var;
      return e;
    }
    Ptr e = node(Op::Call, offset, std::move(args));
    if (e) {
      e->name = name;
      e->receiver = true;
    }
    return e;
  }

  Ptr primary() {
    const Token& t = cur();
    switch (t.kind) {
      case Tok::End:
        return fail(t.offset, "unexpected end of expression");
      case Tok::Int:
      case Tok::Double:
        return number_literal(false);
      case Tok::Uint:
      case Tok::String:
      case Tok::Bytes: {
        auto e = node(Op::Literal, t.offset);
        if (!e) return nullptr;
        e->literal = t.value;
        ++i_;
        return e;
      }
      case Tok::Ident:
        return identifier();
      case Tok::Punct:
        break;
    }
    if (is(".")) {
      // A leading dot names the root scope: `.x` is `x` here (no containers).
      ++i_;
      if (cur().kind != Tok::Ident) return fail(cur().offset, "expected a name after '.'");
      return identifier();
    }
    if (is("(")) {
      ++i_;
      Ptr e = expr();
      if (!e || !expect(")")) return nullptr;
      return e;
    }
    if (is("[")) {
      size_t offset = t.offset;
      ++i_;
      std::vector<Ptr> items;
      if (!arguments(items, "]")) return nullptr;
      return node(Op::List, offset, std::move(items));
    }
    if (is("{")) {
      size_t offset = t.offset;
      ++i_;
      std::vector<Ptr> kv;
      if (!accept("}")) {
        while (true) {
          Ptr k = expr();
          if (!k || !expect(":")) return nullptr;
          Ptr v = expr();
          if (!v) return nullptr;
          kv.push_back(std::move(k));
          kv.push_back(std::move(v));
          if (accept("}")) break;
          if (!expect(",")) return nullptr;
          if (accept("}")) break;
        }
      }
      return node(Op::Map, offset, std::move(kv));
    }
    return fail(t.offset, "unexpected '" + describe(t) + "'");
  }

  Ptr identifier() {
    const Token& t = cur();
    size_t offset = t.offset;
    std::string name = t.text;
    ++i_;
    if (name == "true" || name == "false" || name == "null") {
      auto e = node(Op::Literal, offset);
      if (!e) return nullptr;
      if (name == "null") {
        e->literal = NullValue{};
      } else {
        e->literal = name == "true";
      }
      return e;
    }
    if (name == "in") return fail(offset, "unexpected 'in'");
    if (is("(")) {
      size_t paren = cur().offset;
      ++i_;
      std::vector<Ptr> args;
      if (!arguments(args, ")")) return nullptr;
      if (name == "has" && args.size() == 1) {
        // has(e.f): presence test, not a call (CEL langdef "Macros").
        if (args[0]->op != Op::Select) return fail(paren, "invalid argument to has() macro");
        std::string field = args[0]->name;
        std::vector<Ptr> operand;
        operand.push_back(std::move(args[0]->args[0]));
        Ptr e = node(Op::Has, paren, std::move(operand));
        if (e) e->name = field;
        return e;
      }
      Ptr e = node(Op::Call, paren, std::move(args));
      if (e) e->name = name;
      return e;
    }
    auto e = node(Op::Ident, offset);
    if (e) e->name = name;
    return e;
  }

  std::string_view src_;
  std::vector<Token> toks_;
  size_t i_ = 0;
  int nesting_ = 0;
  std::vector<size_t> line_starts_;
  std::vector<uint32_t> code_points_;  // code points before each byte offset
};

std::string position(std::string_view src, size_t offset) {
  Expr e;
  uint32_t line = 1;
  size_t line_start = 0;
  for (size_t i = 0; i < offset && i < src.size(); ++i) {
    if (src[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  e.line = line;
  e.col = static_cast<uint32_t>(utf8_length(src.substr(line_start, offset - line_start)) + 1);
  return at(e, "");
}

}  // namespace

Result<std::unique_ptr<Expr>, CelError> parse(std::string_view source) {
  if (!valid_utf8(source)) return Err(CelError{"1:1: expression is not valid UTF-8"});
  if (utf8_length(source) > kMaxExpressionCodePoints) {
    return Err(CelError{"1:1: expression longer than " + std::to_string(kMaxExpressionCodePoints) +
                        " characters"});
  }
  Lexer lexer(source);
  auto tokens = lexer.run();
  if (!tokens) {
    return Err(
        CelError{position(source, lexer.error_.offset) + "syntax error: " + lexer.error_.message});
  }
  Parser parser(source, std::move(*tokens));
  auto root = parser.run();
  if (!root) {
    return Err(CelError{position(source, parser.error_.offset) +
                        "syntax error: " + parser.error_.message});
  }
  return root;
}

}  // namespace tessera::fga::cel::detail
