// The FGA engine in process (issue 5, "Performance"): a GitHub-like model (organisations,
// teams with nested teams, repositories with a parent organisation, admin / maintainer /
// writer / reader) with one million tuples in a MemoryTupleReader. Prints:
//   - resident memory (VmRSS) before and after loading the tuples;
//   - Check latency p50 / p99 / max: cold (the first check of each key) and warm (the same
//     keys checked again);
//   - ListObjects returning 10,000 of 100,000 repositories (one page of 10,000).
// Figures only: no timed assertions. Usage: bench_fga [--tuples N] [--keys N] [--repeats N]
// [--reverse-fanout N] (defaults 1000000, 20000, 5, EngineOptions' default; 0 checks nested
// teams downwards only) [--export DIR [--export-only 1]] (also write DIR/model.fga,
// DIR/tuples.jsonl and DIR/checks.jsonl for bench/fga/http_check.sh); see run.sh.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "bench_args.h"
#include "fga/dsl.h"
#include "fga/engine.h"
#include "fga/memory_reader.h"

namespace {

using tessera::bench::arg;

using tessera::fga::CheckRequest;
using tessera::fga::Engine;
using tessera::fga::ListObjectsRequest;
using tessera::fga::MemoryTupleReader;
using tessera::fga::TupleKey;
using Clock = std::chrono::steady_clock;

// OpenFGA's GitHub sample model (openfga/sample-stores, github), without the triager role.
constexpr const char* kModel = R"(model
  schema 1.1
type user
type organization
  relations
    define owner: [user]
    define member: [user] or owner
    define repo_admin: [user, organization#member]
    define repo_writer: [user, organization#member]
    define repo_reader: [user, organization#member]
type team
  relations
    define maintainer: [user]
    define member: [user, team#member] or maintainer
type repository
  relations
    define owner: [organization]
    define admin: [user, team#member] or repo_admin from owner
    define maintainer: [user, team#member] or admin
    define writer: [user, team#member] or maintainer or repo_writer from owner
    define reader: [user, team#member] or writer or repo_reader from owner
)";

// The data set's shape. 100,000 repositories in 10 organisations of 10,000 each, so an
// organisation member reads exactly 10,000 of them.
constexpr int kOrganizations = 10;
constexpr int kRepositories = 100000;
constexpr int kUsers = 100000;
constexpr int kTeams = 10000;
constexpr int kTeamFanout = 10;  // team t's parent is t / 10: nesting four levels deep
constexpr const char* kRoles[] = {"admin", "maintainer", "writer", "reader"};

double rss_mb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtod(line.c_str() + 6, nullptr) / 1024.0;
  }
  return -1;
}

TupleKey tuple(std::string object, std::string relation, std::string user) {
  return TupleKey{std::move(object), std::move(relation), std::move(user), "", nullptr};
}

std::string repo(int i) { return "repository:" + std::to_string(i); }
std::string user(int i) { return "user:" + std::to_string(i); }
std::string team(int i) { return "team:" + std::to_string(i); }
std::string org(int i) { return "organization:" + std::to_string(i); }

// Writes `target` tuples: the fixed structure first, then random direct grants until the
// count is reached (a repeated random tuple is written once).
// With `--export DIR`, every tuple also goes to DIR/tuples.jsonl (OpenFGA TupleKey JSON, one per
// line) for the HTTP benchmark (bench/fga/http_check.sh) to load into a store.
std::ofstream* exported = nullptr;

void put(MemoryTupleReader& store, TupleKey key) {
  const size_t before = store.size();
  std::string line;
  if (exported != nullptr) {
    line = R"({"object":")" + key.object + R"(","relation":")" + key.relation + R"(","user":")" +
           key.user + "\"}\n";
  }
  store.write(std::move(key));
  // A repeated tuple is written once (the set keeps one), so it is exported once.
  if (exported != nullptr && store.size() > before) *exported << line;
}

void load(MemoryTupleReader& store, size_t target, std::mt19937& rng) {
  auto pick = [&](int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); };
  for (int r = 0; r < kRepositories; ++r) {
    put(store, tuple(repo(r), "owner", org(r / (kRepositories / kOrganizations))));
  }
  for (int o = 0; o < kOrganizations; ++o) {
    put(store, tuple(org(o), "owner", user(o)));
    put(store, tuple(org(o), "repo_reader", org(o) + "#member"));
  }
  for (int u = 0; u < kUsers / 2; ++u) {
    put(store, tuple(org(u % kOrganizations), "member", user(u)));
  }
  for (int t = kTeamFanout; t < kTeams; ++t) {
    put(store, tuple(team(t / kTeamFanout), "member", team(t) + "#member"));
  }
  for (int t = 0; t < kTeams; ++t) put(store, tuple(team(t), "maintainer", user(pick(kUsers))));
  for (int i = 0; i < 200000; ++i) {
    put(store, tuple(team(pick(kTeams)), "member", user(pick(kUsers))));
  }
  for (int r = 0; r < kRepositories; ++r) {
    for (int k = 0; k < 2; ++k) {
      put(store, tuple(repo(r), kRoles[pick(4)], team(pick(kTeams)) + "#member"));
    }
  }
  while (store.size() < target) {
    put(store, tuple(repo(pick(kRepositories)), kRoles[pick(4)], user(pick(kUsers))));
  }
}

struct Stats {
  double p50 = 0;
  double p99 = 0;
  double max = 0;
  double mean = 0;
};

Stats stats(std::vector<double> us) {
  std::sort(us.begin(), us.end());
  Stats s;
  if (us.empty()) return s;
  s.p50 = us[us.size() / 2];
  s.p99 = us[std::min(us.size() - 1, us.size() * 99 / 100)];
  s.max = us.back();
  double sum = 0;
  for (const double v : us) sum += v;
  s.mean = sum / static_cast<double>(us.size());
  return s;
}

void print_stats(const char* name, size_t n, const Stats& s) {
  std::printf(
      "fga: check %-5s %7zu checks: p50 %6.1f us  p99 %7.1f us  max %8.1f us  mean %6.1f us"
      "  (target p50 < 20 us, p99 < 200 us)\n",
      name, n, s.p50, s.p99, s.max, s.mean);
}

}  // namespace

int main(int argc, char** argv) {
  const auto tuples = static_cast<size_t>(arg(argc, argv, "--tuples", 1000000));
  const auto keys = static_cast<size_t>(arg(argc, argv, "--keys", 20000));
  const auto repeats = static_cast<int>(arg(argc, argv, "--repeats", 5));

  auto parsed = tessera::fga::parse_dsl(kModel);
  if (!parsed) {
    std::fprintf(stderr, "model: %s\n", parsed.error().message.c_str());
    return 2;
  }
  auto valid = tessera::fga::validate_model(*parsed);
  if (!valid) {
    std::fprintf(stderr, "model: %s\n", valid.error().message.c_str());
    return 2;
  }
  tessera::fga::EngineOptions options;
  options.reverse_fanout =
      static_cast<size_t>(arg(argc, argv, "--reverse-fanout", tessera::fga::kDefaultReverseFanout));
  auto engine = Engine::create(std::move(parsed).value(), options);
  if (!engine) {
    std::fprintf(stderr, "engine: %s\n", engine.error().message.c_str());
    return 2;
  }

  std::string export_dir;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--export") == 0) export_dir = argv[i + 1];
  }
  std::ofstream tuples_file;
  if (!export_dir.empty()) {
    tuples_file.open(export_dir + "/tuples.jsonl");
    std::ofstream(export_dir + "/model.fga") << kModel;
    exported = &tuples_file;
  }

  const double rss_before = rss_mb();
  std::mt19937 rng(20261123);
  MemoryTupleReader store;
  const auto load_start = Clock::now();
  load(store, tuples, rng);
  // The ListObjects user: a member of organisation 3 and nothing else, so it reads exactly
  // the 10,000 repositories organisation 3 owns.
  put(store, tuple(org(3), "member", "user:lister"));
  const double load_s = std::chrono::duration<double>(Clock::now() - load_start).count();
  const double rss_after = rss_mb();
  std::printf("fga: loaded %zu tuples in %.1f s; set's own containers %.1f MB\n", store.size(),
              load_s, static_cast<double>(store.memory_bytes()) / (1024.0 * 1024.0));
  std::printf("fga: resident memory %.1f MB before loading, %.1f MB after (target < 300 MB)\n",
              rss_before, rss_after);

  // Check keys: half random (user, role, repository) triples, mostly denied; half users
  // granted something on the repository (directly, through a team or their organisation),
  // asked for `reader`, mostly allowed through the computed chain.
  auto pick = [&](int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); };
  std::vector<CheckRequest> requests;
  requests.reserve(keys);
  for (size_t i = 0; i < keys; ++i) {
    CheckRequest r;
    if (i % 2 == 0) {
      r.object = repo(pick(kRepositories));
      r.relation = kRoles[pick(4)];
      r.user = user(pick(kUsers));
    } else {
      const int rep = pick(kRepositories);
      r.object = repo(rep);
      r.relation = "reader";
      const int via = pick(3);
      if (via == 0) {
        // An organisation member: repositories r / 10,000 belong to organisation r / 10,000.
        const int o = rep / (kRepositories / kOrganizations);
        r.user = user(o + kOrganizations * pick(kUsers / 2 / kOrganizations));
      } else {
        r.user = user(pick(kUsers));
      }
    }
    requests.push_back(std::move(r));
  }

  if (!export_dir.empty()) {
    // The same check keys as Check request bodies, one per line, for the HTTP benchmark.
    tuples_file.close();
    exported = nullptr;
    std::ofstream checks(export_dir + "/checks.jsonl");
    for (const CheckRequest& r : requests) {
      checks << R"({"tuple_key":{"user":")" << r.user << R"(","relation":")" << r.relation
             << R"(","object":")" << r.object << "\"}}\n";
    }
    std::printf("fga: exported the model, %zu tuples and %zu checks to %s\n", store.size(),
                requests.size(), export_dir.c_str());
    if (arg(argc, argv, "--export-only", 0) != 0) return 0;
  }

  size_t allowed = 0;
  size_t failed = 0;
  std::vector<double> reads;
  reads.reserve(keys);
  auto run = [&](std::vector<double>& latencies) {
    for (const CheckRequest& r : requests) {
      const auto start = Clock::now();
      auto result = engine->check(store, r);
      const auto end = Clock::now();
      latencies.push_back(std::chrono::duration<double, std::micro>(end - start).count());
      if (!result) {
        ++failed;
      } else {
        if (result->allowed) ++allowed;
        if (reads.size() < keys) reads.push_back(result->read_count);
      }
    }
  };
  std::vector<double> cold;
  cold.reserve(keys);
  run(cold);
  const size_t allowed_cold = allowed;
  std::vector<double> warm;
  warm.reserve(keys * static_cast<size_t>(repeats));
  for (int i = 0; i < repeats; ++i) run(warm);
  print_stats("cold", cold.size(), stats(cold));
  print_stats("warm", warm.size(), stats(warm));
  std::printf("fga: %zu of %zu distinct checks allowed, %zu failed\n", allowed_cold, keys, failed);
  const Stats r = stats(reads);
  std::printf("fga: tuple reads per check: p50 %.0f  p99 %.0f  max %.0f  mean %.1f\n", r.p50, r.p99,
              r.max, r.mean);

  // ListObjects: 10,000 of 100,000 repositories, one page.
  ListObjectsRequest list;
  list.type = "repository";
  list.relation = "reader";
  list.user = "user:lister";
  list.page_size = tessera::fga::kMaxListObjectsPageSize;
  std::vector<double> list_ms;
  size_t listed = 0;
  for (int i = 0; i < 5; ++i) {
    const auto start = Clock::now();
    auto result = engine->list_objects(store, list);
    list_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    if (!result) {
      std::fprintf(stderr, "list objects: %s\n", result.error().message.c_str());
      return 1;
    }
    listed = result->objects.size();
  }
  const Stats l = stats(list_ms);
  std::printf(
      "fga: list objects %zu of %d repositories: median %.1f ms, best %.1f ms over %zu runs"
      " (target < 100 ms)\n",
      listed, kRepositories, l.p50, *std::min_element(list_ms.begin(), list_ms.end()),
      list_ms.size());
  std::printf("fga: resident memory at the end %.1f MB\n", rss_mb());
  return failed == 0 && listed == 10000 ? 0 : 1;
}
