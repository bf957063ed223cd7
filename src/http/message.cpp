#include "http/message.h"

#include <algorithm>
#include <array>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "core/base64url.h"
#include "core/crypto.h"
#include "core/hex.h"

namespace tessera::http {

namespace {

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

// RFC 3629 §4 well-formed UTF-8 (no overlongs, no surrogates, max U+10FFFF).
bool is_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    int len;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return false;
    }
    if (end - p < len) return false;
    if (p[1] < lo || p[1] > hi) return false;
    for (int i = 2; i < len; ++i) {
      if (p[i] < 0x80 || p[i] > 0xBF) return false;
    }
    p += len;
  }
  return true;
}

}  // namespace

bool iequals_same_size(std::string_view a, std::string_view b) {
  for (size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

#if defined(__SSE2__)
namespace {
// Whether the 16 bytes at `p` hold no control character but HTAB, and no DEL.
bool field_value_block(const unsigned char* p) {
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const __m128i below_space = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1F)), v);
  const __m128i tab = _mm_cmpeq_epi8(v, _mm_set1_epi8('\t'));
  const __m128i del = _mm_cmpeq_epi8(v, _mm_set1_epi8(0x7F));
  return _mm_movemask_epi8(_mm_or_si128(_mm_andnot_si128(tab, below_space), del)) == 0;
}
}  // namespace
#endif

bool safe_field_value(std::string_view value) {
  const auto* p = reinterpret_cast<const unsigned char*>(value.data());
  const size_t n = value.size();
#if defined(__SSE2__)
  // 16 bytes at a time (a value may be a kilobyte-long token), the last block overlapping the
  // one before; a shorter value is checked in a block padded with a harmless byte.
  if (n < 16) {
    unsigned char block[16];
    std::memset(block, 'a', sizeof(block));
    if (n != 0) std::memcpy(block, p, n);
    return field_value_block(block);
  }
  for (size_t i = 0; i + 16 <= n; i += 16) {
    if (!field_value_block(p + i)) return false;
  }
  return n % 16 == 0 || field_value_block(p + n - 16);
#else
  for (size_t i = 0; i < n; ++i) {
    if ((p[i] < 0x20 && p[i] != '\t') || p[i] == 0x7F) return false;
  }
  return true;
#endif
}

std::optional<std::string_view> Headers::get(std::string_view name) const {
  for (const auto& [n, v] : *this) {
    if (iequals(n, name)) return std::string_view(v);
  }
  return std::nullopt;
}

size_t Headers::count(std::string_view name) const {
  return static_cast<size_t>(
      std::count_if(begin(), end(), [&](const Field& f) { return iequals(f.first, name); }));
}

void Headers::set(std::string_view name, std::string_view value) {
  remove(name);
  add(name, value);
}

void Headers::add(std::string_view name, std::string_view value) {
  if (used_ < fields_.size()) {
    fields_[used_].first.assign(name);
    fields_[used_].second.assign(value);
  } else {
    fields_.emplace_back(std::string(name), std::string(value));
  }
  ++used_;
}

void Headers::remove(std::string_view name) {
  remove_if([name](const Field& f) { return iequals(f.first, name); });
}

std::optional<std::string_view> Params::get(std::string_view name) const {
  for (const auto& [n, v] : params_) {
    if (n == name) return std::string_view(v);
  }
  return std::nullopt;
}

size_t Params::count(std::string_view name) const {
  return static_cast<size_t>(std::count_if(params_.begin(), params_.end(),
                                           [&](const Param& p) { return p.first == name; }));
}

std::optional<std::string_view> Params::first_duplicate() const {
  for (size_t i = 0; i < params_.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (params_[i].first == params_[j].first) return std::string_view(params_[i].first);
    }
  }
  return std::nullopt;
}

const char* to_string(DecodeError e) {
  switch (e) {
    case DecodeError::kBadPercentEscape:
      return "bad_percent_escape";
    case DecodeError::kInvalidUtf8:
      return "invalid_utf8";
    case DecodeError::kNulByte:
      return "nul_byte";
  }
  return "unknown";
}

Result<std::string, DecodeError> percent_decode(std::string_view in, bool plus_is_space) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return Err(DecodeError::kBadPercentEscape);
      int hi = hex_value(in[i + 1]);
      int lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return Err(DecodeError::kBadPercentEscape);
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  if (out.find('\0') != std::string::npos) return Err(DecodeError::kNulByte);
  if (!is_utf8(out)) return Err(DecodeError::kInvalidUtf8);
  return out;
}

Result<Params, DecodeError> parse_form(std::string_view body) {
  Params params;
  while (!body.empty()) {
    size_t amp = body.find('&');
    std::string_view pair = body.substr(0, amp);
    body = amp == std::string_view::npos ? std::string_view() : body.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string_view name = pair.substr(0, eq);
    std::string_view value =
        eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    auto n = percent_decode(name, true);
    if (!n) return Err(n.error());
    auto v = percent_decode(value, true);
    if (!v) return Err(v.error());
    params.add(std::move(*n), std::move(*v));
  }
  return params;
}

std::string ClientCertificate::sha256_thumbprint() const {
  return base64url::encode(crypto::sha256(der));
}

void Request::set_target(std::string_view target) {
  target_.assign(target);
  std::string_view t = target_;
  size_t q = t.find('?');
  path_ = t.substr(0, q);
  raw_query_ = q == std::string_view::npos ? std::string_view() : t.substr(q + 1);
  query_.reset();
  query_error_.reset();
}

const Params& Request::query() const {
  if (!query_) {
    auto parsed = parse_form(raw_query_);
    if (parsed) {
      query_ = std::move(*parsed);
    } else {
      query_error_ = parsed.error();
      query_.emplace();
    }
  }
  return *query_;
}

std::optional<DecodeError> Request::query_error() const {
  query();
  return query_error_;
}

std::optional<std::string_view> Request::param(std::string_view name) const {
  for (const auto& [n, v] : params_) {
    if (n == name) return std::string_view(v);
  }
  return std::nullopt;
}

void Request::reset() {
  method_.clear();
  target_.clear();
  path_ = {};
  raw_query_ = {};
  headers_.clear();
  body_.clear();
  params_.clear();
  route_ = {};
  request_id_.clear();
  query_.reset();
  query_error_.reset();
}

Response Response::json(int status, const json::Json& body) {
  Response r(status);
  r.body = body.dump();
  r.headers.add("Content-Type", "application/json");
  return r;
}

Response Response::error(int status, std::string_view code, std::string_view description) {
  json::Json j = {{"error", code}};
  if (!description.empty()) j["error_description"] = description;
  Response r = json(status, j);
  // RFC 6749 §5.2: error responses must not be cached.
  r.headers.add("Cache-Control", "no-store");
  return r;
}

Response Response::text(int status, std::string body, std::string_view content_type) {
  Response r(status);
  r.body = std::move(body);
  r.headers.add("Content-Type", content_type);
  return r;
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 101:
      return "Switching Protocols";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 206:
      return "Partial Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 406:
      return "Not Acceptable";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 411:
      return "Length Required";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 417:
      return "Expectation Failed";
    case 421:
      return "Misdirected Request";
    case 422:
      return "Unprocessable Content";
    case 428:
      return "Precondition Required";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "";
  }
}

bool valid_authority(std::string_view authority) {
  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    host = authority.substr(1, close - 1);
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':') return false;
    port = after.empty() ? after : after.substr(1);
    if (!std::all_of(host.begin(), host.end(), [](char c) {
          return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
                 c == ':' || c == '.';
        })) {
      return false;
    }
  } else {
    const size_t colon = authority.rfind(':');
    if (colon != std::string_view::npos) {
      host = authority.substr(0, colon);
      port = authority.substr(colon + 1);
    }
    static constexpr std::string_view kOther = "-._~%!$&'()*+,;=";
    if (host.empty() || !std::all_of(host.begin(), host.end(), [](char c) {
          return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                 kOther.find(c) != std::string_view::npos;
        })) {
      return false;
    }
  }
  return std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::optional<AbsoluteTarget> parse_absolute_target(std::string_view target) {
  const size_t sep = target.find("://");
  if (sep == std::string_view::npos) return std::nullopt;
  AbsoluteTarget out;
  const std::string_view scheme = target.substr(0, sep);
  if (iequals(scheme, "https")) {
    out.secure = true;
  } else if (!iequals(scheme, "http")) {
    return std::nullopt;
  }
  std::string_view rest = target.substr(sep + 3);
  if (rest.find('#') != std::string_view::npos) return std::nullopt;
  const size_t end = rest.find_first_of("/?");
  const std::string_view authority = rest.substr(0, end);
  if (!valid_authority(authority)) return std::nullopt;
  out.authority.assign(authority);
  rest.remove_prefix(authority.size());
  out.bare = rest.empty();
  if (rest.empty() || rest.front() == '?') out.origin_form = "/";
  out.origin_form += rest;
  return out;
}

namespace {
// RFC 9110 §5.6.2 tchar, as a table: every field name of every request is checked.
constexpr std::array<bool, 256> kTchar = [] {
  std::array<bool, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[static_cast<size_t>(c)] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[static_cast<size_t>(c)] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t[static_cast<size_t>(c)] = true;
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<unsigned char>(c)] = true;
  return t;
}();
}  // namespace

// RFC 9110 §5.6.2 token.
bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!kTchar[static_cast<unsigned char>(c)]) return false;
  }
  return true;
}

std::string_view trim_ows(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace tessera::http
