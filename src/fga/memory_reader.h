// Tuple readers that live in memory: a compact tuple set indexed for every query path
// (contextual tuples, tests, the conformance runner, the benchmark), and a reader that answers
// from a store and a request's contextual tuples together, as OpenFGA's combined tuple reader
// does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "fga/tuple.h"

namespace tessera::fga {

namespace detail {

// An open-addressing (linear probing, backward-shift deletion) table of 32-bit ids whose keys
// live elsewhere: the caller supplies the hash of a key and an equality test against an id, and
// a function giving the hash of any stored id (to rehash on growth and shift on deletion).
// Eight bytes per entry (the id and 32 bits of its hash) at a load factor of at most one half.
// Hashes must be 64-bit.
class IdTable {
 public:
  static constexpr uint32_t kEmpty = UINT32_MAX;
  static constexpr size_t npos = SIZE_MAX;

  template <class Eq>
  size_t find(size_t hash, Eq&& eq) const {
    if (entries_.empty()) return npos;
    const size_t mask = entries_.size() - 1;
    const uint32_t want = tag(hash);
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
      const Entry& e = entries_[i];
      if (e.id == kEmpty) return npos;
      // The tag (high hash bits) spares most mismatches a look at the key.
      if (e.tag == want && eq(e.id)) return i;
    }
  }
  uint32_t at(size_t entry) const { return entries_[entry].id; }
  // Replaces the id at `entry` with one of the same key (same hash).
  void replace(size_t entry, uint32_t id) { entries_[entry].id = id; }

  // `id` must not be present.
  template <class HashOf>
  void insert(uint32_t id, size_t hash, HashOf&& hash_of) {
    if ((count_ + 1) * 2 > entries_.size()) grow(hash_of);
    place(id, hash);
    ++count_;
  }

  template <class HashOf>
  void erase(size_t entry, HashOf&& hash_of) {
    const size_t mask = entries_.size() - 1;
    size_t hole = entry;
    for (size_t j = (entry + 1) & mask; entries_[j].id != kEmpty; j = (j + 1) & mask) {
      const size_t home = hash_of(entries_[j].id) & mask;
      // The entry at j may fill the hole when the hole lies between its home and j.
      if (((j - home) & mask) >= ((j - hole) & mask)) {
        entries_[hole] = entries_[j];
        hole = j;
      }
    }
    entries_[hole] = Entry{};
    --count_;
  }

  size_t size() const { return count_; }
  size_t memory_bytes() const { return entries_.capacity() * sizeof(Entry); }

 private:
  struct Entry {
    uint32_t id = kEmpty;
    uint32_t tag = 0;
  };
  static uint32_t tag(size_t hash) { return static_cast<uint32_t>(hash >> 32U); }
  void place(uint32_t id, size_t hash) {
    const size_t mask = entries_.size() - 1;
    size_t i = hash & mask;
    while (entries_[i].id != kEmpty) i = (i + 1) & mask;
    entries_[i] = Entry{id, tag(hash)};
  }
  template <class HashOf>
  void grow(HashOf&& hash_of) {
    std::vector<Entry> old = std::move(entries_);
    entries_.assign(old.empty() ? 16 : old.size() * 2, Entry{});
    for (const Entry& e : old) {
      if (e.id != kEmpty) place(e.id, hash_of(e.id));
    }
  }

  std::vector<Entry> entries_;  // a power of two in size, or empty
  size_t count_ = 0;
};

}  // namespace detail

// An in-memory tuple set. Writing the same `object#relation@user` twice keeps one tuple (the
// last condition wins), as a store keyed by the tuple would. Not thread-safe for writes;
// concurrent reads of an unchanging set are safe.
//
// Compact by construction (one million tuples take about 100 MB): every string (object,
// relation, user, condition, object type) is interned once in a character pool; a tuple is a
// 44-byte record of string ids and list links; the indexes are open-addressing tables of
// 32-bit ids (with hash tags). Each tuple is on three doubly linked lists (its object#relation, its
// object type#relation@user, and for userset and wildcard users the object#relation's userset list)
// whose heads the tables find, plus an identity table for point lookups. Condition contexts,
// rare, sit in a side map. The string pool only grows: a removed tuple's names stay interned.
class MemoryTupleReader final : public TupleReader {
 public:
  MemoryTupleReader() = default;
  explicit MemoryTupleReader(const std::vector<TupleKey>& tuples);
  MemoryTupleReader(const MemoryTupleReader&) = delete;
  MemoryTupleReader& operator=(const MemoryTupleReader&) = delete;
  MemoryTupleReader(MemoryTupleReader&&) noexcept = default;
  MemoryTupleReader& operator=(MemoryTupleReader&&) noexcept = default;
  ~MemoryTupleReader() override = default;

  // Reads change nothing: many threads may read while no one writes.
  bool concurrent_reads() const override { return true; }

  void write(TupleKey tuple);
  // Removes `object#relation@user`; false when it was not there.
  bool remove(std::string_view object, std::string_view relation, std::string_view user);
  size_t size() const { return live_; }
  bool empty() const { return live_ == 0; }
  // Bytes allocated by the set's containers (capacities, contexts not counted).
  size_t memory_bytes() const;

  Result<std::vector<TupleKey>, Error> read(std::string_view object,
                                            std::string_view relation) override;
  Result<std::optional<TupleKey>, Error> read_user_tuple(std::string_view object,
                                                         std::string_view relation,
                                                         std::string_view user) override;
  Result<std::vector<TupleKey>, Error> read_userset_tuples(std::string_view object,
                                                           std::string_view relation) override;
  Result<std::vector<TupleKey>, Error> read_starting_with_user(
      std::string_view object_type, std::string_view relation,
      const std::vector<std::string>& users) override;

 private:
  static constexpr uint32_t kNone = UINT32_MAX;
  // The three lists a tuple is on.
  enum List : uint8_t { kByObject = 0, kByUser = 1, kUsersets = 2, kLists = 3 };

  struct Slot {
    uint32_t object = kNone;  // kNone marks a free slot
    uint32_t relation = kNone;
    uint32_t user = kNone;
    uint32_t object_type = kNone;
    uint32_t condition = kNone;  // kNone when unconditioned
    // next: toward the tail (kNone at the tail); prev: toward the head, and the head's prev
    // is the tail, so appending is O(1).
    uint32_t next[kLists] = {kNone, kNone, kNone};
    uint32_t prev[kLists] = {kNone, kNone, kNone};
  };
  struct Span {
    size_t offset = 0;
    uint32_t size = 0;
  };
  // A list's key, as string ids: (object, relation) or (object type, relation, user).
  struct ListKey {
    uint32_t a = kNone;
    uint32_t b = kNone;
    uint32_t c = kNone;
  };

  uint32_t intern(std::string_view s);
  uint32_t find_string(std::string_view s) const;  // kNone when never interned
  std::string_view str(uint32_t id) const;
  size_t string_hash(uint32_t id) const;

  ListKey list_key(List list, uint32_t slot) const;
  static size_t key_hash(const ListKey& key);
  size_t identity_hash(uint32_t slot) const;
  uint32_t find_slot(uint32_t object, uint32_t relation, uint32_t user) const;
  size_t find_head_entry(List list, const ListKey& key) const;
  void link(List list, uint32_t slot);
  void unlink(List list, uint32_t slot);
  void collect(List list, const ListKey& key, std::vector<TupleKey>& out) const;
  TupleKey materialize(uint32_t slot) const;

  std::string chars_;        // every interned string, back to back
  std::vector<Span> spans_;  // string id -> its characters
  detail::IdTable strings_;  // string ids by content

  std::vector<Slot> slots_;  // a freed slot is reused by the next write
  std::vector<uint32_t> free_;
  size_t live_ = 0;
  detail::IdTable identity_;                               // slots by object#relation@user
  detail::IdTable heads_[kLists];                          // list heads by list key
  std::unordered_map<uint32_t, nlohmann::json> contexts_;  // slot -> non-null context
};

// The store's tuples plus the request's contextual tuples (OpenFGA: contextual tuples are
// read as if they were stored, for this request only, and come first). Neither reader is owned.
class CombinedTupleReader final : public TupleReader {
 public:
  CombinedTupleReader(TupleReader& store, TupleReader& contextual)
      : store_(store), contextual_(contextual) {}

  Result<std::vector<TupleKey>, Error> read(std::string_view object,
                                            std::string_view relation) override;
  Result<std::optional<TupleKey>, Error> read_user_tuple(std::string_view object,
                                                         std::string_view relation,
                                                         std::string_view user) override;
  Result<std::vector<TupleKey>, Error> read_userset_tuples(std::string_view object,
                                                           std::string_view relation) override;
  Result<std::vector<TupleKey>, Error> read_starting_with_user(
      std::string_view object_type, std::string_view relation,
      const std::vector<std::string>& users) override;
  bool concurrent_reads() const override {
    return store_.concurrent_reads() && contextual_.concurrent_reads();
  }

 private:
  TupleReader& store_;
  TupleReader& contextual_;
};

}  // namespace tessera::fga
