// The server's HTTP/1.1 request parser (RFC 9112). Beast's parser, which the server used before,
// checks a field value a byte at a time and copies every field into its own list before the
// server copied it again; on the gateway's hot path that was a seventh of its instructions per
// request (docs/performance.md). This one scans lines and values 16 bytes at a time, writes the
// fields straight into the Request's list (whose strings are reused from request to request) and
// the content into its body. Beast-free; tested against Beast's parser byte for byte
// (tests/unit/http/request_parser_test.cpp) and by a differential fuzz target.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "http/message.h"

namespace tessera::http::internal {

class RequestParser {
 public:
  enum class Error : uint8_t {
    kNone,
    kBadRequest,           // 400: not HTTP/1.1 syntax, or framing that cannot be trusted
    kHeaderTooLarge,       // 431 (RFC 6585 §5): the header section or a trailer over the limit
    kContentTooLarge,      // 413 (RFC 9110 §15.5.14)
    kVersionNotSupported,  // 505 (RFC 9110 §15.6.6): a major version other than 1
    kNotImplemented,       // 501 (RFC 9112 §6.1): a transfer coding other than chunked
  };

  // `header_limit` bounds the request line and header fields together, and separately the
  // chunk extensions and trailer fields of one request; `body_limit` the content.
  RequestParser(size_t header_limit, size_t body_limit)
      : header_limit_(header_limit), body_limit_(body_limit) {}

  // Starts the next request: its fields go into `headers`, its content into `body` (both emptied
  // here, their storage kept). Both must outlive the parse.
  void start(Headers& headers, std::string& body);

  // Consumes a prefix of `data` and returns its length. An incomplete line is left for the next
  // call, which gets it again with what came after. Nothing is consumed once the request is done
  // (what follows is the next request) or refused.
  size_t put(std::string_view data);

  // Whether any of this request came: not the empty lines before it (RFC 9112 §2.2), which some
  // clients send after a POST and which must not turn an idle connection into a slow request.
  bool got_some() const { return got_some_; }
  // The header section was read whole (still true if the content is refused later).
  bool header_done() const { return head_parsed_; }
  // Whether any content (or chunk framing) was consumed.
  bool content_started() const { return content_started_; }
  bool done() const { return state_ == State::kDone; }
  Error error() const { return error_; }

  // Bytes of the request line and header section read so far (of the last request, until the
  // next start()).
  size_t head_bytes() const { return head_bytes_; }
  // Field lines of the header section read so far (likewise).
  size_t fields() const { return fields_; }

  // Valid once header_done().
  std::string_view method() const { return method_; }
  std::string_view target() const { return target_; }
  // 10 or 11: HTTP/1.x with x > 1 is answered as 1.1 (RFC 9110 §2.5).
  int version() const { return version_; }
  // RFC 9112 §9.3: HTTP/1.1 persists unless `close` is named; HTTP/1.0 only with `keep-alive`.
  bool keep_alive() const { return version_ >= 11 ? !close_ : keep_alive_token_ && !close_; }

 private:
  enum class State : uint8_t {
    kStartLine,
    kFields,
    kContent,
    kChunkSize,
    kChunkData,
    kChunkDataEnd,
    kTrailer,
    kDone,
    kError,
  };

  size_t fail(Error e);
  bool request_line(std::string_view line);
  bool field_line(std::string_view line);
  bool end_of_head();
  bool chunk_size_line(std::string_view line);

  size_t header_limit_;
  size_t body_limit_;
  Headers* headers_ = nullptr;
  std::string* body_ = nullptr;
  State state_ = State::kStartLine;
  Error error_ = Error::kNone;
  std::string method_;
  std::string target_;
  int version_ = 11;
  size_t head_bytes_ = 0;
  size_t fields_ = 0;            // of the request line and header section so far
  size_t chunk_meta_bytes_ = 0;  // of chunk extensions and trailer fields so far
  size_t scanned_ = 0;           // of an incomplete line: bytes known to hold no LF
  uint64_t remaining_ = 0;       // of the content or the current chunk
  std::optional<uint64_t> content_length_;
  int codings_ = 0;            // transfer codings named, over every Transfer-Encoding field
  bool chunked_last_ = false;  // the last one named is chunked
  bool chunked_not_last_ = false;
  bool close_ = false;
  bool keep_alive_token_ = false;
  bool got_some_ = false;
  bool head_parsed_ = false;
  bool content_started_ = false;
};

}  // namespace tessera::http::internal
