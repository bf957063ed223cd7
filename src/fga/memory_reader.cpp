#include "fga/memory_reader.h"

#include <functional>
#include <utility>

namespace tessera::fga {

namespace {

// A 64-bit finaliser (splitmix64): ids are small consecutive integers, so they are mixed
// before they index a power-of-two table.
size_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30U)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27U)) * 0x94d049bb133111ebULL;
  return static_cast<size_t>(x ^ (x >> 31U));
}

size_t mix3(uint32_t a, uint32_t b, uint32_t c) { return mix((uint64_t{a} << 32U | b) ^ mix(c)); }

// A userset (`type:id#relation`) or a typed wildcard (`type:*`): on the userset list.
bool userset_or_wildcard(std::string_view user) {
  return user.find('#') != std::string_view::npos ||
         (user.size() >= 2 && user.substr(user.size() - 2) == ":*");
}

}  // namespace

MemoryTupleReader::MemoryTupleReader(const std::vector<TupleKey>& tuples) {
  for (const TupleKey& t : tuples) write(t);
}

// --- strings ------------------------------------------------------------------------------

std::string_view MemoryTupleReader::str(uint32_t id) const {
  const Span& s = spans_[id];
  return std::string_view(chars_).substr(s.offset, s.size);
}

size_t MemoryTupleReader::string_hash(uint32_t id) const {
  return std::hash<std::string_view>{}(str(id));
}

uint32_t MemoryTupleReader::find_string(std::string_view s) const {
  const size_t entry =
      strings_.find(std::hash<std::string_view>{}(s), [&](uint32_t id) { return str(id) == s; });
  return entry == detail::IdTable::npos ? kNone : strings_.at(entry);
}

uint32_t MemoryTupleReader::intern(std::string_view s) {
  const uint32_t found = find_string(s);
  if (found != kNone) return found;
  const auto id = static_cast<uint32_t>(spans_.size());
  spans_.push_back(Span{chars_.size(), static_cast<uint32_t>(s.size())});
  chars_.append(s);
  strings_.insert(id, std::hash<std::string_view>{}(s),
                  [this](uint32_t other) { return string_hash(other); });
  return id;
}

// --- keys ---------------------------------------------------------------------------------

MemoryTupleReader::ListKey MemoryTupleReader::list_key(List list, uint32_t slot) const {
  const Slot& s = slots_[slot];
  if (list == kByUser) return ListKey{s.object_type, s.relation, s.user};
  return ListKey{s.object, s.relation, kNone};
}

size_t MemoryTupleReader::key_hash(const ListKey& key) { return mix3(key.a, key.b, key.c); }

size_t MemoryTupleReader::identity_hash(uint32_t slot) const {
  const Slot& s = slots_[slot];
  return mix3(s.object, s.relation, s.user);
}

uint32_t MemoryTupleReader::find_slot(uint32_t object, uint32_t relation, uint32_t user) const {
  const size_t entry = identity_.find(mix3(object, relation, user), [&](uint32_t slot) {
    const Slot& s = slots_[slot];
    return s.object == object && s.relation == relation && s.user == user;
  });
  return entry == detail::IdTable::npos ? kNone : identity_.at(entry);
}

size_t MemoryTupleReader::find_head_entry(List list, const ListKey& key) const {
  return heads_[list].find(key_hash(key), [&](uint32_t slot) {
    const ListKey k = list_key(list, slot);
    return k.a == key.a && k.b == key.b && k.c == key.c;
  });
}

// --- lists --------------------------------------------------------------------------------

void MemoryTupleReader::link(List list, uint32_t slot) {
  const ListKey key = list_key(list, slot);
  const size_t entry = find_head_entry(list, key);
  Slot& s = slots_[slot];
  s.next[list] = kNone;
  if (entry == detail::IdTable::npos) {
    s.prev[list] = slot;  // a list of one: the head is its own tail
    heads_[list].insert(slot, key_hash(key),
                        [this, list](uint32_t other) { return key_hash(list_key(list, other)); });
    return;
  }
  const uint32_t head = heads_[list].at(entry);
  const uint32_t tail = slots_[head].prev[list];
  slots_[tail].next[list] = slot;
  s.prev[list] = tail;
  slots_[head].prev[list] = slot;
}

void MemoryTupleReader::unlink(List list, uint32_t slot) {
  const Slot& s = slots_[slot];
  const uint32_t prev = s.prev[list];
  const uint32_t next = s.next[list];
  const bool is_head = slots_[prev].next[list] != slot;
  if (is_head) {
    const size_t entry = find_head_entry(list, list_key(list, slot));
    if (next == kNone) {
      heads_[list].erase(entry,
                         [this, list](uint32_t other) { return key_hash(list_key(list, other)); });
    } else {
      slots_[next].prev[list] = prev;  // the tail
      heads_[list].replace(entry, next);
    }
    return;
  }
  slots_[prev].next[list] = next;
  if (next != kNone) {
    slots_[next].prev[list] = prev;
  } else {
    // The tail leaves: the head's prev names the new tail.
    const size_t entry = find_head_entry(list, list_key(list, slot));
    slots_[heads_[list].at(entry)].prev[list] = prev;
  }
}

TupleKey MemoryTupleReader::materialize(uint32_t slot) const {
  const Slot& s = slots_[slot];
  TupleKey t;
  t.object = str(s.object);
  t.relation = str(s.relation);
  t.user = str(s.user);
  if (s.condition != kNone) t.condition = str(s.condition);
  if (auto context = contexts_.find(slot); context != contexts_.end()) t.context = context->second;
  return t;
}

void MemoryTupleReader::collect(List list, const ListKey& key, std::vector<TupleKey>& out) const {
  const size_t entry = find_head_entry(list, key);
  if (entry == detail::IdTable::npos) return;
  for (uint32_t slot = heads_[list].at(entry); slot != kNone; slot = slots_[slot].next[list]) {
    out.push_back(materialize(slot));
  }
}

// --- writes -------------------------------------------------------------------------------

void MemoryTupleReader::write(TupleKey tuple) {
  const uint32_t object = intern(tuple.object);
  const uint32_t relation = intern(tuple.relation);
  const uint32_t user = intern(tuple.user);
  const uint32_t condition = tuple.condition.empty() ? kNone : intern(tuple.condition);
  uint32_t slot = find_slot(object, relation, user);
  if (slot == kNone) {
    const std::string_view object_text = tuple.object;
    const uint32_t object_type = intern(object_text.substr(0, object_text.find(':')));
    if (free_.empty()) {
      slot = static_cast<uint32_t>(slots_.size());
      slots_.emplace_back();
    } else {
      slot = free_.back();
      free_.pop_back();
    }
    Slot& s = slots_[slot];
    s = Slot{};
    s.object = object;
    s.relation = relation;
    s.user = user;
    s.object_type = object_type;
    link(kByObject, slot);
    link(kByUser, slot);
    if (userset_or_wildcard(tuple.user)) link(kUsersets, slot);
    identity_.insert(slot, identity_hash(slot),
                     [this](uint32_t other) { return identity_hash(other); });
    ++live_;
  }
  slots_[slot].condition = condition;
  if (tuple.context.is_null()) {
    contexts_.erase(slot);
  } else {
    contexts_[slot] = std::move(tuple.context);
  }
}

bool MemoryTupleReader::remove(std::string_view object, std::string_view relation,
                               std::string_view user) {
  const uint32_t o = find_string(object);
  const uint32_t r = find_string(relation);
  const uint32_t u = find_string(user);
  if (o == kNone || r == kNone || u == kNone) return false;
  const size_t entry = identity_.find(mix3(o, r, u), [&](uint32_t slot) {
    const Slot& s = slots_[slot];
    return s.object == o && s.relation == r && s.user == u;
  });
  if (entry == detail::IdTable::npos) return false;
  const uint32_t slot = identity_.at(entry);
  identity_.erase(entry, [this](uint32_t other) { return identity_hash(other); });
  unlink(kByObject, slot);
  unlink(kByUser, slot);
  if (userset_or_wildcard(user)) unlink(kUsersets, slot);
  contexts_.erase(slot);
  slots_[slot] = Slot{};
  free_.push_back(slot);
  --live_;
  return true;
}

size_t MemoryTupleReader::memory_bytes() const {
  size_t bytes = chars_.capacity() + spans_.capacity() * sizeof(Span) + strings_.memory_bytes() +
                 slots_.capacity() * sizeof(Slot) + free_.capacity() * sizeof(uint32_t) +
                 identity_.memory_bytes();
  for (const detail::IdTable& heads : heads_) bytes += heads.memory_bytes();
  return bytes;
}

// --- reads --------------------------------------------------------------------------------

Result<std::vector<TupleKey>, Error> MemoryTupleReader::read(std::string_view object,
                                                             std::string_view relation) {
  std::vector<TupleKey> out;
  const uint32_t o = find_string(object);
  const uint32_t r = find_string(relation);
  if (o != kNone && r != kNone) collect(kByObject, ListKey{o, r, kNone}, out);
  return out;
}

Result<std::optional<TupleKey>, Error> MemoryTupleReader::read_user_tuple(std::string_view object,
                                                                          std::string_view relation,
                                                                          std::string_view user) {
  const uint32_t o = find_string(object);
  const uint32_t r = find_string(relation);
  const uint32_t u = find_string(user);
  if (o == kNone || r == kNone || u == kNone) return std::optional<TupleKey>{};
  const uint32_t slot = find_slot(o, r, u);
  if (slot == kNone) return std::optional<TupleKey>{};
  return std::optional<TupleKey>{materialize(slot)};
}

Result<std::vector<TupleKey>, Error> MemoryTupleReader::read_userset_tuples(
    std::string_view object, std::string_view relation) {
  std::vector<TupleKey> out;
  const uint32_t o = find_string(object);
  const uint32_t r = find_string(relation);
  if (o != kNone && r != kNone) collect(kUsersets, ListKey{o, r, kNone}, out);
  return out;
}

Result<std::vector<TupleKey>, Error> MemoryTupleReader::read_starting_with_user(
    std::string_view object_type, std::string_view relation,
    const std::vector<std::string>& users) {
  std::vector<TupleKey> out;
  const uint32_t t = find_string(object_type);
  const uint32_t r = find_string(relation);
  if (t == kNone || r == kNone) return out;
  for (const std::string& user : users) {
    const uint32_t u = find_string(user);
    if (u != kNone) collect(kByUser, ListKey{t, r, u}, out);
  }
  return out;
}

// --- combined -----------------------------------------------------------------------------

namespace {

Result<std::vector<TupleKey>, Error> concat(Result<std::vector<TupleKey>, Error> contextual,
                                            Result<std::vector<TupleKey>, Error> stored) {
  if (!contextual) return contextual;
  if (!stored) return stored;
  if (contextual->empty()) return stored;
  std::vector<TupleKey> out = std::move(contextual).value();
  for (TupleKey& t : stored.value()) out.push_back(std::move(t));
  return out;
}

}  // namespace

Result<std::vector<TupleKey>, Error> CombinedTupleReader::read(std::string_view object,
                                                               std::string_view relation) {
  auto contextual = contextual_.read(object, relation);
  if (!contextual) return contextual;
  return concat(std::move(contextual), store_.read(object, relation));
}

Result<std::optional<TupleKey>, Error> CombinedTupleReader::read_user_tuple(
    std::string_view object, std::string_view relation, std::string_view user) {
  // A contextual tuple with the same key shadows the stored one (it is read first).
  auto contextual = contextual_.read_user_tuple(object, relation, user);
  if (!contextual || contextual->has_value()) return contextual;
  return store_.read_user_tuple(object, relation, user);
}

Result<std::vector<TupleKey>, Error> CombinedTupleReader::read_userset_tuples(
    std::string_view object, std::string_view relation) {
  auto contextual = contextual_.read_userset_tuples(object, relation);
  if (!contextual) return contextual;
  return concat(std::move(contextual), store_.read_userset_tuples(object, relation));
}

Result<std::vector<TupleKey>, Error> CombinedTupleReader::read_starting_with_user(
    std::string_view object_type, std::string_view relation,
    const std::vector<std::string>& users) {
  auto contextual = contextual_.read_starting_with_user(object_type, relation, users);
  if (!contextual) return contextual;
  return concat(std::move(contextual),
                store_.read_starting_with_user(object_type, relation, users));
}

}  // namespace tessera::fga
