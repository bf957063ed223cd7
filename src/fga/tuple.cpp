#include "fga/tuple.h"

namespace tessera::fga {

std::optional<ParsedUser> parse_user(std::string_view user) {
  const size_t colon = user.find(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  ParsedUser p;
  p.type = user.substr(0, colon);
  std::string_view rest = user.substr(colon + 1);
  const size_t hash = rest.find('#');
  if (hash != std::string_view::npos) {
    p.relation = rest.substr(hash + 1);
    rest = rest.substr(0, hash);
    if (p.relation.empty() || p.relation.find_first_of(":#") != std::string_view::npos) {
      return std::nullopt;
    }
  }
  if (rest.empty() || rest.find(':') != std::string_view::npos) return std::nullopt;
  p.id = rest;
  // A wildcard names every user of a type; `type:*#relation` means nothing.
  if (p.wildcard() && !p.relation.empty()) return std::nullopt;
  if (p.type.find('#') != std::string_view::npos) return std::nullopt;
  return p;
}

std::optional<ParsedUser> parse_object(std::string_view object) {
  auto p = parse_user(object);
  if (!p || !p->relation.empty()) return std::nullopt;
  return p;
}

}  // namespace tessera::fga
