#include "tessera/principal.h"

#include <algorithm>

namespace tessera::resource {

bool Principal::has_scope(std::string_view scope) const {
  return std::find(scopes.begin(), scopes.end(), scope) != scopes.end();
}

bool Principal::has_all_scopes(const std::vector<std::string>& required) const {
  return std::all_of(required.begin(), required.end(),
                     [this](const std::string& s) { return has_scope(s); });
}

bool Principal::has_any_scope(const std::vector<std::string>& required) const {
  return std::any_of(required.begin(), required.end(),
                     [this](const std::string& s) { return has_scope(s); });
}

}  // namespace tessera::resource
