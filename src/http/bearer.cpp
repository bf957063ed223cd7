#include "http/bearer.h"

#include <array>

namespace tessera::http {
namespace {

// RFC 6750 §3: error, error_description and scope values are %x20-21 / %x23-5B / %x5D-7E.
bool allowed_in_challenge(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u >= 0x20 && u <= 0x7E && c != '"' && c != '\\';
}

// RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
// RFC 6750 §2.1 b64token characters (before the trailing '='s), as a table: a token is checked
// on every request and is often a kilobyte long.
constexpr std::array<bool, 256> kB64TokenChar = [] {
  std::array<bool, 256> t{};
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[c] = true;
  for (int c = '0'; c <= '9'; ++c) t[c] = true;
  for (char c : std::string_view("-._~+/")) t[static_cast<unsigned char>(c)] = true;
  return t;
}();

bool is_b64token(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && kB64TokenChar[static_cast<unsigned char>(s[i])]) ++i;
  if (i == 0) return false;
  while (i < s.size() && s[i] == '=') ++i;
  return i == s.size();
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
