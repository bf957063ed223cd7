// CEL runtime values: equality, ordering, and the Go parsing rules (durations, RFC 3339,
// netip) that cel-go and OpenFGA's condition types apply. See cel_value.h.
#include "fga/cel_value.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <mutex>

#include "core/hex.h"

namespace tessera::fga::cel::detail {

// ---- Construction and access ---------------------------------------------------------------

Value make_string(std::string s) { return Str{std::make_shared<const std::string>(std::move(s))}; }
Value make_bytes(std::string b) { return Bytes{std::make_shared<const std::string>(std::move(b))}; }
Value make_error(std::string message) {
  return Error{std::make_shared<const std::string>(std::move(message))};
}
const std::string& str(const Value& v) { return *std::get<Str>(v).s; }
const std::string& bytes(const Value& v) { return *std::get<Bytes>(v).b; }
const std::vector<Value>& list_items(const Value& v) {
  return std::get<std::shared_ptr<const ListValue>>(v)->items;
}
const MapValue& map_of(const Value& v) { return *std::get<std::shared_ptr<const MapValue>>(v); }

namespace {

// Maps with at least this many entries get a hash index; smaller ones are scanned.
constexpr size_t kMapIndexThreshold = 8;

bool is_number(Kind k) { return k == Kind::Int || k == Kind::Uint || k == Kind::Double; }

// Exact comparison of two numbers of any numeric kind (no precision loss between int64,
// uint64 and double). Returns Unordered when a NaN is involved.
Order compare_numbers(const Value& a, const Value& b) {
  auto three_way = [](auto x, auto y) {
    if (x < y) return Order::Less;
    if (y < x) return Order::Greater;
    return Order::Equal;
  };
  Kind ka = kind_of(a);
  Kind kb = kind_of(b);
  if (ka == Kind::Int && kb == Kind::Int) {
    return three_way(std::get<int64_t>(a), std::get<int64_t>(b));
  }
  if (ka == Kind::Uint && kb == Kind::Uint) {
    return three_way(std::get<uint64_t>(a), std::get<uint64_t>(b));
  }
  if (ka == Kind::Int && kb == Kind::Uint) {
    int64_t x = std::get<int64_t>(a);
    if (x < 0) return Order::Less;
    return three_way(static_cast<uint64_t>(x), std::get<uint64_t>(b));
  }
  if (ka == Kind::Uint && kb == Kind::Int) {
    int64_t y = std::get<int64_t>(b);
    if (y < 0) return Order::Greater;
    return three_way(std::get<uint64_t>(a), static_cast<uint64_t>(y));
  }
  // At least one double.
  auto as_double_cmp = [&](double d, const Value& other, bool d_first) -> Order {
    if (std::isnan(d)) return Order::Unordered;
    Order o = Order::Equal;
    if (kind_of(other) == Kind::Double) {
      double e = std::get<double>(other);
      if (std::isnan(e)) return Order::Unordered;
      o = three_way(d, e);
    } else if (kind_of(other) == Kind::Int) {
      int64_t i = std::get<int64_t>(other);
      // Doubles outside [-2^63, 2^63) compare by sign; inside, compare the integral part
      // exactly and then the fraction.
      if (d < -9223372036854775808.0) {
        o = Order::Less;
      } else if (d >= 9223372036854775808.0) {
        o = Order::Greater;
      } else {
        double t = std::trunc(d);
        auto ti = static_cast<int64_t>(t);
        o = three_way(ti, i);
        if (o == Order::Equal) o = three_way(d, t);
      }
    } else {
      uint64_t u = std::get<uint64_t>(other);
      if (d < 0) {
        o = Order::Less;
      } else if (d >= 18446744073709551616.0) {
        o = Order::Greater;
      } else {
        double t = std::trunc(d);
        auto tu = static_cast<uint64_t>(t);
        o = three_way(tu, u);
        if (o == Order::Equal) o = three_way(d, t);
      }
    }
    if (d_first) return o;
    if (o == Order::Less) return Order::Greater;
    if (o == Order::Greater) return Order::Less;
    return o;
  };
  if (ka == Kind::Double) return as_double_cmp(std::get<double>(a), b, true);
  return as_double_cmp(std::get<double>(b), a, false);
}

}  // namespace

bool is_valid_map_key(const Value& v) {
  Kind k = kind_of(v);
  return k == Kind::Int || k == Kind::Uint || k == Kind::Bool || k == Kind::String;
}

std::optional<std::string> key_identity(const Value& key) {
  switch (kind_of(key)) {
    case Kind::String:
      return "s" + str(key);
    case Kind::Bool:
      return std::get<bool>(key) ? "b1" : "b0";
    case Kind::Int:
      return "n" + std::to_string(std::get<int64_t>(key));
    case Kind::Uint:
      return "n" + std::to_string(std::get<uint64_t>(key));
    case Kind::Double: {
      double d = std::get<double>(key);
      if (std::trunc(d) != d) return std::nullopt;  // also NaN and infinities
      if (d >= -9223372036854775808.0 && d < 9223372036854775808.0) {
        return "n" + std::to_string(static_cast<int64_t>(d));
      }
      if (d >= 0 && d < 18446744073709551616.0) {
        return "n" + std::to_string(static_cast<uint64_t>(d));
      }
      return std::nullopt;
    }
    default:
      return std::nullopt;
  }
}

void MapValue::build_index() {
  index.clear();
  if (entries.size() < kMapIndexThreshold) return;
  index.reserve(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    auto id = key_identity(entries[i].first);
    if (id) index.emplace(std::move(*id), i);
  }
}

const Value* MapValue::find(const Value& key) const {
  if (!index.empty()) {
    auto id = key_identity(key);
    if (!id) return nullptr;
    auto it = index.find(*id);
    return it == index.end() ? nullptr : &entries[it->second].second;
  }
  for (const auto& [k, v] : entries) {
    if (values_equal(k, key)) return &v;
  }
  return nullptr;
}

std::string type_name(const Value& v) {
  switch (kind_of(v)) {
    case Kind::Null:
      return "null_type";
    case Kind::Bool:
      return "bool";
    case Kind::Int:
      return "int";
    case Kind::Uint:
      return "uint";
    case Kind::Double:
      return "double";
    case Kind::String:
      return "string";
    case Kind::Bytes:
      return "bytes";
    case Kind::Duration:
      return "google.protobuf.Duration";
    case Kind::Timestamp:
      return "google.protobuf.Timestamp";
    case Kind::IpAddress:
      return "IPAddress";
    case Kind::List:
      return "list";
    case Kind::Map:
      return "map";
    case Kind::Error:
      return "error";
    case Kind::Unknown:
      return "unknown";
  }
  return "unknown";
}

bool values_equal(const Value& a, const Value& b) {
  Kind ka = kind_of(a);
  Kind kb = kind_of(b);
  if (is_number(ka) && is_number(kb)) return compare_numbers(a, b) == Order::Equal;
  if (ka != kb) return false;
  switch (ka) {
    case Kind::Null:
      return true;
    case Kind::Bool:
      return std::get<bool>(a) == std::get<bool>(b);
    case Kind::String:
      return str(a) == str(b);
    case Kind::Bytes:
      return bytes(a) == bytes(b);
    case Kind::Duration:
      return std::get<Duration>(a).ns == std::get<Duration>(b).ns;
    case Kind::Timestamp: {
      const auto& x = std::get<Timestamp>(a);
      const auto& y = std::get<Timestamp>(b);
      return x.sec == y.sec && x.nanos == y.nanos;
    }
    case Kind::IpAddress:
      return ip_equal(*std::get<std::shared_ptr<const IpAddress>>(a),
                      *std::get<std::shared_ptr<const IpAddress>>(b));
    case Kind::List: {
      const auto& x = list_items(a);
      const auto& y = list_items(b);
      if (x.size() != y.size()) return false;
      for (size_t i = 0; i < x.size(); ++i) {
        if (!values_equal(x[i], y[i])) return false;
      }
      return true;
    }
    case Kind::Map: {
      const auto& x = map_of(a);
      const auto& y = map_of(b);
      if (x.entries.size() != y.entries.size()) return false;
      for (const auto& [k, v] : x.entries) {
        const Value* other = y.find(k);
        if (other == nullptr || !values_equal(v, *other)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

Order compare(const Value& a, const Value& b) {
  Kind ka = kind_of(a);
  Kind kb = kind_of(b);
  if (is_number(ka) && is_number(kb)) return compare_numbers(a, b);
  if (ka != kb) return Order::NoOverload;
  auto three_way = [](const auto& x, const auto& y) {
    if (x < y) return Order::Less;
    if (y < x) return Order::Greater;
    return Order::Equal;
  };
  switch (ka) {
    case Kind::Bool:
      return three_way(std::get<bool>(a), std::get<bool>(b));
    // Byte-wise comparison of valid UTF-8 orders by code point (CEL langdef "Strings").
    case Kind::String:
      return three_way(str(a), str(b));
    case Kind::Bytes:
      return three_way(bytes(a), bytes(b));
    case Kind::Duration:
      return three_way(std::get<Duration>(a).ns, std::get<Duration>(b).ns);
    case Kind::Timestamp: {
      const auto& x = std::get<Timestamp>(a);
      const auto& y = std::get<Timestamp>(b);
      return three_way(std::pair(x.sec, x.nanos), std::pair(y.sec, y.nanos));
    }
    default:
      return Order::NoOverload;
  }
}

// ---- Strings -------------------------------------------------------------------------------

bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t n = 0;
    uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    for (size_t j = 1; j <= n; ++j) {
      if (i + j >= s.size()) return false;
      auto d = static_cast<unsigned char>(s[i + j]);
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    // Overlong forms, surrogates and values above U+10FFFF are invalid.
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

size_t utf8_length(std::string_view s) {
  size_t n = 0;
  for (char c : s) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  }
  return n;
}

std::string format_double(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  // Shortest round-trip digits, then Go's %g layout: %e when the decimal exponent is < -4 or
  // >= 6 (strconv's precision for shortest %g), %f otherwise; exponents have two digits.
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  std::string out;
  size_t pos = 0;
  if (sci[0] == '-') {
    out.push_back('-');
    pos = 1;
  }
  size_t e = sci.find('e');
  std::string digits;
  for (size_t i = pos; i < e; ++i) {
    if (sci[i] != '.') digits.push_back(sci[i]);
  }
  int exp = std::stoi(sci.substr(e + 1));
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  if (digits == "0") exp = 0;
  if (exp < -4 || exp >= 6) {
    out.push_back(digits[0]);
    if (digits.size() > 1) {
      out.push_back('.');
      out.append(digits, 1, std::string::npos);
    }
    out.push_back('e');
    out.push_back(exp < 0 ? '-' : '+');
    int a = exp < 0 ? -exp : exp;
    if (a < 10) out.push_back('0');
    out += std::to_string(a);
    return out;
  }
  if (exp < 0) {
    out += "0.";
    out.append(static_cast<size_t>(-exp - 1), '0');
    out += digits;
    return out;
  }
  auto int_digits = static_cast<size_t>(exp) + 1;
  if (digits.size() <= int_digits) {
    out += digits;
    out.append(int_digits - digits.size(), '0');
  } else {
    out.append(digits, 0, int_digits);
    out.push_back('.');
    out.append(digits, int_digits, std::string::npos);
  }
  return out;
}

// ---- Durations -----------------------------------------------------------------------------

std::optional<int64_t> parse_go_duration(std::string_view s) {
  // Go time.ParseDuration: [-+]?([0-9]*(\.[0-9]*)?[a-z]+)+, units ns us µs μs ms s m h.
  constexpr uint64_t kLimit = uint64_t{1} << 63;
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return 0;
  if (s.empty()) return std::nullopt;
  uint64_t total = 0;
  while (!s.empty()) {
    if (!(s[0] == '.' || (s[0] >= '0' && s[0] <= '9'))) return std::nullopt;
    uint64_t v = 0;
    size_t i = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      if (v > (kLimit - 1) / 10) return std::nullopt;  // Go: "invalid duration" on overflow
      v = v * 10 + static_cast<uint64_t>(s[i] - '0');
      if (v > kLimit) return std::nullopt;
      ++i;
    }
    bool pre = i > 0;
    s.remove_prefix(i);
    uint64_t f = 0;
    double scale = 1;
    bool post = false;
    if (!s.empty() && s[0] == '.') {
      s.remove_prefix(1);
      size_t j = 0;
      bool overflow = false;
      while (j < s.size() && s[j] >= '0' && s[j] <= '9') {
        if (!overflow) {
          if (f > (kLimit - 1) / 10) {
            overflow = true;  // Go drops the digits it cannot hold
          } else {
            uint64_t y = f * 10 + static_cast<uint64_t>(s[j] - '0');
            if (y > kLimit) {
              overflow = true;
            } else {
              f = y;
              scale *= 10;
            }
          }
        }
        ++j;
      }
      post = j > 0;
      s.remove_prefix(j);
    }
    if (!pre && !post) return std::nullopt;
    size_t u = 0;
    while (u < s.size() && s[u] != '.' && !(s[u] >= '0' && s[u] <= '9')) ++u;
    if (u == 0) return std::nullopt;
    std::string_view name = s.substr(0, u);
    s.remove_prefix(u);
    uint64_t unit = 0;
    if (name == "ns") {
      unit = 1;
    } else if (name == "us" || name == "\xC2\xB5s" || name == "\xCE\xBCs") {
      unit = 1000;
    } else if (name == "ms") {
      unit = 1000000;
    } else if (name == "s") {
      unit = 1000000000;
    } else if (name == "m") {
      unit = 60ULL * 1000000000;
    } else if (name == "h") {
      unit = 3600ULL * 1000000000;
    } else {
      return std::nullopt;
    }
    if (v > kLimit / unit) return std::nullopt;
    v *= unit;
    if (f > 0) {
      v += static_cast<uint64_t>(static_cast<double>(f) * (static_cast<double>(unit) / scale));
      if (v > kLimit) return std::nullopt;
    }
    total += v;
    if (total > kLimit) return std::nullopt;
  }
  if (neg) return static_cast<int64_t>(0 - total);
  if (total > kLimit - 1) return std::nullopt;
  return static_cast<int64_t>(total);
}

std::string format_duration(int64_t ns) {
  // cel-go: strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + "s". Computed exactly here
  // (seconds and a trimmed nanosecond fraction), which is what that float prints for every
  // duration below 2^53 ns.
  std::string out;
  uint64_t mag = ns < 0 ? 0 - static_cast<uint64_t>(ns) : static_cast<uint64_t>(ns);
  if (ns < 0) out.push_back('-');
  out += std::to_string(mag / 1000000000);
  uint64_t frac = mag % 1000000000;
  if (frac != 0) {
    std::string f = std::to_string(frac);
    f.insert(0, 9 - f.size(), '0');
    while (f.back() == '0') f.pop_back();
    out += "." + f;
  }
  out += "s";
  return out;
}

// ---- Calendar ------------------------------------------------------------------------------

namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (the well-known era/day-of-era method).
int64_t days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2 ? 1 : 0;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void civil_from_days(int64_t z, int64_t& y, int& m, int& d) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = yoe + era * 400;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  if (m <= 2) ++y;
}

bool is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int days_in_month(int64_t y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

bool digits_at(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  return true;
}

}  // namespace

CivilTime civil_from_unix(int64_t seconds) {
  int64_t days = floor_div(seconds, 86400);
  int64_t rem = seconds - days * 86400;
  CivilTime c{};
  civil_from_days(days, c.year, c.month, c.day);
  c.hour = static_cast<int>(rem / 3600);
  c.minute = static_cast<int>((rem % 3600) / 60);
  c.second = static_cast<int>(rem % 60);
  c.day_of_week = static_cast<int>(((days % 7) + 11) % 7);  // 1970-01-01 was a Thursday (4)
  c.day_of_year = static_cast<int>(days - days_from_civil(c.year, 1, 1));
  return c;
}

bool timestamp_in_range(const Timestamp& t) {
  return t.sec >= kMinTimestampSeconds && t.sec <= kMaxTimestampSeconds && t.nanos >= 0 &&
         t.nanos < 1000000000;
}

std::optional<Timestamp> parse_rfc3339(std::string_view s) {
  // Go's layout "2006-01-02T15:04:05Z07:00": four-digit year, two-digit fields (Go accepts a
  // one-digit hour), optional fraction after the seconds, then "Z" or "+hh:mm"/"-hh:mm".
  int year = 0;
  int month = 0;
  int day = 0;
  int hour = 0;
  int minute = 0;
  int second = 0;
  if (!digits_at(s, 0, 4, year) || s.size() < 5 || s[4] != '-') return std::nullopt;
  if (!digits_at(s, 5, 2, month) || s.size() < 8 || s[7] != '-') return std::nullopt;
  if (!digits_at(s, 8, 2, day) || s.size() < 11 || s[10] != 'T') return std::nullopt;
  size_t pos = 11;
  if (digits_at(s, pos, 2, hour)) {
    pos += 2;
  } else if (digits_at(s, pos, 1, hour)) {
    pos += 1;
  } else {
    return std::nullopt;
  }
  if (pos >= s.size() || s[pos] != ':' || !digits_at(s, pos + 1, 2, minute)) return std::nullopt;
  pos += 3;
  if (pos >= s.size() || s[pos] != ':' || !digits_at(s, pos + 1, 2, second)) return std::nullopt;
  pos += 3;
  int32_t nanos = 0;
  if (pos + 1 < s.size() && (s[pos] == '.' || s[pos] == ',') && s[pos + 1] >= '0' &&
      s[pos + 1] <= '9') {
    ++pos;
    int digits = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (digits < 9) {
        nanos = nanos * 10 + (s[pos] - '0');
        ++digits;
      }
      ++pos;
    }
    for (; digits < 9; ++digits) nanos *= 10;
  }
  int64_t offset = 0;
  if (pos < s.size() && s[pos] == 'Z') {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh = 0;
    int om = 0;
    if (!digits_at(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !digits_at(s, pos + 4, 2, om) || oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset = (int64_t{oh} * 3600 + int64_t{om} * 60) * (s[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) || hour > 23 ||
      minute > 59 || second > 59) {
    return std::nullopt;
  }
  int64_t secs = days_from_civil(year, month, day) * 86400 + int64_t{hour} * 3600 +
                 int64_t{minute} * 60 + second - offset;
  return Timestamp{secs, nanos};
}

std::string format_rfc3339(const Timestamp& t) {
  CivilTime c = civil_from_unix(t.sec);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04lld-%02d-%02dT%02d:%02d:%02d", static_cast<long long>(c.year),
                c.month, c.day, c.hour, c.minute, c.second);
  std::string out(buf);
  if (t.nanos != 0) {
    std::string f = std::to_string(t.nanos);
    f.insert(0, 9 - f.size(), '0');
    while (f.back() == '0') f.pop_back();
    out += "." + f;
  }
  out += "Z";
  return out;
}

// ---- Time zones ----------------------------------------------------------------------------

namespace {

// A zone read from the system's TZif database (RFC 8536, version 2+ 64-bit data).
struct Zone {
  std::vector<int64_t> transitions;  // ascending Unix seconds
  std::vector<uint8_t> types;        // type index per transition
  std::vector<int32_t> offsets;      // UT offset per type
};

constexpr const char* kZoneInfoDir = "/usr/share/zoneinfo/";
constexpr size_t kMaxZoneName = 64;
constexpr size_t kMaxCachedZones = 64;  // bound on the process-wide zone cache
constexpr size_t kMaxZoneFileBytes = 1 << 20;

bool valid_zone_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxZoneName || name.front() == '/') return false;
  for (char c : name) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '+' || c == '/';
    if (!ok) return false;
  }
  // No "." or ".." path components (the character set already excludes '.').
  return name.find("//") == std::string_view::npos;
}

uint32_t be32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}
int64_t be64(const unsigned char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return static_cast<int64_t>(v);
}

std::shared_ptr<const Zone> load_zone(const std::string& name) {
  std::ifstream in(std::string(kZoneInfoDir) + name, std::ios::binary);
  if (!in) return nullptr;
  std::string data;
  data.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (data.size() > kMaxZoneFileBytes || data.size() < 44) return nullptr;
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  if (std::memcmp(p, "TZif", 4) != 0) return nullptr;
  auto counts = [&](size_t at, uint32_t c[6]) {
    for (size_t i = 0; i < 6; ++i) c[i] = be32(p + at + 20 + 4 * i);
  };
  uint32_t c[6];
  counts(0, c);
  // c: isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt
  size_t v1 = 44 + size_t{c[3]} * 5 + size_t{c[4]} * 6 + c[5] + size_t{c[2]} * 8 + c[1] + c[0];
  bool v2 = p[4] >= '2';
  size_t base = 0;
  size_t tsize = 4;
  if (v2) {
    if (data.size() < v1 + 44 || std::memcmp(p + v1, "TZif", 4) != 0) return nullptr;
    base = v1;
    counts(base, c);
    tsize = 8;
  }
  size_t at = base + 44;
  size_t need = at + size_t{c[3]} * (tsize + 1) + size_t{c[4]} * 6;
  if (data.size() < need || c[4] == 0) return nullptr;
  auto zone = std::make_shared<Zone>();
  for (uint32_t i = 0; i < c[3]; ++i) {
    const unsigned char* q = p + at + i * tsize;
    zone->transitions.push_back(tsize == 8 ? be64(q) : static_cast<int32_t>(be32(q)));
  }
  at += size_t{c[3]} * tsize;
  for (uint32_t i = 0; i < c[3]; ++i) {
    uint8_t t = p[at + i];
    if (t >= c[4]) return nullptr;
    zone->types.push_back(t);
  }
  at += c[3];
  for (uint32_t i = 0; i < c[4]; ++i) {
    zone->offsets.push_back(static_cast<int32_t>(be32(p + at + size_t{i} * 6)));
  }
  return zone;
}

std::shared_ptr<const Zone> zone_for(std::string_view name) {
  static std::mutex mu;
  static std::map<std::string, std::shared_ptr<const Zone>, std::less<>> cache;
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = cache.find(name);
    if (it != cache.end()) return it->second;
  }
  auto zone = load_zone(std::string(name));
  if (zone != nullptr) {
    std::lock_guard<std::mutex> lock(mu);
    if (cache.size() < kMaxCachedZones) cache.emplace(std::string(name), zone);
  }
  return zone;
}

}  // namespace

std::optional<int64_t> zone_offset(std::string_view zone, int64_t unix_seconds) {
  if (zone == "UTC" || zone == "Z") return 0;
  // cel-go: a zone containing ':' is a fixed offset "[+-]hh:mm".
  if (zone.find(':') != std::string_view::npos) {
    int h = 0;
    int m = 0;
    if (zone.size() != 6 || (zone[0] != '+' && zone[0] != '-') || !digits_at(zone, 1, 2, h) ||
        zone[3] != ':' || !digits_at(zone, 4, 2, m) || m > 59) {
      return std::nullopt;
    }
    return (int64_t{h} * 3600 + int64_t{m} * 60) * (zone[0] == '-' ? -1 : 1);
  }
  if (!valid_zone_name(zone)) return std::nullopt;
  auto z = zone_for(zone);
  if (z == nullptr) return std::nullopt;
  // RFC 8536 §3.2: before the first transition, local time type 0 applies. After the last
  // one the file's footer rule would apply; the system database is built "fat" (transitions
  // listed through 2037), and later instants keep the last listed offset.
  auto it = std::upper_bound(z->transitions.begin(), z->transitions.end(), unix_seconds);
  if (it == z->transitions.begin()) return z->offsets[0];
  size_t idx = static_cast<size_t>(it - z->transitions.begin()) - 1;
  return z->offsets[z->types[idx]];
}

// ---- IP addresses --------------------------------------------------------------------------

namespace {

std::optional<std::array<uint8_t, 4>> parse_ipv4(std::string_view s) {
  // netip: four decimal fields 0..255, no leading zeros, no empty fields.
  std::array<uint8_t, 4> out{};
  int field = 0;
  size_t i = 0;
  while (true) {
    size_t start = i;
    int v = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      v = v * 10 + (s[i] - '0');
      if (v > 255 || i - start >= 3) return std::nullopt;
      ++i;
    }
    size_t len = i - start;
    if (len == 0 || (len > 1 && s[start] == '0')) return std::nullopt;
    out[static_cast<size_t>(field)] = static_cast<uint8_t>(v);
    ++field;
    if (i == s.size()) break;
    if (s[i] != '.' || field == 4) return std::nullopt;
    ++i;
  }
  if (field != 4) return std::nullopt;
  return out;
}

std::optional<IpAddress> parse_ipv6(std::string_view s) {
  IpAddress ip;
  size_t pct = s.find('%');
  if (pct != std::string_view::npos) {
    ip.zone = std::string(s.substr(pct + 1));
    s = s.substr(0, pct);
    if (ip.zone.empty()) return std::nullopt;
  }
  int ellipsis = -1;
  if (s.size() >= 2 && s[0] == ':' && s[1] == ':') {
    ellipsis = 0;
    s.remove_prefix(2);
    if (s.empty()) return ip;
  }
  int i = 0;
  while (i < 16) {
    size_t off = 0;
    uint32_t acc = 0;
    for (; off < s.size(); ++off) {
      int h = hex_value(s[off]);
      if (h < 0) break;
      if (off > 3) return std::nullopt;
      acc = (acc << 4) | static_cast<uint32_t>(h);
    }
    if (off == 0) return std::nullopt;
    if (off < s.size() && s[off] == '.') {
      // A trailing embedded IPv4 address replaces the last two fields.
      if ((ellipsis < 0 && i != 12) || i + 4 > 16) return std::nullopt;
      auto v4 = parse_ipv4(s);
      if (!v4) return std::nullopt;
      std::copy(v4->begin(), v4->end(), ip.addr.begin() + i);
      s = {};
      i += 4;
      break;
    }
    ip.addr[static_cast<size_t>(i)] = static_cast<uint8_t>(acc >> 8);
    ip.addr[static_cast<size_t>(i) + 1] = static_cast<uint8_t>(acc);
    i += 2;
    s.remove_prefix(off);
    if (s.empty()) break;
    if (s[0] != ':' || s.size() == 1) return std::nullopt;
    s.remove_prefix(1);
    if (s[0] == ':') {
      if (ellipsis >= 0) return std::nullopt;
      ellipsis = i;
      s.remove_prefix(1);
      if (s.empty()) break;
    }
  }
  if (!s.empty()) return std::nullopt;
  if (i < 16) {
    if (ellipsis < 0) return std::nullopt;
    int n = 16 - i;
    for (int j = i - 1; j >= ellipsis; --j) {
      ip.addr[static_cast<size_t>(j) + static_cast<size_t>(n)] = ip.addr[static_cast<size_t>(j)];
    }
    for (int j = ellipsis; j < ellipsis + n; ++j) ip.addr[static_cast<size_t>(j)] = 0;
  } else if (ellipsis >= 0) {
    return std::nullopt;  // "::" must stand for at least one zero field
  }
  return ip;
}

}  // namespace

std::optional<IpAddress> parse_ip(std::string_view s) {
  // Go netip.ParseAddr: the first '.', ':' or '%' decides the family.
  for (char c : s) {
    if (c == '.') {
      auto v4 = parse_ipv4(s);
      if (!v4) return std::nullopt;
      IpAddress ip;
      ip.v4 = true;
      std::copy(v4->begin(), v4->end(), ip.addr.begin());
      return ip;
    }
    if (c == ':') return parse_ipv6(s);
    if (c == '%') return std::nullopt;
  }
  return std::nullopt;
}

std::optional<Prefix> parse_prefix(std::string_view s) {
  // Go netip.ParsePrefix: "addr/bits", no zone, bits in decimal without sign or leading zero.
  size_t slash = s.rfind('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto ip = parse_ip(s.substr(0, slash));
  if (!ip || !ip->zone.empty()) return std::nullopt;
  std::string_view bits = s.substr(slash + 1);
  if (bits.empty() || bits.size() > 3 || (bits.size() > 1 && bits[0] == '0')) return std::nullopt;
  int n = 0;
  for (char c : bits) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  if (n > (ip->v4 ? 32 : 128)) return std::nullopt;
  return Prefix{*ip, n};
}

bool prefix_contains(const Prefix& p, const IpAddress& ip) {
  // netip.Prefix.Contains: families must match (an IPv4-mapped IPv6 address is IPv6), and an
  // address with a zone is never contained.
  if (ip.v4 != p.addr.v4 || !ip.zone.empty()) return false;
  int bits = p.bits;
  for (size_t i = 0; bits > 0; ++i, bits -= 8) {
    uint8_t mask = bits >= 8 ? 0xFF : static_cast<uint8_t>(0xFF << (8 - bits));
    if ((ip.addr[i] & mask) != (p.addr.addr[i] & mask)) return false;
  }
  return true;
}

bool ip_equal(const IpAddress& a, const IpAddress& b) {
  return a.v4 == b.v4 && a.addr == b.addr && a.zone == b.zone;
}

}  // namespace tessera::fga::cel::detail
