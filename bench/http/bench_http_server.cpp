// Minimal server for the wrk comparison with nginx (run.sh): GET /hello ->
// {"hello":"world"} through the full tessera_http stack (router, metrics,
// access log sink).
//
//   bench_http_server PORT [IO_THREADS] [--log]
//
// Without --log the access log sink is NullAccessLog (nginx runs with
// access_log off); with --log it writes JSON lines to stderr.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "http/server.h"

int main(int argc, char** argv) {
  using namespace tessera::http;
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s PORT [IO_THREADS] [--log]\n", argv[0]);
    return 2;
  }
  ServerOptions options;
  options.port = static_cast<uint16_t>(std::atoi(argv[1]));
  options.io_threads =
      argc > 2 && argv[2][0] != '-' ? static_cast<unsigned>(std::atoi(argv[2])) : 2;
  bool log = false;
  for (int i = 2; i < argc; ++i) log = log || std::strcmp(argv[i], "--log") == 0;
  options.access_log = log ? std::shared_ptr<AccessLogSink>(std::make_shared<JsonLinesAccessLog>(2))
                           : std::make_shared<NullAccessLog>();

  Router router;
  router.get("/hello", [](const Request&) { return Response::json(200, {{"hello", "world"}}); });
  Server server(options, std::move(router));
  if (auto started = server.start(); !started) {
    std::fprintf(stderr, "%s\n", started.error().c_str());
    return 1;
  }
  server.set_ready(true);
  std::printf("listening on %u\n", server.port());
  std::fflush(stdout);
  run_until_signal(server, std::chrono::seconds(5));
  return 0;
}
