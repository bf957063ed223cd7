#include "fga/tuple_index.h"

#include <charconv>
#include <shared_mutex>
#include <utility>
#include <vector>

#include "fga/memory_reader.h"

namespace tessera::fga {

struct TupleIndex::Replica {
  std::shared_mutex mutex;   // shared by the readers of a revision, unique while it changes
  MemoryTupleReader tuples;  // guarded by mutex
  std::atomic<int64_t> revision{-1};   // -1 until built; changed with mutex held uniquely
  std::atomic<bool> writing{false};    // the worker waits to change it: readers step aside
  std::atomic<bool> too_large{false};  // does not fit (or cannot be scanned): never built
  size_t size = 0;                     // counted in TupleIndex::tuples_ (guarded by its mutex_)
  size_t built_bytes = 0;              // memory_bytes() when last built (worker only)
};

// The replica at one revision, held (shared) for the reader's life.
class TupleIndex::ReplicaReader final : public TupleReader {
 public:
  ReplicaReader(std::shared_ptr<Replica> replica, std::shared_lock<std::shared_mutex> lock,
                std::string revision)
      : replica_(std::move(replica)), lock_(std::move(lock)), revision_(std::move(revision)) {}

  Result<std::vector<TupleKey>, Error> read(std::string_view object,
                                            std::string_view relation) override {
    return replica_->tuples.read(object, relation);
  }
  Result<std::optional<TupleKey>, Error> read_user_tuple(std::string_view object,
                                                         std::string_view relation,
                                                         std::string_view user) override {
    return replica_->tuples.read_user_tuple(object, relation, user);
  }
  Result<std::vector<TupleKey>, Error> read_userset_tuples(std::string_view object,
                                                           std::string_view relation) override {
    return replica_->tuples.read_userset_tuples(object, relation);
  }
  Result<std::vector<TupleKey>, Error> read_starting_with_user(
      std::string_view object_type, std::string_view relation,
      const std::vector<std::string>& users) override {
    return replica_->tuples.read_starting_with_user(object_type, relation, users);
  }
  Result<std::optional<std::string>, Error> revision() override {
    return std::optional<std::string>(revision_);
  }
  // Requests already read one replica from many threads under the shared lock.
  bool concurrent_reads() const override { return true; }

 private:
  std::shared_ptr<Replica> replica_;          // declared first: outlives the lock
  std::shared_lock<std::shared_mutex> lock_;  // released first
  std::string revision_;
};

namespace {

std::optional<int64_t> parse_revision(std::string_view text) {
  int64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value < 0) return std::nullopt;
  return value;
}

}  // namespace

TupleIndex::TupleIndex(size_t max_tuples, Open open)
    : max_tuples_(max_tuples), open_(std::move(open)) {
  worker_ = std::thread([this] { run(); });
}

TupleIndex::~TupleIndex() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  stopping_ = true;
  wake_.notify_all();
  worker_.join();
}

std::unique_ptr<TupleReader> TupleIndex::reader(const std::string& store_id,
                                                std::string_view revision) {
  auto wanted = parse_revision(revision);
  if (!wanted) return nullptr;
  std::shared_ptr<Replica> replica;
  {
    std::lock_guard lock(mutex_);
    auto it = replicas_.find(store_id);
    if (it == replicas_.end()) {
      replicas_.emplace(store_id, std::make_shared<Replica>());
      enqueue(store_id);
      misses_.fetch_add(1, std::memory_order_relaxed);
      return nullptr;
    }
    replica = it->second;
  }
  if (!replica->too_large && !replica->writing) {
    std::shared_lock lock(replica->mutex);
    const int64_t held = replica->revision;
    if (held == *wanted) {
      hits_.fetch_add(1, std::memory_order_relaxed);
      return std::make_unique<ReplicaReader>(std::move(replica), std::move(lock),
                                             std::string(revision));
    }
    lock.unlock();
    if (held < *wanted) {
      std::lock_guard guard(mutex_);
      enqueue(store_id);
    }
  }
  misses_.fetch_add(1, std::memory_order_relaxed);
  return nullptr;
}

void TupleIndex::forget(const std::string& store_id) {
  std::lock_guard lock(mutex_);
  auto it = replicas_.find(store_id);
  if (it == replicas_.end()) return;
  tuples_ -= it->second->size;
  replicas_.erase(it);
}

void TupleIndex::enqueue(const std::string& store_id) {
  if (!queued_.insert(store_id).second) return;
  queue_.push_back(store_id);
  wake_.notify_one();
}

void TupleIndex::wait_idle() {
  std::unique_lock lock(mutex_);
  idle_.wait(lock, [&] { return (queue_.empty() && !busy_) || stop_; });
}

TupleIndex::Stats TupleIndex::stats() const {
  Stats out;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [id, replica] : replicas_) {
      if (replica->revision >= 0) ++out.stores;
    }
    out.tuples = tuples_;
  }
  out.hits = hits_.load(std::memory_order_relaxed);
  out.misses = misses_.load(std::memory_order_relaxed);
  out.builds = builds_.load(std::memory_order_relaxed);
  out.catch_ups = catch_ups_.load(std::memory_order_relaxed);
  return out;
}

void TupleIndex::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (stop_) {
      idle_.notify_all();
      return;
    }
    std::string store_id = std::move(queue_.front());
    queue_.pop_front();
    queued_.erase(store_id);
    busy_ = true;
    lock.unlock();
    refresh(store_id);
    lock.lock();
    busy_ = false;
    if (queue_.empty()) idle_.notify_all();
  }
}

void TupleIndex::refresh(const std::string& store_id) {
  std::shared_ptr<Replica> replica;
  {
    std::lock_guard lock(mutex_);
    auto it = replicas_.find(store_id);
    if (it == replicas_.end()) return;
    replica = it->second;
  }
  if (replica->too_large) return;
  auto store = open_(store_id);
  if (!store) return;  // the database is unavailable: a later request asks again
  auto text = (*store)->revision();
  if (!text) {
    if (text.error().code == ErrorCode::store_id_not_found) forget(store_id);
    return;
  }
  auto revision = *text ? parse_revision(**text) : std::nullopt;
  if (!revision) {
    replica->too_large = true;  // a reader without revisions cannot be followed
    return;
  }
  const int64_t held = replica->revision;
  if (held >= *revision) return;
  if (held < 0) {
    rebuild(store_id, *replica, **store, *revision);
    return;
  }
  auto changes = (*store)->changes_after(held, kMaxCatchUp);
  if (!changes) return;
  if (!*changes) {
    rebuild(store_id, *replica, **store, *revision);
    return;
  }
  // Writes may grow the set past the bound: a rebuild then finds whether it still fits.
  size_t writes = 0;
  for (const TupleChange& change : **changes) writes += change.deleted ? 0 : 1;
  bool over = false;
  {
    std::lock_guard lock(mutex_);
    over = tuples_ + writes > max_tuples_;
  }
  if (over) {
    rebuild(store_id, *replica, **store, *revision);
    return;
  }
  replica->writing = true;
  {
    std::unique_lock lock(replica->mutex);
    for (TupleChange& change : **changes) {
      if (change.deleted) {
        replica->tuples.remove(change.key.object, change.key.relation, change.key.user);
      } else {
        replica->tuples.write(std::move(change.key));
      }
    }
    replica->revision = *revision;
  }
  replica->writing = false;
  {
    std::lock_guard lock(mutex_);
    account(store_id, *replica);
  }
  // The string pool only grows (MemoryTupleReader): once churn has doubled the set's memory
  // since it was built, build it afresh, from this same snapshot.
  if (replica->tuples.memory_bytes() > 2 * replica->built_bytes + (size_t{1} << 20)) {
    rebuild(store_id, *replica, **store, *revision);
  }
  catch_ups_.fetch_add(1, std::memory_order_relaxed);
}

void TupleIndex::account(const std::string& store_id, Replica& replica) {
  auto it = replicas_.find(store_id);
  if (it == replicas_.end() || it->second.get() != &replica) return;
  tuples_ = tuples_ - replica.size + replica.tuples.size();
  replica.size = replica.tuples.size();
}

bool TupleIndex::rebuild(const std::string& store_id, Replica& replica, TupleReader& store,
                         int64_t revision) {
  size_t budget = 0;
  {
    std::lock_guard lock(mutex_);
    auto it = replicas_.find(store_id);
    if (it == replicas_.end() || it->second.get() != &replica) return false;  // forgotten
    const size_t others = tuples_ - replica.size;
    budget = max_tuples_ > others ? max_tuples_ - others : 0;
  }
  MemoryTupleReader fresh;
  bool fits = true;
  auto scanned = store.scan([&](TupleKey key) {
    if (fresh.size() >= budget || stopping_) {
      fits = false;
      return false;
    }
    fresh.write(std::move(key));
    return true;
  });
  if (!scanned) return false;  // the database is unavailable: a later request asks again
  if (!*scanned || !fits) {
    replica.too_large = true;
    fresh = MemoryTupleReader();
  }
  MemoryTupleReader old;  // freed after the lock is released
  replica.writing = true;
  {
    std::unique_lock lock(replica.mutex);
    old = std::move(replica.tuples);
    replica.tuples = std::move(fresh);
    replica.revision = replica.too_large ? -1 : revision;
  }
  replica.writing = false;
  replica.built_bytes = replica.tuples.memory_bytes();
  {
    std::lock_guard lock(mutex_);
    account(store_id, replica);
  }
  if (replica.too_large) return false;
  builds_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

}  // namespace tessera::fga
