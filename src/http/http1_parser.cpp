#include "http/http1_parser.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "core/hex.h"

namespace tessera::http::internal {
namespace {

// RFC 9112 §3.2 request-target: URI characters. Like Beast's parser (and nginx), bytes over 0x7F
// are let through for the router to judge; controls, space and DEL are not.
bool target_char(unsigned char c) { return c > 0x20 && c != 0x7F; }

bool is_ows(char c) { return c == ' ' || c == '\t'; }

// Calls `each` with every non-empty element of a comma-separated list (RFC 9110 §5.6.1), trimmed.
template <class Each>
void for_each_element(std::string_view list, Each each) {
  while (!list.empty()) {
    const size_t comma = list.find(',');
    const std::string_view element = trim_ows(list.substr(0, comma));
    if (!element.empty()) each(element);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
}

// 1*DIGIT without overflow.
bool parse_decimal(std::string_view s, uint64_t& out) {
  if (s.empty()) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    const auto d = static_cast<uint64_t>(c - '0');
    if (v > (std::numeric_limits<uint64_t>::max() - d) / 10) return false;
    v = v * 10 + d;
  }
  out = v;
  return true;
}

// RFC 9112 §7.1.1: chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] ),
// chunk-ext-val = token / quoted-string (RFC 9110 §5.6.4). Ignored, but only when well formed:
// parsers that disagree on where a chunk line ends are a smuggling vector.
bool chunk_extensions_ok(std::string_view s) {
  // No control but HTAB anywhere: outside a quoted string one could not be BWS or a token anyway.
  if (!safe_field_value(s)) return false;
  auto tchar = [](char c) { return is_token(std::string_view(&c, 1)); };
  size_t i = 0;
  auto skip_bws = [&] {
    while (i < s.size() && is_ows(s[i])) ++i;
  };
  auto token = [&] {
    const size_t from = i;
    while (i < s.size() && tchar(s[i])) ++i;
    return i > from;
  };
  while (i < s.size()) {
    skip_bws();
    if (i == s.size() || s[i] != ';') return false;
    ++i;
    skip_bws();
    if (!token()) return false;
    const size_t before = i;
    skip_bws();
    if (i == s.size() || s[i] != '=') {
      i = before;
      continue;
    }
    ++i;
    skip_bws();
    if (i < s.size() && s[i] == '"') {
      for (++i;; ++i) {
        if (i == s.size()) return false;
        const auto c = static_cast<unsigned char>(s[i]);
        if (c == '"') break;
        if (c == '\\' && ++i == s.size()) return false;  // quoted-pair
      }
      ++i;
    } else if (!token()) {
      return false;
    }
  }
  return true;
}

}  // namespace

void Http1Parser::start(Headers& headers, std::string& body, bool to_head) {
  headers_ = &headers;
  body_ = &body;
  headers.clear();
  body.clear();
  state_ = State::kStartLine;
  error_ = Error::kNone;
  method_.clear();
  target_.clear();
  status_ = 0;
  version_ = 11;
  head_bytes_ = 0;
  fields_ = 0;
  chunk_meta_bytes_ = 0;
  scanned_ = 0;
  remaining_ = 0;
  content_length_.reset();
  codings_ = 0;
  chunked_last_ = false;
  chunked_not_last_ = false;
  to_head_ = to_head;
  until_close_ = false;
  close_ = false;
  keep_alive_token_ = false;
  got_some_ = false;
  head_parsed_ = false;
  content_started_ = false;
}

size_t Http1Parser::fail(Error e) {
  error_ = e;
  state_ = State::kError;
  return 0;
}

size_t Http1Parser::put(std::string_view data) {
  if (state_ == State::kDone || state_ == State::kError) return 0;
  if (!got_some_) {
    got_some_ =
        state_ != State::kStartLine || data.find_first_not_of("\r\n") != std::string_view::npos;
  }
  size_t at = 0;
  while (at < data.size() && state_ != State::kDone) {
    const std::string_view rest = data.substr(at);
    switch (state_) {
      case State::kContent:
      case State::kChunkData: {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, rest.size()));
        body_->append(rest.data(), n);
        content_started_ = true;
        remaining_ -= n;
        at += n;
        if (remaining_ == 0) {
          state_ = state_ == State::kContent ? State::kDone : State::kChunkDataEnd;
        }
        continue;
      }
      case State::kContentUntilClose:
        if (rest.size() > body_limit_ - std::min(body_->size(), body_limit_)) {
          return fail(Error::kContentTooLarge);
        }
        body_->append(rest);
        content_started_ = true;
        at += rest.size();
        continue;
      case State::kChunkDataEnd:
        // RFC 9112 §7.1: chunk-data CRLF.
        if (rest.size() < 2) return at;
        if (rest[0] != '\r' || rest[1] != '\n') return fail(Error::kMalformed);
        at += 2;
        state_ = State::kChunkSize;
        continue;
      default:
        break;
    }
    // Line states: a line ends with CRLF (RFC 9112 §2.2; a bare LF or CR is refused).
    const bool in_head = state_ == State::kStartLine || state_ == State::kFields;
    const size_t budget = in_head ? header_limit_ - std::min(head_bytes_, header_limit_)
                                  : header_limit_ - std::min(chunk_meta_bytes_, header_limit_);
    const void* lf = std::memchr(rest.data() + scanned_, '\n', rest.size() - scanned_);
    if (lf == nullptr) {
      scanned_ = rest.size();
      if (rest.size() > budget) {
        return fail(state_ == State::kChunkSize ? Error::kMalformed : Error::kHeaderTooLarge);
      }
      return at;
    }
    const size_t line_end = static_cast<size_t>(static_cast<const char*>(lf) - rest.data());
    scanned_ = 0;
    if (line_end + 1 > budget) {
      return fail(state_ == State::kChunkSize ? Error::kMalformed : Error::kHeaderTooLarge);
    }
    if (line_end == 0 || rest[line_end - 1] != '\r') return fail(Error::kMalformed);
    const std::string_view line = rest.substr(0, line_end - 1);
    at += line_end + 1;
    if (in_head) head_bytes_ += line_end + 1;
    if (!in_head) content_started_ = true;
    bool ok = true;
    switch (state_) {
      case State::kStartLine:
        // RFC 9112 §2.2: empty lines before the start line are ignored.
        if (!line.empty()) {
          ok = kind_ == Kind::kRequest ? request_line(line) : status_line(line);
          if (ok) state_ = State::kFields;
        }
        break;
      case State::kFields:
        ok = line.empty() ? end_of_head() : field_line(line);
        break;
      case State::kChunkSize:
        ok = chunk_size_line(line);
        break;
      case State::kTrailer:
        // RFC 9112 §7.1.2: trailer fields are checked and discarded; the content is complete.
        if (line.empty()) {
          state_ = State::kDone;
        } else {
          chunk_meta_bytes_ += line_end + 1;
          const size_t colon = line.find(':');
          ok = colon != std::string_view::npos && is_token(line.substr(0, colon)) &&
               safe_field_value(line.substr(colon + 1));
          if (!ok) return fail(Error::kMalformed);
        }
        break;
      default:
        break;
    }
    if (!ok) return state_ == State::kError ? 0 : fail(Error::kMalformed);
  }
  return at;
}

// RFC 9112 §2.3: HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive. A major version other
// than 1 is kVersionNotSupported.
bool Http1Parser::http_version(std::string_view version) {
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.' ||
      version[5] < '0' || version[5] > '9' || version[7] < '0' || version[7] > '9') {
    return false;
  }
  if (version[5] != '1') {
    fail(Error::kVersionNotSupported);
    return false;
  }
  version_ = version[7] == '0' ? 10 : 11;
  return true;
}

bool Http1Parser::put_eof() {
  if (state_ == State::kContentUntilClose) state_ = State::kDone;
  return state_ == State::kDone;
}

// RFC 9112 §3: request-line = method SP request-target SP HTTP-version.
bool Http1Parser::request_line(std::string_view line) {
  const size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return false;
  const std::string_view method = line.substr(0, sp1);
  if (!is_token(method)) return false;
  const std::string_view rest = line.substr(sp1 + 1);
  const size_t sp2 = rest.find(' ');
  if (sp2 == 0 || sp2 == std::string_view::npos) return false;
  const std::string_view target = rest.substr(0, sp2);
  for (char c : target) {
    if (!target_char(static_cast<unsigned char>(c))) return false;
  }
  if (!http_version(rest.substr(sp2 + 1))) return false;
  method_.assign(method);
  target_.assign(target);
  return true;
}

// RFC 9112 §4: status-line = HTTP-version SP status-code SP [ reason-phrase ], status-code =
// 3DIGIT, reason-phrase = 1*( HTAB / SP / VCHAR / obs-text ), which a client ignores. The SP before
// an empty reason-phrase is often left out (nginx and curl accept that too).
bool Http1Parser::status_line(std::string_view line) {
  if (line.size() < 12 || line[8] != ' ' || (line.size() > 12 && line[12] != ' ')) return false;
  if (!http_version(line.substr(0, 8))) return false;
  int code = 0;
  for (char c : line.substr(9, 3)) {
    if (c < '0' || c > '9') return false;
    code = code * 10 + (c - '0');
  }
  // RFC 9110 §15: 100-599 are defined; a client treats an unknown code as its class's x00, so any
  // three digits from 100 up are an answer.
  if (code < 100 || (line.size() > 13 && !safe_field_value(line.substr(13)))) return false;
  status_ = code;
  return true;
}

// RFC 9112 §5: field-line = field-name ":" OWS field-value OWS. No whitespace before the colon
// (§5.1, a server MUST refuse it) and no obs-fold (§5.2, refused): a line that starts with
// whitespace is neither a field nor a continuation we accept.
bool Http1Parser::field_line(std::string_view line) {
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) return false;
  const std::string_view name = line.substr(0, colon);
  const std::string_view value = trim_ows(line.substr(colon + 1));
  if (!is_token(name) || !safe_field_value(value)) return false;
  headers_->add(name, value);
  ++fields_;
  if (iequals(name, "Content-Length")) {
    // RFC 9112 §6.3: a list of one value repeated, in one field or several, is that value;
    // anything else is unrecoverable framing.
    // Unlike other lists, no empty elements: "Content-Length: ,5" is not framing to guess at.
    std::string_view rest = value;
    for (;;) {
      const size_t comma = rest.find(',');
      uint64_t n = 0;
      if (!parse_decimal(trim_ows(rest.substr(0, comma)), n)) return false;
      if (content_length_ && *content_length_ != n) return false;
      content_length_ = n;
      if (comma == std::string_view::npos) return true;
      rest.remove_prefix(comma + 1);
    }
  }
  if (iequals(name, "Transfer-Encoding")) {
    int named = 0;
    for_each_element(value, [&](std::string_view element) {
      if (chunked_last_) chunked_not_last_ = true;
      ++codings_;
      ++named;
      chunked_last_ = iequals(element, "chunked");
    });
    return named > 0;  // an empty one is framing to guess at, like an empty Content-Length
  }
  if (iequals(name, "Connection")) {
    // RFC 9110 §7.6.1: connection-option is a token.
    bool ok = true;
    for_each_element(value, [&](std::string_view option) {
      ok = ok && is_token(option);
      if (iequals(option, "close")) close_ = true;
      if (iequals(option, "keep-alive")) keep_alive_token_ = true;
    });
    return ok;
  }
  return true;
}

// RFC 9112 §6.3: how long the content is.
bool Http1Parser::end_of_head() {
  head_parsed_ = true;
  // Item 1: an answer to HEAD, a 1xx, 204 or 304 ends with its header section, whatever its
  // fields say (RFC 9110 §6.4.1).
  if (kind_ == Kind::kResponse && (to_head_ || status_ < 200 || status_ == 204 || status_ == 304)) {
    state_ = State::kDone;
    return true;
  }
  if (codings_ > 0) {
    // §6.1: Transfer-Encoding in HTTP/1.0 is faulty framing; with a Content-Length it may be
    // smuggling or response splitting (§6.3 item 3, §11.2): both refused, in answers too (as
    // nginx does). Chunked must be named once, last (§6.3 item 4); other codings are not
    // implemented. An answer that applies one was not asked to (our requests send no TE,
    // RFC 9110 §10.1.4), and item 4's reading to the close would give coded bytes: refused.
    if (version_ < 11 || content_length_ || chunked_not_last_ || !chunked_last_) {
      fail(Error::kMalformed);
      return false;
    }
    if (codings_ > 1) {
      fail(Error::kNotImplemented);
      return false;
    }
    state_ = State::kChunkSize;
    return true;
  }
  if (kind_ == Kind::kResponse && !content_length_) {
    // Item 8: an answer with neither is its content up to the close.
    until_close_ = true;
    state_ = State::kContentUntilClose;
    return true;
  }
  const uint64_t length = content_length_.value_or(0);
  if (length > body_limit_) {
    fail(Error::kContentTooLarge);
    return false;
  }
  if (length == 0) {
    state_ = State::kDone;
    return true;
  }
  // What the client announced, up to 64 KiB: an announcement alone does not take memory.
  body_->reserve(static_cast<size_t>(std::min<uint64_t>(length, uint64_t{64} * 1024)));
  remaining_ = length;
  state_ = State::kContent;
  return true;
}

// RFC 9112 §7.1: chunk-size [ chunk-ext ] CRLF, chunk-ext = *( BWS ";" BWS chunk-ext-name
// [ BWS "=" BWS chunk-ext-val ] ). Extensions are ignored (§7.1.1) but must be text, and count
// toward the limit with the trailer.
bool Http1Parser::chunk_size_line(std::string_view line) {
  size_t i = 0;
  uint64_t size = 0;
  for (; i < line.size(); ++i) {
    const int d = hex_value(line[i]);
    if (d < 0) break;
    if (size > (std::numeric_limits<uint64_t>::max() >> 4)) return false;
    size = (size << 4) | static_cast<uint64_t>(d);
  }
  if (i == 0) return false;
  const std::string_view extensions = line.substr(i);
  if (!extensions.empty()) {
    chunk_meta_bytes_ += extensions.size();
    if (chunk_meta_bytes_ > header_limit_ || !chunk_extensions_ok(extensions)) return false;
  }
  if (size == 0) {
    state_ = State::kTrailer;
    return true;
  }
  if (size > body_limit_ - std::min<uint64_t>(body_->size(), body_limit_)) {
    fail(Error::kContentTooLarge);
    return false;
  }
  remaining_ = size;
  state_ = State::kChunkData;
  return true;
}

}  // namespace tessera::http::internal
