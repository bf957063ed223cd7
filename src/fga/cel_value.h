// Runtime values of the CEL subset OpenFGA conditions use (cel-go's value model): int, uint,
// double, bool, string, bytes, null, google.protobuf.Duration, google.protobuf.Timestamp,
// OpenFGA's IPAddress, lists and maps; plus the two evaluation states that are not values,
// an error and "unknown" (a declared parameter absent from the context, as cel-go's partial
// evaluation represents it). Internal to src/fga/cel*.cpp.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "core/utf8.h"

namespace tessera::fga::cel::detail {

struct NullValue {};
struct Str {
  std::shared_ptr<const std::string> s;
};
struct Bytes {
  std::shared_ptr<const std::string> b;
};
// google.protobuf.Duration as cel-go holds it: a Go time.Duration, int64 nanoseconds.
struct Duration {
  int64_t ns = 0;
};
// google.protobuf.Timestamp, always UTC: seconds since the Unix epoch and nanoseconds. CEL's
// range is 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59.999999999Z.
struct Timestamp {
  int64_t sec = 0;
  int32_t nanos = 0;
};
// OpenFGA's IPAddress (internal/condition/types/ipaddress.go wraps Go's netip.Addr).
struct IpAddress {
  std::array<uint8_t, 16> addr{};  // IPv4 in the first 4 bytes
  bool v4 = false;
  std::string zone;  // IPv6 zone ("fe80::1%eth0"), empty otherwise
};
struct ListValue;
struct MapValue;
struct Error {
  std::shared_ptr<const std::string> message;
};
struct Unknown {};

using Value =
    std::variant<NullValue, bool, int64_t, uint64_t, double, Str, Bytes, Duration, Timestamp,
                 std::shared_ptr<const IpAddress>, std::shared_ptr<const ListValue>,
                 std::shared_ptr<const MapValue>, Error, Unknown>;

// The variant's alternatives, in order, for switch statements.
enum class Kind : uint8_t {
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
  Map,
  Error,
  Unknown,
};
inline Kind kind_of(const Value& v) { return static_cast<Kind>(v.index()); }

struct ListValue {
  std::vector<Value> items;
};

// Map keys are int, uint, bool or string (CEL langdef "Aggregate Values"). Keys compare
// with CEL equality, so 1, 1u and 1.0 name the same entry.
struct MapValue {
  std::vector<std::pair<Value, Value>> entries;
  // key_identity -> entry, built for maps with many entries: O(1) lookups.
  std::unordered_map<std::string, size_t> index;

  void build_index();
  const Value* find(const Value& key) const;
};

// A key's identity under CEL equality ("s<text>", "b0"/"b1", "n<integer>"); nullopt for a
// value no key can equal (a fractional double, a list, ...).
std::optional<std::string> key_identity(const Value& key);

Value make_string(std::string s);
Value make_bytes(std::string b);
Value make_error(std::string message);
const std::string& str(const Value& v);    // v holds Str
const std::string& bytes(const Value& v);  // v holds Bytes
const std::vector<Value>& list_items(const Value& v);
const MapValue& map_of(const Value& v);

// CEL type name of a value, for messages ("int", "google.protobuf.Timestamp", ...).
std::string type_name(const Value& v);

// Heterogeneous equality (cel-go >= 0.10, CEL spec "Equality"): values of different kinds are
// unequal except numbers, which compare by numeric value; NaN equals nothing.
bool values_equal(const Value& a, const Value& b);

// Ordering for `<` `<=` `>` `>=`: same kind, or any two numbers (cel-go compares int, uint
// and double values at run time). Unordered: a NaN operand. NoOverload: kinds not comparable.
enum class Order { Less, Equal, Greater, Unordered, NoOverload };
Order compare(const Value& a, const Value& b);

bool is_valid_map_key(const Value& v);

// ---- Strings -------------------------------------------------------------------------------
bool valid_utf8(std::string_view s);
size_t utf8_length(std::string_view s);  // code points; s is valid UTF-8
// Go's strconv.FormatFloat(v, 'g', -1, 64), i.e. fmt's %g: what cel-go's string(double) gives.
std::string format_double(double v);

// ---- Durations and timestamps (Go's time package, as cel-go and OpenFGA use it) ------------
// Go time.ParseDuration: "1h30m", "-1.5s", "300ms", "2h45m10.5s", "0".
std::optional<int64_t> parse_go_duration(std::string_view text);
// cel-go string(duration): seconds with a trailing "s", e.g. "5400s", "1.5s".
std::string format_duration(int64_t ns);
// Go time.Parse(time.RFC3339, ...): "2023-01-01T10:00:00Z", "...T10:00:00.5+02:00".
std::optional<Timestamp> parse_rfc3339(std::string_view text);
// Go time.RFC3339Nano in UTC: "2023-01-01T10:00:00.5Z".
std::string format_rfc3339(const Timestamp& t);
bool timestamp_in_range(const Timestamp& t);
constexpr int64_t kMinTimestampSeconds = -62135596800;  // 0001-01-01T00:00:00Z
constexpr int64_t kMaxTimestampSeconds = 253402300799;  // 9999-12-31T23:59:59Z

struct CivilTime {
  int64_t year;
  int month;        // 1..12
  int day;          // 1..31
  int hour;         // 0..23
  int minute;       // 0..59
  int second;       // 0..59
  int day_of_week;  // 0 = Sunday
  int day_of_year;  // 0-based
};
CivilTime civil_from_unix(int64_t seconds);
// UTC offset in seconds at `unix_seconds` for a CEL time zone (CEL langdef "Timezones": "UTC",
// a fixed "+hh:mm"/"-hh:mm", or an IANA name such as "Europe/Paris"), or nullopt.
std::optional<int64_t> zone_offset(std::string_view zone, int64_t unix_seconds);

// ---- IP addresses (Go net/netip, as OpenFGA's ipaddress type uses it) -----------------------
std::optional<IpAddress> parse_ip(std::string_view text);
struct Prefix {
  IpAddress addr;
  int bits = 0;
};
std::optional<Prefix> parse_prefix(std::string_view text);
bool prefix_contains(const Prefix& p, const IpAddress& ip);
bool ip_equal(const IpAddress& a, const IpAddress& b);

}  // namespace tessera::fga::cel::detail
