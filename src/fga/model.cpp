#include "fga/model.h"

namespace tessera::fga {

const Relation* TypeDefinition::relation(std::string_view relation_name) const {
  for (const Relation& r : relations) {
    if (r.name == relation_name) return &r;
  }
  return nullptr;
}

const TypeDefinition* Model::type(std::string_view type_name) const {
  for (const TypeDefinition& t : types) {
    if (t.name == type_name) return &t;
  }
  return nullptr;
}

const Relation* Model::relation(std::string_view type_name, std::string_view relation_name) const {
  const TypeDefinition* t = type(type_name);
  return t == nullptr ? nullptr : t->relation(relation_name);
}

}  // namespace tessera::fga
