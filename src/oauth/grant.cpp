#include "oauth/grant.h"

namespace tessera::oauth {

void GrantRegistry::add(std::unique_ptr<Grant> grant) { grants_.push_back(std::move(grant)); }

const Grant* GrantRegistry::find(std::string_view grant_type) const {
  for (const auto& g : grants_) {
    if (g->grant_type() == grant_type) return g.get();
  }
  return nullptr;
}

std::vector<std::string> GrantRegistry::grant_types() const {
  std::vector<std::string> out;
  for (const auto& g : grants_) out.emplace_back(g->grant_type());
  return out;
}

GrantRegistry make_grant_registry(const GrantContext& context) {
  GrantRegistry registry;
  registry.add(make_client_credentials_grant(context));
  return registry;
}

}  // namespace tessera::oauth
