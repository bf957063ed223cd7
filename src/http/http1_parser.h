// HTTP/1.1 message parser (RFC 9112), for the server's requests and the clients' answers. Beast's
// parser, which both used before, checks a field value a byte at a time and copies every field
// into its own list before we copied it again; on the gateway's hot path the request side was a
// seventh of its instructions per request and the answer side a tenth (docs/performance.md). This
// one scans lines and values 16 bytes at a time, writes the fields straight into a Headers list
// (whose strings the server reuses from request to request) and the content into a string.
// Beast-free; tested against Beast's parser message by message
// (tests/unit/http/request_parser_test.cpp, response_parser_test.cpp) and by a differential fuzz
// target.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "http/message.h"

namespace tessera::http::internal {

class Http1Parser {
 public:
  enum class Kind : uint8_t { kRequest, kResponse };
  enum class Error : uint8_t {
    kNone,
    kMalformed,            // a server answers 400: not HTTP/1.1 syntax, or untrustworthy framing
    kHeaderTooLarge,       // 431 (RFC 6585 §5): the header section or a trailer over the limit
    kContentTooLarge,      // 413 (RFC 9110 §15.5.14)
    kVersionNotSupported,  // 505 (RFC 9110 §15.6.6): a major version other than 1
    kNotImplemented,       // 501 (RFC 9112 §6.1): a transfer coding other than chunked
  };

  // `header_limit` bounds the start line and header fields together, and separately the chunk
  // extensions and trailer fields of one message; `body_limit` the content.
  Http1Parser(Kind kind, size_t header_limit, size_t body_limit)
      : kind_(kind), header_limit_(header_limit), body_limit_(body_limit) {}

  // Starts the next message: its fields go into `headers`, its content into `body` (both emptied
  // here, their storage kept). Both must outlive the parse. For an answer, `to_head` says it
  // answers a HEAD request, so it has no content whatever its fields say (RFC 9110 §9.3.2).
  void start(Headers& headers, std::string& body, bool to_head = false);

  // Consumes a prefix of `data` and returns its length. An incomplete line is left for the next
  // call, which gets it again with what came after. Nothing is consumed once the message is done
  // (what follows is the next message) or refused.
  size_t put(std::string_view data);

  // The peer closed the connection: true when that completes the message (an answer whose content
  // is delimited by the close, RFC 9112 §6.3 item 8; done() is then true), false when the message
  // is cut short.
  bool put_eof();

  // Whether any of this message came: not the empty lines before it (RFC 9112 §2.2), which some
  // clients send after a POST and which must not turn an idle connection into a slow request.
  bool got_some() const { return got_some_; }
  // The header section was read whole (still true if the content is refused later).
  bool header_done() const { return head_parsed_; }
  // Whether any content (or chunk framing) was consumed.
  bool content_started() const { return content_started_; }
  bool done() const { return state_ == State::kDone; }
  Error error() const { return error_; }

  // Bytes of the start line and header section read so far (of the last message, until the next
  // start()).
  size_t head_bytes() const { return head_bytes_; }
  // Field lines of the header section read so far (likewise).
  size_t fields() const { return fields_; }

  // Valid once header_done(). Requests: method and target; answers: status.
  std::string_view method() const { return method_; }
  std::string_view target() const { return target_; }
  int status() const { return status_; }
  // 10 or 11: HTTP/1.x with x > 1 is answered as 1.1 (RFC 9110 §2.5).
  int version() const { return version_; }
  // RFC 9112 §9.3: HTTP/1.1 persists unless `close` is named; HTTP/1.0 only with `keep-alive`.
  // An answer whose content ends with the connection does not persist (§9.6).
  bool keep_alive() const {
    if (until_close_) return false;
    return version_ >= 11 ? !close_ : keep_alive_token_ && !close_;
  }

 private:
  enum class State : uint8_t {
    kStartLine,
    kFields,
    kContent,
    kContentUntilClose,
    kChunkSize,
    kChunkData,
    kChunkDataEnd,
    kTrailer,
    kDone,
    kError,
  };

  size_t fail(Error e);
  bool request_line(std::string_view line);
  bool status_line(std::string_view line);
  bool http_version(std::string_view version);
  bool field_line(std::string_view line);
  bool end_of_head();
  bool chunk_size_line(std::string_view line);

  Kind kind_;
  size_t header_limit_;
  size_t body_limit_;
  Headers* headers_ = nullptr;
  std::string* body_ = nullptr;
  State state_ = State::kStartLine;
  Error error_ = Error::kNone;
  std::string method_;
  std::string target_;
  int status_ = 0;
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
  bool to_head_ = false;
  bool until_close_ = false;
  bool close_ = false;
  bool keep_alive_token_ = false;
  bool got_some_ = false;
  bool head_parsed_ = false;
  bool content_started_ = false;
};

}  // namespace tessera::http::internal
