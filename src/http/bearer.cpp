#include "http/bearer.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace tessera::http {
namespace {

// RFC 6750 §3: error, error_description and scope values are %x20-21 / %x23-5B / %x5D-7E.
bool allowed_in_challenge(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u >= 0x20 && u <= 0x7E && c != '"' && c != '\\';
}

// RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
// Checked on every request, and a token is often a kilobyte long: 16 bytes at a time with SSE2
// (every x86-64 has it), byte by byte elsewhere and for the tail.
constexpr bool b64token_char(unsigned char c) {
  const auto lower = static_cast<unsigned char>(c | 0x20);
  return static_cast<unsigned char>(lower - 'a') < 26 ||  // ALPHA
         static_cast<unsigned char>(c - '-') < 13 ||      // "-" "." "/" DIGIT (0x2D-0x39)
         c == '+' || c == '_' || c == '~';
}

#if defined(__SSE2__)
// Whether the 16 bytes at `p` are all b64token characters.
bool b64token_block(const unsigned char* p) {
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  // x - lo <= span, unsigned: min(x - lo, span) == x - lo.
  auto within = [](__m128i x, char lo, char span) {
    const __m128i d = _mm_sub_epi8(x, _mm_set1_epi8(lo));
    return _mm_cmpeq_epi8(_mm_min_epu8(d, _mm_set1_epi8(span)), d);
  };
  const __m128i alpha = within(_mm_or_si128(v, _mm_set1_epi8(0x20)), 'a', 25);
  const __m128i digit_like = within(v, '-', 12);
  const __m128i other = _mm_or_si128(
      _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('+')), _mm_cmpeq_epi8(v, _mm_set1_epi8('_'))),
      _mm_cmpeq_epi8(v, _mm_set1_epi8('~')));
  const __m128i ok = _mm_or_si128(_mm_or_si128(alpha, digit_like), other);
  return _mm_movemask_epi8(ok) == 0xFFFF;
}
#endif

bool is_b64token(std::string_view s) {
  size_t end = s.size();
  while (end > 0 && s[end - 1] == '=') --end;
  if (end == 0) return false;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t i = 0;
#if defined(__SSE2__)
  for (; i + 16 <= end; i += 16) {
    if (!b64token_block(p + i)) return false;
  }
#endif
  for (; i < end; ++i) {
    if (!b64token_char(p[i])) return false;
  }
  return true;
}

constexpr std::string_view kBearerScheme = "Bearer";

}  // namespace

void append_challenge_param(std::string& out, std::string_view name, std::string_view value) {
  if (!out.empty() && out.back() == '"') out += ", ";
  out += name;
  out += "=\"";
  for (char c : value) {
    if (allowed_in_challenge(c)) out += c;
  }
  out += '"';
}

std::string bearer_challenge(std::string_view realm, std::optional<std::string_view> error,
                             std::optional<std::string_view> description,
                             std::optional<std::string_view> scope) {
  std::string params;
  append_challenge_param(params, "realm", realm);
  if (error) append_challenge_param(params, "error", *error);
  if (error && description && !description->empty()) {
    append_challenge_param(params, "error_description", *description);
  }
  if (scope) append_challenge_param(params, "scope", *scope);
  return std::string(kBearerScheme) + " " + params;
}

Response bearer_error(int status, std::string_view realm, std::optional<std::string_view> error,
                      std::optional<std::string_view> description,
                      std::optional<std::string_view> scope) {
  Response r = error ? Response::error(status, *error, description.value_or(""))
                     : Response::json(status, json::Json::object());
  r.headers.set("Cache-Control", "no-store");
  r.headers.set("WWW-Authenticate", bearer_challenge(realm, error, description, scope));
  return r;
}

Result<std::optional<std::string>, std::string> scheme_credential(std::string_view value,
                                                                  std::string_view scheme) {
  const size_t space = value.find(' ');
  // RFC 9110 §11.1: the scheme is case-insensitive.
  if (!iequals(value.substr(0, space), scheme)) return std::optional<std::string>();
  if (space == std::string_view::npos) return Err(std::string(scheme) + " credential missing");
  std::string_view credential = value.substr(space + 1);
  while (!credential.empty() && credential.front() == ' ') credential.remove_prefix(1);
  while (!credential.empty() && credential.back() == ' ') credential.remove_suffix(1);
  if (!is_b64token(credential)) {
    return Err(std::string(scheme) + " credential is not a b64token (RFC 6750 section 2.1)");
  }
  return std::optional<std::string>(std::string(credential));
}

Result<std::optional<std::string>, std::string> bearer_credential(std::string_view value) {
  return scheme_credential(value, kBearerScheme);
}

bool is_form_urlencoded(std::optional<std::string_view> content_type) {
  if (!content_type) return false;
  std::string_view media = content_type->substr(0, content_type->find(';'));
  while (!media.empty() && (media.back() == ' ' || media.back() == '\t')) media.remove_suffix(1);
  while (!media.empty() && (media.front() == ' ' || media.front() == '\t')) media.remove_prefix(1);
  return iequals(media, "application/x-www-form-urlencoded");
}

Result<std::optional<BearerToken>, std::string> extract_bearer_token(const Request& request,
                                                                     const BearerOptions& options) {
  // OAuth 2.1 §5.2 drops RFC 6750 §2.3: a token in the URI ends up in logs and Referer headers.
  if (!request.raw_query().empty() && request.query().contains("access_token")) {
    return Err(std::string("access_token in the query is not accepted"));
  }
  const size_t authorizations = request.headers().count("Authorization");
  if (authorizations > 1) return Err(std::string("repeated Authorization header"));

  std::optional<BearerToken> from_header;
  if (authorizations == 1) {
    auto credential = bearer_credential(*request.header("Authorization"));
    if (!credential) return Err(credential.error());
    if (*credential) {
      from_header = BearerToken{std::move(**credential), BearerSource::kAuthorizationHeader};
    }
  }

  std::optional<BearerToken> from_body;
  // RFC 6750 §2.2: only in a single-part form-encoded body of a method whose body has meaning;
  // "the GET method MUST NOT be used".
  if (options.accept_form_body && request.method() != "GET" && request.method() != "HEAD" &&
      is_form_urlencoded(request.header("Content-Type"))) {
    auto form = request.form();
    if (!form) {
      return Err(std::string("malformed form body: ") + to_string(form.error()));
    }
    const size_t count = form->count("access_token");
    if (count > 1) return Err(std::string("access_token repeated"));
    if (count == 1) {
      std::string_view value = *form->get("access_token");
      if (value.empty()) return Err(std::string("access_token is empty"));
      from_body = BearerToken{std::string(value), BearerSource::kFormBody};
    }
  }

  // RFC 6750 §2: "Clients MUST NOT use more than one method to transmit the token".
  if (from_header && from_body) {
    return Err(std::string("the access token is sent by more than one method"));
  }
  if (from_header) return std::optional<BearerToken>(std::move(from_header));
  return std::optional<BearerToken>(std::move(from_body));
}

}  // namespace tessera::http
