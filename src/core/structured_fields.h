// Structured Field Values for HTTP (RFC 8941): the Dictionary a field such as Signature-Input or
// Signature (RFC 9421 §4) carries, parsed strictly (§4.2), and the serialisation (§4.1) of inner
// lists and parameters, which RFC 9421 §2.3 signs. Dates and Display Strings (RFC 9651) are not
// RFC 8941 types and fail to parse.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace tessera::sf {

struct Token {
  std::string value;
  bool operator==(const Token&) const = default;
};
struct ByteSequence {
  std::string bytes;  // decoded
  bool operator==(const ByteSequence&) const = default;
};
struct Decimal {
  double value = 0;
  bool operator==(const Decimal&) const = default;
};

// Integer, Decimal, String (std::string), Token, Byte Sequence, Boolean (§3.3).
using BareItem = std::variant<int64_t, Decimal, std::string, Token, ByteSequence, bool>;
// Parameters in order; a key given twice keeps its place and takes the later value (§4.2.3.2).
using Parameters = std::vector<std::pair<std::string, BareItem>>;

struct Item {
  BareItem value;
  Parameters params;
};
struct InnerList {
  std::vector<Item> items;
  Parameters params;
};
using Member = std::variant<Item, InnerList>;
// Members in order; a key given twice keeps its place and takes the later value (§4.2.2).
using Dictionary = std::vector<std::pair<std::string, Member>>;

// §4.2 with field type "dictionary": nullopt on any error (then the whole field is ignored).
// `input` is the field's value, its lines combined with ", " (RFC 9110 §5.3).
std::optional<Dictionary> parse_dictionary(std::string_view input);

// §4.1: the serialisations. A value that cannot be serialised (an integer out of range, a
// string with a character outside %x20-7E, a malformed token or key) yields nullopt.
std::optional<std::string> serialize(const BareItem& item);
std::optional<std::string> serialize(const Parameters& params);
std::optional<std::string> serialize(const InnerList& list);

// The parameter `key`, or null.
const BareItem* find(const Parameters& params, std::string_view key);
// The member `key`, or null.
const Member* find(const Dictionary& dictionary, std::string_view key);

}  // namespace tessera::sf
