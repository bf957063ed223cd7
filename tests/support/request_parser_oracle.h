// Runs a request through the server's parser (internal::Http1Parser, fed in pieces as the
// server feeds it) and through Beast's, which the server used before, and says where the two
// disagree. Shared by unit_http (tests/unit/http/request_parser_test.cpp) and the libFuzzer
// target fuzz_http1. Beast is header-only: a target that includes this must define
// BOOST_BEAST_USE_STD_STRING_VIEW as tessera_http does, or the two builds of Beast's inline
// functions clash at link time.
#pragma once

#include <boost/beast/http.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "http/http1_parser.h"
#include "support/http1_oracle.h"

namespace tessera::testing {

struct ParsedRequest {
  bool done = false;
  http::internal::Http1Parser::Error error = http::internal::Http1Parser::Error::kNone;
  std::string method;
  std::string target;
  int version = 0;
  bool keep_alive = false;
  std::vector<std::string> fields;  // "name: value"
  std::string body;
  size_t consumed = 0;  // of the input
};

// Feeds `wire` in pieces of `piece` bytes (0: all at once), keeping what the parser left, as
// the server does.
inline ParsedRequest parse_request(std::string_view wire, size_t header_limit, size_t body_limit,
                                   size_t piece = 0) {
  http::internal::Http1Parser parser(http::internal::Http1Parser::Kind::kRequest, header_limit,
                                     body_limit);
  http::Headers headers;
  headers.add("Stale", "from an earlier request");
  std::string body = "stale";
  parser.start(headers, body);
  const size_t consumed = feed(parser, wire, piece);
  ParsedRequest out;
  out.done = parser.done();
  out.error = parser.error();
  if (parser.header_done()) {
    out.method = std::string(parser.method());
    out.target = std::string(parser.target());
    out.version = parser.version();
    out.keep_alive = parser.keep_alive();
    for (const auto& [name, value] : headers) out.fields.push_back(name + ": " + value);
    out.body = body;
  }
  out.consumed = consumed;
  return out;
}

inline ParsedRequest beast_parse(std::string_view wire, size_t header_limit, size_t body_limit) {
  namespace bhttp = boost::beast::http;
  bhttp::request_parser<bhttp::string_body> p;
  p.header_limit(static_cast<uint32_t>(header_limit));
  p.body_limit(body_limit);
  p.eager(true);
  ParsedRequest out;
  while (!p.is_done()) {
    boost::system::error_code ec;
    const size_t n = p.put(boost::asio::buffer(wire.data(), wire.size()), ec);
    wire.remove_prefix(n);
    out.consumed += n;
    if (ec == bhttp::error::need_more) return out;
    if (ec) {
      out.error = http::internal::Http1Parser::Error::kMalformed;
      return out;
    }
    if (n == 0 && !p.is_done()) return out;
  }
  out.done = true;
  const auto& m = p.get();
  out.method = std::string(m.method_string());
  out.target = std::string(m.target());
  out.version = m.version();
  out.keep_alive = m.keep_alive();
  for (const auto& f : m) {
    out.fields.push_back(std::string(f.name_string()) + ": " + std::string(f.value()));
  }
  out.body = m.body();
  return out;
}

// Where the two differ on purpose. Beast takes any HTTP/d.d (we answer 505 to all but 1.x, and
// 1.x later than 1.1 as 1.1), a chunked coding that is not the only one (we answer 501 or 400),
// Transfer-Encoding in HTTP/1.0, and an empty Content-Length element after a valid one.
inline bool known_difference(const std::string& wire) {
  // RFC 9112 §6.3 item 4: Beast 1.74 reads a request whose Transfer-Encoding does not end in
  // chunked as one without content, leaving the rest to be read as the next request: the
  // difference between two parsers that request smuggling lives on. We refuse it (400).
  // RFC 9112 §6.1: nor do we read Transfer-Encoding in HTTP/1.0 (400), nor one that is empty.
  const std::string lower = lowercase(std::string_view(wire).substr(0, wire.find("\r\n\r\n")));
  const size_t te = lower.find("\r\ntransfer-encoding:");
  if (te != std::string::npos &&
      (lower.compare(te, 30, "\r\ntransfer-encoding: chunked\r\n") != 0 ||
       lower.find("\r\ntransfer-encoding:", te + 1) != std::string::npos ||
       lower.find("http/1.0\r\n") != std::string::npos)) {
    return true;
  }
  if (te != std::string::npos &&
      (control_in_chunk_extension(wire, lower.size()) ||
       interpreted_field_in_trailer(wire, lower.size(),
                                    {"\r\ntransfer-encoding", "\r\ncontent-length",
                                     "\r\nconnection", "\r\nupgrade", "\r\nproxy-connection"}))) {
    return true;
  }
  // Beast checks Proxy-Connection (not in any RFC) and Upgrade as token lists; we pass them on
  // as they are (the gateway drops both as hop-by-hop).
  if (lower.find("\r\nproxy-connection:") != std::string::npos ||
      lower.find("\r\nupgrade:") != std::string::npos) {
    return true;
  }
  // RFC 9110 §5.3: fields of one name are one list. Beast reads only some of several Connection
  // fields' options; we read them all.
  if (const size_t c = lower.find("\r\nconnection:");
      c != std::string::npos && lower.find("\r\nconnection:", c + 1) != std::string::npos) {
    return true;
  }
  // RFC 9112 §2.2: we ignore empty lines before the request-line; Beast refuses them.
  if (wire.starts_with("\r\n")) return true;
  // RFC 9112 §5.2: obs-fold, refused (400).
  if (obs_fold(wire, te != std::string::npos)) return true;
  const size_t eol = wire.find("\r\n");
  const std::string line = wire.substr(0, eol);
  if (line.size() >= 8 && line.compare(line.size() - 8, 6, "HTTP/1") != 0) return true;
  if (line.size() >= 8 && line.compare(line.size() - 8, 8, "HTTP/1.0") != 0 &&
      line.compare(line.size() - 8, 8, "HTTP/1.1") != 0) {
    return true;
  }
  return false;
}

// Empty when the two parsers agree: a request either calls complete, the other calls complete
// and reads the same. Where one refuses and the other waits for more, they agree: Beast refuses
// some bytes before their line ends, where ours waits for the line. Beast adds a trailer's fields
// to the header's; ours are the header's alone, so theirs must include ours.
inline std::string disagreement(std::string_view wire, size_t header_limit, size_t body_limit) {
  const ParsedRequest ours = parse_request(wire, header_limit, body_limit);
  const ParsedRequest beast = beast_parse(wire, header_limit, body_limit);
  if (!ours.done && !beast.done) return "";
  auto says = [](const ParsedRequest& p) { return verdict(p.done, p.error); };
  // Beast applies its header limit to the request line and to the fields separately, and its
  // own way to chunk extensions and trailers; ours is for the whole header section
  // (ServerOptions::max_header_bytes), and again for a request's extensions and trailer together.
  if (ours.error == http::internal::Http1Parser::Error::kHeaderTooLarge) return "";
  if (ours.done != beast.done) {
    return std::string("ours ") + says(ours) + ", Beast's " + says(beast);
  }
  // Where the request ends: the bytes after it are the next request's.
  if (ours.consumed != beast.consumed) return "where the request ends";
  if (ours.method != beast.method || ours.target != beast.target) return "request line";
  if (ours.version != beast.version || ours.keep_alive != beast.keep_alive) return "version";
  if (fields_differ(ours.fields, beast.fields, wire)) return "fields";
  if (ours.body != beast.body) return "content";
  return "";
}

}  // namespace tessera::testing
