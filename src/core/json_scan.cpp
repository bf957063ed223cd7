// A JSON checker that builds no tree (core/json.h scan_strict): the grammar of RFC 8259 §2-§7
// with the rules nlohmann's strict parser applies on top, so that scan_strict() and
// parse_strict() accept and refuse the same texts with the same errors:
// - a UTF-8 byte order mark is skipped at the very start only (nlohmann's lexer does);
// - a text holding a NUL byte is kSyntax, whatever else is wrong with it (parse_strict checks
//   this first: nlohmann's lexer would take the byte for the end of the input);
// - strings are well-formed UTF-8 (RFC 3629 §4) without control characters; \u escapes pair
//   surrogates (RFC 8259 §7);
// - a number whose text is an integer that fits neither int64 nor uint64 is read as a double, and
//   a number whose double is not finite is an error;
// - duplicate member names (compared unescaped) are kDuplicateMember, nesting past max_depth is
//   kTooDeep, each reported at the point parse_strict's SAX handler would see it, so the first
//   problem in the text decides the error as it does there.
// tests/unit/core/json_scan_test.cpp holds the two to the same answers on a corpus and on
// mutations of it.
#include <locale.h>  // newlocale, strtod_l (POSIX)
#include <stdlib.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "core/hex.h"
#include "core/json.h"
#include "core/utf8.h"

namespace tessera::json {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// strtod in the "C" locale: JSON's decimal point is '.' whatever locale the host program set
// (nlohmann puts the locale's point in before calling strtod; the result is the same). Unlike
// from_chars, it reads an underflowing number as 0 (or the nearest denormal), as nlohmann does.
double c_strtod(const std::string& text) {
  static const locale_t c_locale = newlocale(LC_ALL_MASK, "C", nullptr);
  return strtod_l(text.c_str(), nullptr, c_locale);
}

// Four hex digits at p (p + 4 <= end checked by the caller): the code unit, or -1.
int hex4(const char* p) {
  int v = 0;
  for (int i = 0; i < 4; ++i) {
    const int d = hex_value(p[i]);
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

// Bytes that need no second look inside a string: printable ASCII but '"' and '\\'.
constexpr std::array<bool, 256> kPlain = [] {
  std::array<bool, 256> t{};
  for (int c = 0x20; c < 0x80; ++c) t[c] = c != '"' && c != '\\';
  return t;
}();

// How many continuation bytes follow a lead byte, and the range of the first one (RFC 3629 §4);
// 0 continuation bytes: not a lead byte.
struct Lead {
  int follow;
  unsigned char lo;
  unsigned char hi;
};
Lead lead_of(unsigned char c) {
  if (c >= 0xC2 && c <= 0xDF) return {1, 0x80, 0xBF};
  if (c == 0xE0) return {2, 0xA0, 0xBF};
  if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) return {2, 0x80, 0xBF};
  if (c == 0xED) return {2, 0x80, 0x9F};
  if (c == 0xF0) return {3, 0x90, 0xBF};
  if (c >= 0xF1 && c <= 0xF3) return {3, 0x80, 0xBF};
  if (c == 0xF4) return {3, 0x80, 0x8F};
  return {0, 0, 0};
}

// Walks the string starting at the opening quote at `p`. Returns the position after the closing
// quote, or nullptr when the string is malformed; `escaped` says whether it holds any escape.
// With `out`, the unescaped content is appended to it.
const char* walk_string(const char* p, const char* end, bool* escaped, std::string* out) {
  ++p;  // the opening quote
  *escaped = false;
  while (true) {
    const char* run = p;
    while (p < end && kPlain[static_cast<unsigned char>(*p)]) ++p;
    if (out != nullptr) out->append(run, p);
    if (p >= end) return nullptr;
    const auto c = static_cast<unsigned char>(*p);
    if (c == '"') return p + 1;
    if (c == '\\') {
      *escaped = true;
      if (end - p < 2) return nullptr;
      const char e = p[1];
      p += 2;
      char simple = 0;
      switch (e) {
        case '"':
        case '\\':
        case '/':
          simple = e;
          break;
        case 'b':
          simple = '\b';
          break;
        case 'f':
          simple = '\f';
          break;
        case 'n':
          simple = '\n';
          break;
        case 'r':
          simple = '\r';
          break;
        case 't':
          simple = '\t';
          break;
        case 'u': {
          if (end - p < 4) return nullptr;
          const int unit = hex4(p);
          if (unit < 0) return nullptr;
          p += 4;
          uint32_t cp = static_cast<uint32_t>(unit);
          if (cp >= 0xDC00 && cp <= 0xDFFF) return nullptr;  // a low surrogate alone
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            // RFC 8259 §7: a high surrogate is followed by \u and a low one.
            if (end - p < 6 || p[0] != '\\' || p[1] != 'u') return nullptr;
            const int low = hex4(p + 2);
            if (low < 0xDC00 || low > 0xDFFF) return nullptr;
            p += 6;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (static_cast<uint32_t>(low) - 0xDC00);
          }
          if (out != nullptr) append_utf8(*out, cp);
          continue;
        }
        default:
          return nullptr;
      }
      if (out != nullptr) out->push_back(simple);
      continue;
    }
    // A control character, or a byte of a multi-byte UTF-8 sequence.
    const Lead lead = lead_of(c);
    if (lead.follow == 0 || end - p <= lead.follow) return nullptr;
    const auto first = static_cast<unsigned char>(p[1]);
    if (first < lead.lo || first > lead.hi) return nullptr;
    for (int i = 2; i <= lead.follow; ++i) {
      const auto next = static_cast<unsigned char>(p[i]);
      if (next < 0x80 || next > 0xBF) return nullptr;
    }
    if (out != nullptr) out->append(p, p + 1 + lead.follow);
    p += 1 + lead.follow;
  }
}

// The end of the number at `p`, or nullptr when it is malformed or (as nlohmann reads it) not a
// finite double. RFC 8259 §6.
const char* walk_number(const char* p, const char* end) {
  const char* start = p;
  bool integer = true;
  if (p < end && *p == '-') ++p;
  if (p >= end) return nullptr;
  if (*p == '0') {
    ++p;
  } else if (*p >= '1' && *p <= '9') {
    while (p < end && *p >= '0' && *p <= '9') ++p;
  } else {
    return nullptr;
  }
  if (p < end && *p == '.') {
    integer = false;
    ++p;
    if (p >= end || *p < '0' || *p > '9') return nullptr;
    while (p < end && *p >= '0' && *p <= '9') ++p;
  }
  if (p < end && (*p == 'e' || *p == 'E')) {
    integer = false;
    ++p;
    if (p < end && (*p == '+' || *p == '-')) ++p;
    if (p >= end || *p < '0' || *p > '9') return nullptr;
    while (p < end && *p >= '0' && *p <= '9') ++p;
  }
  if (integer) {
    // int64 for a negative number, uint64 otherwise, as nlohmann; else it becomes a double.
    if (*start == '-') {
      int64_t v = 0;
      if (std::from_chars(start, p, v).ec == std::errc()) return p;
    } else {
      uint64_t v = 0;
      if (std::from_chars(start, p, v).ec == std::errc()) return p;
    }
  }
  const std::string text(start, p);  // strtod wants a terminated string
  return std::isfinite(c_strtod(text)) ? p : nullptr;
}

// The member names of one object, for refusing a duplicate: kept inline while few, in a hash set
// beyond that. Escaped names are stored unescaped.
class Names {
 public:
  // False when `name` was seen before.
  bool add(std::string_view name) {
    if (set_.empty()) {
      for (size_t i = 0; i < count_; ++i) {
        if (inline_[i] == name) return false;
      }
      if (count_ < inline_.size()) {
        inline_[count_++] = name;
        return true;
      }
      set_.insert(inline_.begin(), inline_.end());
    }
    return set_.insert(name).second;
  }
  // Storage for an unescaped name that must outlive the call.
  std::string_view keep(std::string name) {
    // A vector of strings would move short (SSO) strings and dangle their views.
    kept_.push_back(std::make_unique<std::string>(std::move(name)));
    return *kept_.back();
  }

 private:
  std::array<std::string_view, 16> inline_;
  size_t count_ = 0;
  std::unordered_set<std::string_view> set_;
  std::vector<std::unique_ptr<std::string>> kept_;
};

// The scanner recurses once per open container (a few hundred bytes of stack each): deeper limits
// are held to this one, where parse_strict (iterative) would go on.
constexpr int kMaxScanDepth = 1024;

class Scanner {
 public:
  Scanner(std::string_view text, int max_depth)
      : p_(text.data()),
        end_(text.data() + text.size()),
        max_depth_(static_cast<size_t>(std::clamp(max_depth, 0, kMaxScanDepth))) {}

  Result<RawValue, ParseError> root(const MemberVisitor* on_member) {
    // nlohmann's lexer skips a UTF-8 byte order mark at the start (and refuses a broken one).
    if (p_ < end_ && static_cast<unsigned char>(*p_) == 0xEF) {
      if (end_ - p_ < 3 || static_cast<unsigned char>(p_[1]) != 0xBB ||
          static_cast<unsigned char>(p_[2]) != 0xBF) {
        return Err(ParseError::kSyntax);
      }
      p_ += 3;
    }
    RawValue value;
    if (!this->value(0, on_member, &value)) return Err(error_);
    skip_space();
    if (p_ != end_) return Err(ParseError::kSyntax);
    return value;
  }

 private:
  void skip_space() {
    while (p_ < end_ && is_space(*p_)) ++p_;
  }
  bool fail(ParseError e) {
    error_ = e;
    return false;
  }
  bool literal(std::string_view word) {
    if (static_cast<size_t>(end_ - p_) < word.size() || std::string_view(p_, word.size()) != word) {
      return fail(ParseError::kSyntax);
    }
    p_ += word.size();
    return true;
  }

  // A value inside `depth` open containers; with `on_member`, an object's members are reported.
  bool value(size_t depth, const MemberVisitor* on_member, RawValue* out) {
    skip_space();
    if (p_ >= end_) return fail(ParseError::kSyntax);
    const char* start = p_;
    const char c = *p_;
    // StrictDom refuses a value inside more than max_depth open containers when it sees it: a
    // container as soon as it opens, a scalar once the lexer has read it whole (so a malformed
    // scalar down there is a syntax error first).
    const bool too_deep = depth > max_depth_;
    bool ok = false;
    switch (c) {
      case '{':
        if (too_deep) return fail(ParseError::kTooDeep);
        out->kind = Kind::kObject;
        ok = object(depth, on_member);
        break;
      case '[':
        if (too_deep) return fail(ParseError::kTooDeep);
        out->kind = Kind::kArray;
        ok = array(depth);
        break;
      case '"': {
        out->kind = Kind::kString;
        bool escaped = false;
        const char* after = walk_string(p_, end_, &escaped, nullptr);
        if (after == nullptr) return fail(ParseError::kSyntax);
        p_ = after;
        ok = true;
        break;
      }
      case 't':
        out->kind = Kind::kBoolean;
        ok = literal("true");
        break;
      case 'f':
        out->kind = Kind::kBoolean;
        ok = literal("false");
        break;
      case 'n':
        out->kind = Kind::kNull;
        ok = literal("null");
        break;
      default: {
        out->kind = Kind::kNumber;
        const char* after = walk_number(p_, end_);
        if (after == nullptr) return fail(ParseError::kSyntax);
        p_ = after;
        ok = true;
      }
    }
    if (ok && too_deep && out->kind != Kind::kObject && out->kind != Kind::kArray) {
      return fail(ParseError::kTooDeep);
    }
    if (!ok) return false;
    out->text = std::string_view(start, static_cast<size_t>(p_ - start));
    return true;
  }

  bool object(size_t depth, const MemberVisitor* on_member) {
    ++p_;  // '{'
    skip_space();
    if (p_ < end_ && *p_ == '}') {
      ++p_;
      return true;
    }
    Names names;
    std::string unescaped;
    while (true) {
      skip_space();
      if (p_ >= end_ || *p_ != '"') return fail(ParseError::kSyntax);
      bool escaped = false;
      const char* name_start = p_ + 1;
      const char* after = walk_string(p_, end_, &escaped, nullptr);
      if (after == nullptr) return fail(ParseError::kSyntax);
      std::string_view name(name_start, static_cast<size_t>(after - 1 - name_start));
      p_ = after;
      // The object is open around its member names.
      if (depth + 1 > max_depth_) return fail(ParseError::kTooDeep);
      if (escaped) {
        unescaped.clear();
        walk_string(name_start - 1, end_, &escaped, &unescaped);
        name = names.keep(unescaped);
      }
      if (!names.add(name)) return fail(ParseError::kDuplicateMember);
      skip_space();
      if (p_ >= end_ || *p_ != ':') return fail(ParseError::kSyntax);
      ++p_;
      RawValue member;
      if (!value(depth + 1, nullptr, &member)) return false;
      if (on_member != nullptr && *on_member) (*on_member)(name, member);
      skip_space();
      if (p_ < end_ && *p_ == ',') {
        ++p_;
        continue;
      }
      if (p_ < end_ && *p_ == '}') {
        ++p_;
        return true;
      }
      return fail(ParseError::kSyntax);
    }
  }

  bool array(size_t depth) {
    ++p_;  // '['
    skip_space();
    if (p_ < end_ && *p_ == ']') {
      ++p_;
      return true;
    }
    while (true) {
      RawValue element;
      if (!value(depth + 1, nullptr, &element)) return false;
      skip_space();
      if (p_ < end_ && *p_ == ',') {
        ++p_;
        continue;
      }
      if (p_ < end_ && *p_ == ']') {
        ++p_;
        return true;
      }
      return fail(ParseError::kSyntax);
    }
  }

  const char* p_;
  const char* end_;
  size_t max_depth_;
  ParseError error_ = ParseError::kSyntax;
};

// Reading values scan_strict() accepted: one value's extent, without the checks.
class Reader {
 public:
  explicit Reader(std::string_view text) : p_(text.data()), end_(text.data() + text.size()) {}

  void members(const MemberVisitor& visit) {
    std::string unescaped;
    ++p_;  // '{'
    skip_space();
    if (p_ < end_ && *p_ == '}') return;
    while (p_ < end_) {
      skip_space();
      bool escaped = false;
      const char* name_start = p_ + 1;
      const char* after = walk_string(p_, end_, &escaped, nullptr);
      if (after == nullptr) return;
      std::string_view name(name_start, static_cast<size_t>(after - 1 - name_start));
      if (escaped) {
        unescaped.clear();
        walk_string(name_start - 1, end_, &escaped, &unescaped);
        name = unescaped;
      }
      p_ = after;
      skip_space();
      if (p_ >= end_ || *p_ != ':') return;
      ++p_;
      const RawValue v = value();
      if (v.text.empty()) return;
      visit(name, v);
      if (!comma()) return;
    }
  }

  void elements(const std::function<void(RawValue)>& visit) {
    ++p_;  // '['
    skip_space();
    if (p_ < end_ && *p_ == ']') return;
    while (p_ < end_) {
      const RawValue v = value();
      if (v.text.empty()) return;
      visit(v);
      if (!comma()) return;
    }
  }

 private:
  void skip_space() {
    while (p_ < end_ && is_space(*p_)) ++p_;
  }
  // After a member or element: true at a comma (consumed), false at the closing bracket.
  bool comma() {
    skip_space();
    if (p_ < end_ && *p_ == ',') {
      ++p_;
      return true;
    }
    return false;
  }
  // The next value's kind and text; empty text when there is none.
  RawValue value() {
    skip_space();
    RawValue v;
    if (p_ >= end_) return v;
    const char* start = p_;
    switch (*p_) {
      case '"': {
        v.kind = Kind::kString;
        bool escaped = false;
        const char* after = walk_string(p_, end_, &escaped, nullptr);
        if (after == nullptr) return v;
        p_ = after;
        break;
      }
      case '{':
      case '[': {
        v.kind = *p_ == '{' ? Kind::kObject : Kind::kArray;
        // Skip to the matching bracket, stepping over strings.
        int open = 0;
        do {
          if (*p_ == '"') {
            bool escaped = false;
            const char* after = walk_string(p_, end_, &escaped, nullptr);
            if (after == nullptr) return RawValue{};
            p_ = after;
            continue;
          }
          if (*p_ == '{' || *p_ == '[') ++open;
          if (*p_ == '}' || *p_ == ']') --open;
          ++p_;
        } while (open > 0 && p_ < end_);
        break;
      }
      case 't':
      case 'f':
      case 'n':
        v.kind = *p_ == 'n' ? Kind::kNull : Kind::kBoolean;
        while (p_ < end_ && *p_ >= 'a' && *p_ <= 'z') ++p_;
        break;
      default:
        v.kind = Kind::kNumber;
        while (p_ < end_ && !is_space(*p_) && *p_ != ',' && *p_ != '}' && *p_ != ']') ++p_;
    }
    v.text = std::string_view(start, static_cast<size_t>(p_ - start));
    return v;
  }

  const char* p_;
  const char* end_;
};

}  // namespace

Result<RawValue, ParseError> scan_strict(std::string_view text, Limits limits,
                                         const MemberVisitor& on_root_member) {
  if (text.size() > limits.max_bytes) return Err(ParseError::kTooLarge);
  // As parse_strict: a NUL byte anywhere is malformed.
  if (text.find('\0') != std::string_view::npos) return Err(ParseError::kSyntax);
  Scanner scanner(text, limits.max_depth);
  return scanner.root(on_root_member ? &on_root_member : nullptr);
}

void for_each_member(RawValue object, const MemberVisitor& visit) {
  if (object.kind != Kind::kObject || object.text.empty()) return;
  Reader(object.text).members(visit);
}

void for_each_element(RawValue array, const std::function<void(RawValue)>& visit) {
  if (array.kind != Kind::kArray || array.text.empty()) return;
  Reader(array.text).elements(visit);
}

std::string string_value(RawValue string) {
  std::string out;
  if (string.kind != Kind::kString || string.text.empty()) return out;
  bool escaped = false;
  walk_string(string.text.data(), string.text.data() + string.text.size(), &escaped, &out);
  return out;
}

std::optional<int64_t> integer_value(RawValue number) {
  if (number.kind != Kind::kNumber) return std::nullopt;
  int64_t v = 0;
  const char* end = number.text.data() + number.text.size();
  auto [ptr, ec] = std::from_chars(number.text.data(), end, v);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return v;
}

double double_value(RawValue number) {
  if (number.kind != Kind::kNumber) return 0;
  if (auto whole = integer_value(number)) return static_cast<double>(*whole);
  return c_strtod(std::string(number.text));
}

}  // namespace tessera::json
