// libFuzzer target: the HTTP/1.1 parser (src/http/http1_parser.h) on arbitrary bytes, as the
// server reads requests and the clients read answers. The first byte picks the size of the pieces
// the rest is fed in (bits 0-4), answers instead of requests (bit 5), an answer to HEAD (bit 6) and
// a close after the bytes (bit 7). Properties: the same verdict, fields, content and consumed
// length whichever the pieces; nothing consumed past the input; content within its limit; and,
// outside the differences on purpose (tests/support/request_parser_oracle.h,
// response_parser_oracle.h), the same message Beast's parser reads, when
// TESSERA_FUZZ_DIFFERENTIAL is set.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "support/request_parser_oracle.h"
#include "support/response_parser_oracle.h"

namespace {

constexpr size_t kHeaderLimit = 1024;
constexpr size_t kBodyLimit = 512;

void check(bool condition) {
  if (!condition) __builtin_trap();
}

// Beast's quirks are many (the oracles list those found): the comparison is for a deliberate
// session (TESSERA_FUZZ_DIFFERENTIAL=1), not for CI's short runs, which must not fail on the next
// quirk found. unit_http runs it over 200,000 mutated requests and 100,000 mutated answers.
bool differential() {
  static const bool on = std::getenv("TESSERA_FUZZ_DIFFERENTIAL") != nullptr;
  return on;
}

template <class Parsed>
void check_split_invariance(const Parsed& whole, const Parsed& split, std::string_view wire) {
  check(whole.done == split.done && whole.error == split.error);
  check(whole.fields == split.fields);
  check(!whole.done || (whole.consumed == split.consumed && whole.body == split.body));
  check(whole.consumed <= wire.size());
  check(whole.body.size() <= kBodyLimit);
}

void requests(std::string_view wire, size_t piece) {
  using tessera::testing::parse_request;
  const auto whole = parse_request(wire, kHeaderLimit, kBodyLimit);
  const auto split = parse_request(wire, kHeaderLimit, kBodyLimit, piece);
  check_split_invariance(whole, split, wire);
  check(whole.body == split.body);
  if (differential() && !tessera::testing::known_difference(std::string(wire))) {
    check(tessera::testing::disagreement(wire, kHeaderLimit, kBodyLimit).empty());
  }
}

void answers(std::string_view wire, size_t piece, bool to_head, bool eof) {
  using tessera::testing::parse_response;
  const auto whole = parse_response(wire, kHeaderLimit, kBodyLimit, to_head, 0, eof);
  const auto split = parse_response(wire, kHeaderLimit, kBodyLimit, to_head, piece, eof);
  check_split_invariance(whole, split, wire);
  check(whole.keep_alive == split.keep_alive && whole.status == split.status);
  // An answer that ran to the close is never kept alive, and only a close ends one.
  check(!whole.put_eof_completed || (eof && !whole.keep_alive));
  if (differential() && !tessera::testing::known_difference_response(std::string(wire))) {
    check(tessera::testing::disagreement(wire, kHeaderLimit, kBodyLimit, to_head, eof).empty());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t piece = 1 + data[0] % 32;
  const std::string_view wire(reinterpret_cast<const char*>(data + 1), size - 1);
  if ((data[0] & 0x20) == 0) {
    requests(wire, piece);
  } else {
    answers(wire, piece, (data[0] & 0x40) != 0, (data[0] & 0x80) != 0);
  }
  return 0;
}
