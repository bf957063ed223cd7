// `tessera fga ...`: the fine-grained authorization role's tooling (issue 5).
//   model convert [--from dsl|json] [--to json|dsl] [--file F] [--skip-validation]
//       Reads an authorization model (standard input unless --file) in the OpenFGA DSL or in
//       OpenFGA's JSON form and prints it in the other form (or normalised in the same one).
//       The model is validated as OpenFGA's WriteAuthorizationModel does unless
//       --skip-validation. Exit 0 and the model on stdout, or exit 1 with the reason on
//       stderr: `line:column: message` for a DSL syntax error, `<error code>: message` for
//       an invalid model. Exit 2: unreadable file, bad usage.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include "app/commands.h"
#include "core/json.h"
#include "fga/dsl.h"

namespace tessera::app {
namespace {

constexpr int kExitInvalidModel = 1;
constexpr int kExitBadInput = 2;
// A model in either form: OpenFGA stores at most 256 KiB; the DSL parser's own limit is 1 MiB.
constexpr size_t kMaxModelBytes = size_t{1} << 20;
// JSON nesting: each rewrite level is two or three levels of JSON.
constexpr int kMaxModelJsonDepth = 256;

struct Failure {
  int code;
  std::string message;
};

struct ConvertArgs {
  std::string from = "dsl";
  std::string to = "json";
  std::string file;
  bool skip_validation = false;
};

Result<std::string, Failure> read_all(std::istream& in, const std::string& name) {
  std::string data;
  char buf[4096];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    data.append(buf, static_cast<size_t>(in.gcount()));
    if (data.size() > kMaxModelBytes) {
      return Err(Failure{kExitBadInput, name + ": larger than 1 MiB, not a model"});
    }
  }
  if (in.bad()) return Err(Failure{kExitBadInput, "error reading " + name});
  return data;
}

Result<std::string, Failure> read_input(const std::string& file) {
  if (file.empty() || file == "-") return read_all(std::cin, "standard input");
  std::ifstream in(file, std::ios::binary);
  if (!in) return Err(Failure{kExitBadInput, "cannot read " + file});
  return read_all(in, file);
}

Failure model_failure(const fga::Error& e) {
  return Failure{kExitInvalidModel, std::string(fga::error_name(e.code)) + ": " + e.message};
}

Result<Ok, Failure> run_convert(const ConvertArgs& args) {
  auto text = read_input(args.file);
  if (!text) return Err(text.error());

  fga::Model model;
  if (args.from == "dsl") {
    auto parsed = fga::parse_dsl(*text);
    if (!parsed) {
      const auto& e = parsed.error();
      return Err(Failure{kExitInvalidModel, std::to_string(e.line) + ":" +
                                                std::to_string(e.column) + ": " + e.message});
    }
    model = std::move(*parsed);
  } else {
    auto doc = json::parse_strict(*text, json::Limits{kMaxModelBytes, kMaxModelJsonDepth});
    if (!doc) {
      return Err(
          Failure{kExitInvalidModel, std::string("invalid JSON: ") + json::to_string(doc.error())});
    }
    auto loaded = fga::model_from_json(*doc);
    if (!loaded) return Err(model_failure(loaded.error()));
    model = std::move(*loaded);
  }
  if (!args.skip_validation) {
    auto valid = fga::validate_model(model);
    if (!valid) return Err(model_failure(valid.error()));
  }
  if (args.to == "json") {
    std::printf("%s\n", fga::to_json(model).dump(2).c_str());
  } else {
    std::printf("%s", fga::to_dsl(model).c_str());
  }
  return Ok{};
}

}  // namespace

void add_fga_commands(CLI::App& app, int& rc) {
  auto* fga_cmd = app.add_subcommand("fga", "Fine-grained authorization (OpenFGA-compatible)");
  fga_cmd->require_subcommand(1);
  auto* model_cmd = fga_cmd->add_subcommand("model", "Authorization models");
  model_cmd->require_subcommand(1);

  auto args = std::make_shared<ConvertArgs>();
  auto* convert = model_cmd->add_subcommand(
      "convert", "Convert a model between the OpenFGA DSL and OpenFGA's JSON form");
  convert->add_option("--from", args->from, "Input form (default: dsl)")
      ->check(CLI::IsMember({"dsl", "json"}));
  convert->add_option("--to", args->to, "Output form (default: json)")
      ->check(CLI::IsMember({"dsl", "json"}));
  convert->add_option("--file", args->file, "Read the model from this file (default: stdin)");
  convert->add_flag("--skip-validation", args->skip_validation,
                    "Convert without OpenFGA's semantic checks (syntax only)");
  convert->callback([&rc, args] {
    try {
      auto r = run_convert(*args);
      if (r) {
        rc = 0;
      } else {
        std::fprintf(stderr, "%s\n", r.error().message.c_str());
        rc = r.error().code;
      }
    } catch (const std::exception& e) {
      std::fprintf(stderr, "tessera fga model convert: internal error: %s\n", e.what());
      rc = kExitBadInput;
    }
    std::fflush(stdout);
  });
}

}  // namespace tessera::app
