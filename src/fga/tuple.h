// Relationship tuples (`object#relation@user`) and the interface the engine reads them through.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "fga/error.h"

namespace tessera::fga {

// `user` is `type:id` (an object), `type:*` (a wildcard) or `type:id#relation` (a userset).
struct TupleKey {
  std::string object;  // type:id
  std::string relation;
  std::string user;
  std::string condition;   // empty when unconditioned
  nlohmann::json context;  // the condition's stored context: null or an object

  bool operator==(const TupleKey&) const = default;
};

// One entry of a store's change log: a tuple written or deleted (a delete's key carries no
// condition).
struct TupleChange {
  TupleKey key;
  bool deleted = false;
};

// The parts of an object or user string. A parse never allocates: the views point into the
// caller's string.
struct ParsedUser {
  std::string_view type;
  std::string_view id;        // "*" for a wildcard
  std::string_view relation;  // non-empty for a userset
  bool wildcard() const { return id == "*"; }
};
// `type:id`, `type:*` or `type:id#relation`; nullopt when malformed (no ':' or empty parts).
std::optional<ParsedUser> parse_user(std::string_view user);
// `type:id` without '#'; nullopt when malformed.
std::optional<ParsedUser> parse_object(std::string_view object);

// Read access to the tuples of one store, as seen at one point in time. Implemented by the
// SQL backends and by an in-memory set (contextual tuples, tests); the engine combines them.
// Every call may fail (a database error), which the engine reports as internal_error.
class TupleReader {
 public:
  virtual ~TupleReader() = default;

  // Every tuple `object#relation@*` (any user).
  virtual Result<std::vector<TupleKey>, Error> read(std::string_view object,
                                                    std::string_view relation) = 0;
  // The tuple `object#relation@user` (exact user string), if stored: a direct check's point
  // lookup, so that a group of 100,000 members costs one index probe, not a scan.
  virtual Result<std::optional<TupleKey>, Error> read_user_tuple(std::string_view object,
                                                                 std::string_view relation,
                                                                 std::string_view user) = 0;
  // The tuples on `object#relation` whose user is a userset (`type:id#relation`) or a wildcard
  // (`type:*`): what a direct check must expand besides the point lookup.
  virtual Result<std::vector<TupleKey>, Error> read_userset_tuples(std::string_view object,
                                                                   std::string_view relation) = 0;
  // Tuples of objects of `object_type` with `relation` whose user is one of `users` (exact
  // strings: `user:anne`, `user:*`, `group:eng#member`). The reverse lookup ListObjects needs.
  virtual Result<std::vector<TupleKey>, Error> read_starting_with_user(
      std::string_view object_type, std::string_view relation,
      const std::vector<std::string>& users) = 0;
  // Names the state of the tuples this reader sees: two readers of one store that give the same
  // revision see exactly the same tuples, so what one read may be answered to the other (the
  // tuple cache, src/fga/tuple_cache.h). nullopt: not known (nothing is cached).
  virtual Result<std::optional<std::string>, Error> revision() {
    return std::optional<std::string>();
  }
  // For replicas kept in step with a store (fga/tuple_index.h), both as of this reader's
  // snapshot. scan: every tuple of the store, handed to `each` until it returns false; false
  // when this reader cannot scan (the default). changes_after: the changes made after
  // `revision` up to this snapshot's, in the order they were made; nullopt when this reader
  // cannot tell (the default) or there are more than `max_changes`.
  // Whether the read methods above may be called from several threads at once (a check's
  // branches evaluated concurrently, src/fga/check.h). False unless a reader says so.
  virtual bool concurrent_reads() const { return false; }
  virtual Result<bool, Error> scan(const std::function<bool(TupleKey)>& each) {
    (void)each;
    return false;
  }
  virtual Result<std::optional<std::vector<TupleChange>>, Error> changes_after(int64_t revision,
                                                                               size_t max_changes) {
    (void)revision;
    (void)max_changes;
    return std::optional<std::vector<TupleChange>>();
  }
};

}  // namespace tessera::fga
