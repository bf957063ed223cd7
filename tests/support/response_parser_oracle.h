// Runs an answer through the clients' parser (internal::Http1Parser of Kind::kResponse, fed in
// pieces as a client feeds it) and through Beast's response_parser, which the clients used
// before, and says where the two disagree. Used by unit_http
// (tests/unit/http/response_parser_test.cpp) and the libFuzzer target fuzz_http1. Beast is
// header-only: a target that includes this must define BOOST_BEAST_USE_STD_STRING_VIEW as
// tessera_http does, or the two builds of Beast's inline functions clash at link time.
#pragma once

#include <boost/beast/http.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "http/http1_parser.h"
#include "support/http1_oracle.h"

namespace tessera::testing {

struct ParsedResponse {
  bool done = false;
  http::internal::Http1Parser::Error error = http::internal::Http1Parser::Error::kNone;
  bool header_done = false;
  int status = 0;
  int version = 0;
  bool keep_alive = false;
  std::vector<std::string> fields;  // "name: value"
  std::string body;
  size_t consumed = 0;  // of the input
  // Ours only: whether put_eof() was called (eof, and the answer neither done nor refused
  // before), and what it returned.
  bool put_eof_called = false;
  bool put_eof_completed = false;
};

// Feeds `wire` in pieces of `piece` bytes (0: all at once), keeping what the parser left and
// appending the next piece, as a client does; then, when `eof`, tells the parser the connection
// closed. `to_head`: the answer is to a HEAD request.
inline ParsedResponse parse_response(std::string_view wire, size_t header_limit, size_t body_limit,
                                     bool to_head = false, size_t piece = 0, bool eof = false) {
  using Error = http::internal::Http1Parser::Error;
  http::internal::Http1Parser parser(http::internal::Http1Parser::Kind::kResponse, header_limit,
                                     body_limit);
  http::Headers headers;
  headers.add("Stale", "from an earlier answer");
  std::string body = "stale";
  parser.start(headers, body, to_head);
  const size_t consumed = feed(parser, wire, piece);
  ParsedResponse out;
  if (eof && !parser.done() && parser.error() == Error::kNone) {
    out.put_eof_called = true;
    out.put_eof_completed = parser.put_eof();
  }
  out.done = parser.done();
  out.error = parser.error();
  out.header_done = parser.header_done();
  if (parser.header_done()) {
    out.status = parser.status();
    out.version = parser.version();
    out.keep_alive = parser.keep_alive();
    for (const auto& [name, value] : headers) out.fields.push_back(name + ": " + value);
    out.body = body;
  }
  out.consumed = consumed;
  return out;
}

inline ParsedResponse beast_parse_response(std::string_view wire, size_t header_limit,
                                           size_t body_limit, bool to_head = false,
                                           bool eof = false) {
  namespace bhttp = boost::beast::http;
  bhttp::response_parser<bhttp::string_body> p;
  p.header_limit(static_cast<uint32_t>(header_limit));
  p.body_limit(body_limit);
  // The header alone first, as the clients read with Beast: in one eager put, Beast 1.74 loses the
  // body_limit error of an answer's Content-Length and reserves the declared length
  // (boostorg/beast#2183).
  p.eager(false);
  if (to_head) p.skip(true);
  ParsedResponse out;
  while (!p.is_done()) {
    if (p.is_header_done()) p.eager(true);
    boost::system::error_code ec;
    const size_t n = p.put(boost::asio::buffer(wire.data(), wire.size()), ec);
    wire.remove_prefix(n);
    out.consumed += n;
    if (ec == bhttp::error::need_more) break;
    if (ec) {
      out.error = http::internal::Http1Parser::Error::kMalformed;
      return out;
    }
    if (n == 0) break;
  }
  if (!p.is_done() && eof && p.got_some()) {
    boost::system::error_code ec;
    p.put_eof(ec);
    if (ec && ec != bhttp::error::partial_message) {
      out.error = http::internal::Http1Parser::Error::kMalformed;
      return out;
    }
  }
  if (!p.is_done()) return out;
  out.done = true;
  out.header_done = true;
  const auto& m = p.get();
  out.status = static_cast<int>(m.result_int());
  out.version = static_cast<int>(m.version());
  // The parser's verdict, not the message's: only the parser knows the content ran to the close.
  out.keep_alive = p.keep_alive();
  for (const auto& f : m) {
    out.fields.push_back(std::string(f.name_string()) + ": " + std::string(f.value()));
  }
  out.body = m.body();
  return out;
}

// Where the two differ on purpose, each with its reason. Coarse: an answer listed here may not
// differ after all; it is only left out of the comparison.
inline bool known_difference_response(const std::string& wire) {
  const std::string lower = lowercase(std::string_view(wire).substr(0, wire.find("\r\n\r\n")));
  const size_t te = lower.find("\r\ntransfer-encoding:");
  if (te != std::string::npos) {
    // RFC 9112 §6.3 item 3, §11.1: Transfer-Encoding with Content-Length may be response
    // splitting; we refuse it (as nginx does). Beast 1.74 reads the length when a coding other
    // than chunked comes before it, and refuses both even in a 1xx, 204, 304 or answer to HEAD,
    // which has no content whatever they say (item 1): we ignore them there.
    if (lower.find("\r\ncontent-length:") != std::string::npos) return true;
    // §6.3 item 4: Transfer-Encoding not ending in chunked. Beast reads such an answer to the
    // close (the coded bytes as content); we refuse it, and other codings we never asked for
    // (RFC 9110 §10.1.4), as not implemented. Several fields: Beast reads "gzip" then "chunked"
    // as chunked (we answer 501), and refuses any after a chunked one.
    if (lower.compare(te, 30, "\r\ntransfer-encoding: chunked\r\n") != 0 ||
        lower.find("\r\ntransfer-encoding:", te + 1) != std::string::npos) {
      return true;
    }
    // §6.1: Transfer-Encoding in HTTP/1.0 is faulty framing; Beast reads it as chunked.
    if (lower.starts_with("http/1.0")) return true;
  }
  // A trailer's "Connection: close" may also make Beast close the connection.
  if (te != std::string::npos &&
      (control_in_chunk_extension(wire, lower.size()) ||
       interpreted_field_in_trailer(wire, lower.size(),
                                    {"\r\ntransfer-encoding", "\r\ncontent-length",
                                     "\r\nconnection", "\r\nproxy-connection"}))) {
    return true;
  }
  // Beast checks Proxy-Connection (not in any RFC) as a token list; we pass it on as it is (the
  // gateway drops it as hop-by-hop).
  if (lower.find("\r\nproxy-connection:") != std::string::npos) return true;
  // RFC 9112 §9.3: "close" wins; Beast's parser keeps an HTTP/1.0 connection that names both
  // close and keep-alive.
  if (lower.find("http/1.0") != std::string::npos && lower.find("close") != std::string::npos &&
      lower.find("keep-alive") != std::string::npos) {
    return true;
  }
  // RFC 9112 §2.2: we ignore empty lines before the start line, as for a request (a server may
  // leave a CRLF after the content before); Beast refuses them.
  if (wire.starts_with("\r\n")) return true;
  // RFC 9112 §5.2: obs-fold; a gateway may refuse the answer (and answer 502), which we do.
  if (obs_fold(wire, te != std::string::npos)) return true;
  const std::string line = wire.substr(0, wire.find("\r\n"));
  // RFC 9110 §2.5: HTTP/1.x later than 1.1 is read as 1.1; Beast refuses it.
  if (line.size() >= 8 && line.starts_with("HTTP/1.") && line[7] >= '2' && line[7] <= '9') {
    return true;
  }
  // RFC 9112 §4: "HTTP/1.1 200" without the SP before an empty reason-phrase, which servers
  // send and nginx and curl take; Beast refuses it.
  if (line.size() == 12 && line.starts_with("HTTP/1.")) return true;
  // RFC 9110 §15: a status code is 100-599 (we take any three digits from 100, read by class);
  // Beast takes 000-099 as well.
  if (line.size() >= 10 && line[9] == '0') return true;
  return false;
}

// Empty when the two parsers agree: an answer either calls complete, the other calls complete
// and reads the same. Where one refuses and the other waits for more (or calls a cut answer
// incomplete), they agree: Beast refuses some bytes before their line ends, where ours waits for
// the line. Beast adds a trailer's fields to the header's; ours are the header's alone, so
// theirs must include ours.
inline std::string disagreement(std::string_view wire, size_t header_limit, size_t body_limit,
                                bool to_head, bool eof) {
  using Error = http::internal::Http1Parser::Error;
  const ParsedResponse ours = parse_response(wire, header_limit, body_limit, to_head, 0, eof);
  const ParsedResponse beast = beast_parse_response(wire, header_limit, body_limit, to_head, eof);
  if (!ours.done && !beast.done) return "";
  auto says = [](const ParsedResponse& p) { return verdict(p.done, p.error); };
  // Beast applies its header limit to the status line and to the fields separately, and none to
  // chunk extensions and trailers; ours is for the whole header section, and again for an
  // answer's extensions and trailer together.
  if (ours.error == Error::kHeaderTooLarge) return "";
  if (ours.done != beast.done) {
    return std::string("ours ") + says(ours) + ", Beast's " + says(beast);
  }
  // Where the answer ends: the bytes after it are the next answer's.
  if (ours.consumed != beast.consumed) return "where the answer ends";
  if (ours.status != beast.status) return "status";
  if (ours.version != beast.version) return "version";
  if (ours.keep_alive != beast.keep_alive) return "keep-alive";
  if (fields_differ(ours.fields, beast.fields, wire)) return "fields";
  if (ours.body != beast.body) return "content";
  return "";
}

}  // namespace tessera::testing
