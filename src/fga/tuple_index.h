// In-memory replicas of stores' tuples, kept in step with each store through its change log, so
// a Check reads memory instead of running some twenty SQL point lookups (bench/fga/http_check.sh:
// about twice the checks per second). Like the tuple cache it wraps the store's reader and
// never lives inside the evaluator (STYLE.md), and it is exact, not time-based: a request is
// answered from a replica only when the replica holds the very revision the request's own SQL
// snapshot sees (TupleReader::revision()); otherwise the request reads SQL as before and the
// replica is brought up to that revision in the background. A write is therefore seen at once,
// on every node, and a replica never answers for a state of the store it does not hold.
//
// One worker thread builds a replica (a scan of the store in one snapshot) on a store's first
// request and applies the change log after it (TupleReader::changes_after); requests never wait
// for it. While it applies changes, new requests read SQL, so it cannot be starved by readers.
// Bounded: at most `max_tuples` tuples across all replicas (about 110 bytes each,
// MemoryTupleReader; condition contexts, rare, are not counted); a store that would not fit is
// read from SQL alone until the process restarts. A replica whose memory has doubled since it
// was built (its string pool only grows) is built afresh. Changes are applied as the change log
// records them: every node must run a release with migration 24 before one writes tuples (an
// older release's writes record no revision and would not reach the replicas). A deleted store
// loses its replica when this node deletes it or a request finds it gone.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>

#include "fga/tuple.h"

namespace tessera::fga {

// Unless configured: a store of two million tuples, or several smaller ones (about 220 MB).
inline constexpr size_t kDefaultTupleIndexMaxTuples = 2'000'000;

class TupleIndex {
 public:
  // A reader of the store's latest committed state, in a snapshot of its own.
  using Open = std::function<Result<std::unique_ptr<TupleReader>, Error>(const std::string&)>;

  // Applying more changes than this at once rebuilds the replica instead.
  static constexpr size_t kMaxCatchUp = 100'000;

  TupleIndex(size_t max_tuples, Open open);
  ~TupleIndex();  // stops and joins the worker
  TupleIndex(const TupleIndex&) = delete;
  TupleIndex& operator=(const TupleIndex&) = delete;

  // A reader of `store_id`'s replica when it holds exactly `revision` (the request's snapshot's,
  // as revision() gave it); it keeps the replica at that revision until it is destroyed, so keep
  // it for one request. Null otherwise: the caller reads the store, and the replica is built or
  // brought up to date in the background.
  std::unique_ptr<TupleReader> reader(const std::string& store_id, std::string_view revision);

  // Drops the store's replica (the store was deleted).
  void forget(const std::string& store_id);

  // Until the worker has nothing left to do (tests).
  void wait_idle();

  struct Stats {
    size_t stores = 0;    // replicas held
    size_t tuples = 0;    // tuples in them
    uint64_t hits = 0;    // readers handed out
    uint64_t misses = 0;  // requests sent to the store
    uint64_t builds = 0;
    uint64_t catch_ups = 0;
  };
  Stats stats() const;

 private:
  struct Replica;
  class ReplicaReader;

  void enqueue(const std::string& store_id);  // with mutex_ held
  void run();
  void refresh(const std::string& store_id);
  // Scans the store into a new set at the reader's revision; false when it does not fit.
  bool rebuild(const std::string& store_id, Replica& replica, TupleReader& store, int64_t revision);
  // Counts the replica's size in tuples_, if it is still the store's (forget() may have dropped
  // it meanwhile). With mutex_ held.
  void account(const std::string& store_id, Replica& replica);

  size_t max_tuples_;
  Open open_;
  mutable std::mutex mutex_;  // guards everything below but the counters
  std::condition_variable wake_;
  std::condition_variable idle_;
  std::map<std::string, std::shared_ptr<Replica>, std::less<>> replicas_;
  std::deque<std::string> queue_;
  std::set<std::string, std::less<>> queued_;
  size_t tuples_ = 0;  // across replicas
  bool busy_ = false;
  bool stop_ = false;
  std::atomic<bool> stopping_{false};  // stop_, read by a scan in progress
  std::atomic<uint64_t> hits_{0};
  std::atomic<uint64_t> misses_{0};
  std::atomic<uint64_t> builds_{0};
  std::atomic<uint64_t> catch_ups_{0};
  std::thread worker_;  // last: started once the rest is built
};

}  // namespace tessera::fga
