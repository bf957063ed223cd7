// One expensive check on one thread and with its branches on several (EngineOptions::
// branch_pool): a team of 64 teams of 64 teams each (4,096 teams, 4,160 userset tuples), checked
// downwards (reverse_fanout 0, so every team is asked about). "Denied" visits every team;
// "allowed" finds the user in the last one. Median and best of --repeats runs each, plus the
// GitHub-model-sized cheap check, which stays on one thread (below branch_concurrency_after).
// Figures only: no timed assertions. Usage: bench_fga_branches [--repeats N] [--threads N]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench_args.h"
#include "core/worker_pool.h"
#include "fga/dsl.h"
#include "fga/engine.h"
#include "fga/memory_reader.h"

namespace {

using tessera::bench::arg;

using tessera::WorkerPool;
using tessera::fga::CheckRequest;
using tessera::fga::Engine;
using tessera::fga::EngineOptions;
using tessera::fga::MemoryTupleReader;
using tessera::fga::TupleKey;
using Clock = std::chrono::steady_clock;

constexpr const char* kModel = R"(model
  schema 1.1
type user
type team
  relations
    define member: [user, team#member]
)";

struct Figures {
  double median_ms = 0;
  double best_ms = 0;
  uint32_t dispatches = 0;
  uint32_t fan_outs = 0;
  bool allowed = false;
  bool failed = false;
};

Figures time_check(const Engine& engine, MemoryTupleReader& store, const CheckRequest& request,
                   int repeats) {
  Figures f;
  std::vector<double> ms;
  for (int i = 0; i < repeats; ++i) {
    const auto start = Clock::now();
    auto result = engine.check(store, request);
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    if (!result) {
      f.failed = true;
      continue;
    }
    f.allowed = result->allowed;
    f.dispatches = result->dispatch_count;
    f.fan_outs = result->concurrent_fan_outs;
  }
  std::sort(ms.begin(), ms.end());
  f.median_ms = ms[ms.size() / 2];
  f.best_ms = ms.front();
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  const int repeats = static_cast<int>(arg(argc, argv, "--repeats", 21));
  const auto threads = static_cast<size_t>(
      arg(argc, argv, "--threads", static_cast<long>(std::thread::hardware_concurrency())));
  auto model = tessera::fga::parse_dsl(kModel);
  if (!model) return 2;
  MemoryTupleReader store;
  for (int i = 0; i < 64; ++i) {
    const std::string team = "team:" + std::to_string(i);
    store.write(TupleKey{"team:root", "member", team + "#member", "", nullptr});
    for (int j = 0; j < 64; ++j) {
      store.write(
          TupleKey{team, "member", team + "-" + std::to_string(j) + "#member", "", nullptr});
    }
  }
  store.write(TupleKey{"team:63-63", "member", "user:maria", "", nullptr});
  store.write(TupleKey{"team:0", "member", "user:near", "", nullptr});

  EngineOptions one_thread;
  one_thread.reverse_fanout = 0;
  EngineOptions branches = one_thread;
  branches.branch_pool = std::make_shared<WorkerPool>(threads, 4096);
  auto sequential = Engine::create(*model, one_thread);
  auto concurrent = Engine::create(*model, branches);
  if (!sequential || !concurrent) return 2;

  std::printf(
      "fga branches: %zu pool threads besides the caller's, concurrency after %u dispatches\n",
      threads, branches.branch_concurrency_after);
  bool failed = false;
  for (const auto& [name, user] : {std::pair{"denied (every team)", "user:zed"},
                                   std::pair{"allowed (the last team)", "user:maria"},
                                   std::pair{"allowed (a cheap check)", "user:near"}}) {
    const CheckRequest request{"team:root", "member", user, {}, nullptr};
    const Figures a = time_check(*sequential, store, request, repeats);
    const Figures b = time_check(*concurrent, store, request, repeats);
    failed = failed || a.failed || b.failed || a.allowed != b.allowed;
    std::printf(
        "fga branches: %-24s one thread median %.3f ms (best %.3f), branches on the pool median "
        "%.3f ms (best %.3f): %.2fx; %u dispatches, %u fan-outs on the pool\n",
        name, a.median_ms, a.best_ms, b.median_ms, b.best_ms, a.median_ms / b.median_ms,
        b.dispatches, b.fan_outs);
  }
  return failed ? 1 : 0;
}
