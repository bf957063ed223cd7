#include "core/structured_fields.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>

#include "core/base64url.h"

namespace tessera::sf {
namespace {

constexpr int64_t kMaxInteger = 999'999'999'999'999;  // §3.3.1: at most 15 digits

bool lcalpha(char c) { return c >= 'a' && c <= 'z'; }
bool alpha(char c) { return lcalpha(c) || (c >= 'A' && c <= 'Z'); }
bool digit(char c) { return c >= '0' && c <= '9'; }
// RFC 9110 §5.6.2 tchar.
bool tchar(char c) {
  static constexpr std::string_view kOthers = "!#$%&'*+-.^_`|~";
  return alpha(c) || digit(c) || kOthers.find(c) != std::string_view::npos;
}
bool base64_char(char c) { return alpha(c) || digit(c) || c == '+' || c == '/' || c == '='; }

// §4.2.7: base64 (RFC 4648 §4), where "parsers SHOULD NOT fail when '=' padding is not
// present" and non-zero pad bits are tolerated; '=' only at the end, at most two.
std::optional<std::string> lenient_base64(std::string_view text) {
  size_t pad = 0;
  while (!text.empty() && text.back() == '=' && pad < 2) {
    text.remove_suffix(1);
    ++pad;
  }
  if (text.find('=') != std::string_view::npos || text.size() % 4 == 1) return std::nullopt;
  auto value = [](char c) -> uint32_t {
    if (c >= 'A' && c <= 'Z') return static_cast<uint32_t>(c - 'A');
    if (c >= 'a' && c <= 'z') return static_cast<uint32_t>(c - 'a' + 26);
    if (c >= '0' && c <= '9') return static_cast<uint32_t>(c - '0' + 52);
    return c == '+' ? 62U : 63U;  // '/': base64_char() allowed nothing else
  };
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t bits = 0;
  int count = 0;
  for (char c : text) {
    bits = (bits << 6) | value(c);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out += static_cast<char>((bits >> count) & 0xFF);
    }
  }
  return out;  // the bits left over (fewer than 8) are padding, whatever they are
}

// §4.2.2, §4.2.3.2: a key given again keeps its first place and takes the later value.
template <class Ordered, class Value>
void put(Ordered& out, std::string key, Value value) {
  auto same = std::find_if(out.begin(), out.end(), [&](const auto& e) { return e.first == key; });
  if (same != out.end()) {
    same->second = std::move(value);
  } else {
    out.emplace_back(std::move(key), std::move(value));
  }
}

// A parser over one field value (§4.2: "input_string"), consuming as it goes.
class Parser {
 public:
  explicit Parser(std::string_view input) : in_(input) {}

  bool done() const { return pos_ >= in_.size(); }
  char peek() const { return done() ? '\0' : in_[pos_]; }
  void skip_sp() {
    while (peek() == ' ') ++pos_;
  }
  void skip_ows() {
    while (peek() == ' ' || peek() == '\t') ++pos_;
  }

  // §4.2.2
  std::optional<Dictionary> dictionary() {
    Dictionary out;
    while (!done()) {
      auto key = this->key();
      if (!key) return std::nullopt;
      Member member;
      if (peek() == '=') {
        ++pos_;
        auto m = item_or_inner_list();
        if (!m) return std::nullopt;
        member = std::move(*m);
      } else {
        auto params = parameters();
        if (!params) return std::nullopt;
        member = Item{true, std::move(*params)};
      }
      put(out, std::move(*key), std::move(member));
      skip_ows();
      if (done()) return out;
      if (peek() != ',') return std::nullopt;
      ++pos_;
      skip_ows();
      if (done()) return std::nullopt;  // a trailing comma
    }
    return out;
  }

 private:
  // §4.2.1.1
  std::optional<Member> item_or_inner_list() {
    if (peek() == '(') {
      auto list = inner_list();
      if (!list) return std::nullopt;
      return Member{std::move(*list)};
    }
    auto i = item();
    if (!i) return std::nullopt;
    return Member{std::move(*i)};
  }

  // §4.2.1.2
  std::optional<InnerList> inner_list() {
    ++pos_;  // '('
    InnerList out;
    while (!done()) {
      skip_sp();
      if (peek() == ')') {
        ++pos_;
        auto params = parameters();
        if (!params) return std::nullopt;
        out.params = std::move(*params);
        return out;
      }
      auto i = item();
      if (!i) return std::nullopt;
      out.items.push_back(std::move(*i));
      if (peek() != ' ' && peek() != ')') return std::nullopt;
    }
    return std::nullopt;  // no closing parenthesis
  }

  // §4.2.3
  std::optional<Item> item() {
    auto value = bare_item();
    if (!value) return std::nullopt;
    auto params = parameters();
    if (!params) return std::nullopt;
    return Item{std::move(*value), std::move(*params)};
  }

  // §4.2.3.1
  std::optional<BareItem> bare_item() {
    const char c = peek();
    if (c == '-' || digit(c)) return number();
    if (c == '"') return string();
    if (c == '*' || alpha(c)) return token();
    if (c == ':') return byte_sequence();
    if (c == '?') return boolean();
    return std::nullopt;
  }

  // §4.2.3.2
  std::optional<Parameters> parameters() {
    Parameters out;
    while (peek() == ';') {
      ++pos_;
      skip_sp();
      auto key = this->key();
      if (!key) return std::nullopt;
      BareItem value = true;
      if (peek() == '=') {
        ++pos_;
        auto v = bare_item();
        if (!v) return std::nullopt;
        value = std::move(*v);
      }
      put(out, std::move(*key), std::move(value));
    }
    return out;
  }

  // §4.2.3.3
  std::optional<std::string> key() {
    if (!lcalpha(peek()) && peek() != '*') return std::nullopt;
    std::string out;
    while (!done()) {
      const char c = peek();
      if (!lcalpha(c) && !digit(c) && c != '_' && c != '-' && c != '.' && c != '*') break;
      out += c;
      ++pos_;
    }
    return out;
  }

  // §4.2.4
  std::optional<BareItem> number() {
    bool negative = false;
    if (peek() == '-') {
      negative = true;
      ++pos_;
    }
    if (!digit(peek())) return std::nullopt;
    std::string digits;
    bool decimal = false;
    while (!done()) {
      const char c = peek();
      if (digit(c)) {
        digits += c;
      } else if (c == '.' && !decimal) {
        if (digits.size() > 12) return std::nullopt;
        digits += c;
        decimal = true;
      } else {
        break;
      }
      ++pos_;
      if (!decimal && digits.size() > 15) return std::nullopt;
      if (decimal && digits.size() > 16) return std::nullopt;
    }
    // std::from_chars: the C locale's digits whatever the process's locale.
    if (!decimal) {
      int64_t v = 0;
      std::from_chars(digits.data(), digits.data() + digits.size(), v);  // at most 15 digits
      return BareItem{negative ? -v : v};
    }
    const size_t fraction = digits.size() - digits.find('.') - 1;
    if (fraction == 0 || fraction > 3) return std::nullopt;
    double v = 0;
    std::from_chars(digits.data(), digits.data() + digits.size(), v);
    return BareItem{Decimal{negative ? -v : v}};
  }

  // §4.2.5
  std::optional<BareItem> string() {
    ++pos_;  // '"'
    std::string out;
    while (!done()) {
      const char c = in_[pos_++];
      if (c == '\\') {
        if (done()) return std::nullopt;
        const char next = in_[pos_++];
        if (next != '"' && next != '\\') return std::nullopt;
        out += next;
      } else if (c == '"') {
        return BareItem{std::move(out)};
      } else if (c < 0x20 || c > 0x7E) {
        return std::nullopt;
      } else {
        out += c;
      }
    }
    return std::nullopt;
  }

  // §4.2.6
  std::optional<BareItem> token() {
    std::string out;
    while (!done() && (tchar(peek()) || peek() == ':' || peek() == '/')) out += in_[pos_++];
    return BareItem{Token{std::move(out)}};
  }

  // §4.2.7
  std::optional<BareItem> byte_sequence() {
    ++pos_;  // ':'
    const size_t end = in_.find(':', pos_);
    if (end == std::string_view::npos) return std::nullopt;
    const std::string_view text = in_.substr(pos_, end - pos_);
    pos_ = end + 1;
    for (char c : text) {
      if (!base64_char(c)) return std::nullopt;
    }
    auto bytes = lenient_base64(text);
    if (!bytes) return std::nullopt;
    return BareItem{ByteSequence{std::move(*bytes)}};
  }

  // §4.2.8
  std::optional<BareItem> boolean() {
    ++pos_;  // '?'
    const char c = peek();
    if (c != '0' && c != '1') return std::nullopt;
    ++pos_;
    return BareItem{c == '1'};
  }

  std::string_view in_;
  size_t pos_ = 0;
};

std::optional<std::string> serialize_key(std::string_view key) {
  if (key.empty() || (!lcalpha(key.front()) && key.front() != '*')) return std::nullopt;
  for (char c : key) {
    if (!lcalpha(c) && !digit(c) && c != '_' && c != '-' && c != '.' && c != '*') {
      return std::nullopt;
    }
  }
  return std::string(key);
}

}  // namespace

std::optional<Dictionary> parse_dictionary(std::string_view input) {
  // §4.2 steps 2 and 5: leading and trailing SP are discarded; anything left over is an error
  // (the dictionary loop consumes the whole input or fails).
  while (!input.empty() && input.front() == ' ') input.remove_prefix(1);
  while (!input.empty() && input.back() == ' ') input.remove_suffix(1);
  return Parser(input).dictionary();
}

std::optional<std::string> serialize(const BareItem& item) {
  // §4.1.3.1
  if (const auto* i = std::get_if<int64_t>(&item)) {
    if (*i > kMaxInteger || *i < -kMaxInteger) return std::nullopt;
    return std::to_string(*i);
  }
  if (const auto* d = std::get_if<Decimal>(&item)) {
    // §4.1.5: rounded to three fractional digits, at most 12 integer digits, no trailing zeros
    // beyond the first fractional digit.
    double rounded = std::nearbyint(d->value * 1000) / 1000;
    if (rounded == 0) rounded = 0;  // -0.0 is 0.0
    if (std::fabs(rounded) >= 1e12) return std::nullopt;
    char buf[32];
    const auto written =
        std::to_chars(buf, buf + sizeof(buf), rounded, std::chars_format::fixed, 3);
    std::string out(buf, written.ptr);
    while (out.back() == '0' && out[out.size() - 2] != '.') out.pop_back();
    return out;
  }
  if (const auto* s = std::get_if<std::string>(&item)) {
    std::string out = "\"";
    for (char c : *s) {
      if (c < 0x20 || c > 0x7E) return std::nullopt;
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
    return out;
  }
  if (const auto* t = std::get_if<Token>(&item)) {
    if (t->value.empty() || (!alpha(t->value.front()) && t->value.front() != '*')) {
      return std::nullopt;
    }
    for (char c : t->value) {
      if (!tchar(c) && c != ':' && c != '/') return std::nullopt;
    }
    return t->value;
  }
  if (const auto* b = std::get_if<ByteSequence>(&item)) return ":" + base64::encode(b->bytes) + ":";
  return std::string(std::get<bool>(item) ? "?1" : "?0");
}

std::optional<std::string> serialize(const Parameters& params) {
  // §4.1.1.2: a true Boolean value is the key alone.
  std::string out;
  for (const auto& [key, value] : params) {
    auto k = serialize_key(key);
    if (!k) return std::nullopt;
    out += ';';
    out += *k;
    if (const bool* b = std::get_if<bool>(&value); b != nullptr && *b) continue;
    auto v = serialize(value);
    if (!v) return std::nullopt;
    out += '=';
    out += *v;
  }
  return out;
}

std::optional<std::string> serialize(const InnerList& list) {
  // §4.1.1.1
  std::string out = "(";
  for (size_t i = 0; i < list.items.size(); ++i) {
    if (i > 0) out += ' ';
    auto value = serialize(list.items[i].value);
    auto params = serialize(list.items[i].params);
    if (!value || !params) return std::nullopt;
    out += *value;
    out += *params;
  }
  out += ')';
  auto params = serialize(list.params);
  if (!params) return std::nullopt;
  return out + *params;
}

const BareItem* find(const Parameters& params, std::string_view key) {
  for (const auto& [k, v] : params) {
    if (k == key) return &v;
  }
  return nullptr;
}

const Member* find(const Dictionary& dictionary, std::string_view key) {
  for (const auto& [k, v] : dictionary) {
    if (k == key) return &v;
  }
  return nullptr;
}

}  // namespace tessera::sf
