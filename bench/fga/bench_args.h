// Command-line numbers for the FGA benchmarks: `--name N`.
#pragma once

#include <cstdlib>
#include <cstring>

namespace tessera::bench {

// The number after `name`, or `fallback` when `name` is not given.
inline long arg(int argc, char** argv, const char* name, long fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], name) == 0) return std::strtol(argv[i + 1], nullptr, 10);
  }
  return fallback;
}

}  // namespace tessera::bench
