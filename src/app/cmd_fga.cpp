// `tessera fga ...`: the fine-grained authorization role's tooling (issue 5).
//   model convert [--from dsl|json] [--to json|dsl] [--file F] [--skip-validation]
//       Reads an authorization model (standard input unless --file) in the OpenFGA DSL or in
//       OpenFGA's JSON form and prints it in the other form (or normalised in the same one).
//       The model is validated as OpenFGA's WriteAuthorizationModel does unless
//       --skip-validation. Exit 0 and the model on stdout, or exit 1 with the reason on
//       stderr: `line:column: message` for a DSL syntax error, `<error code>: message` for
//       an invalid model. Exit 2: unreadable file, bad usage.
// Administration, on the store named by --config FILE or --data-dir DIR (app/admin_store.h), so
// they work on a running demo's data directory. Each prints JSON in the shape of the matching
// OpenFGA HTTP API response (every page gathered, so continuation_token is always ""):
//   store create --name N | store list | store delete --store ID
//   model write --store ID --file F [--format dsl|json] | model list --store ID
//   model show --store ID [--model ID] [--format json|dsl]
//   tuple write --store ID [--model ID] (--tuple "object relation user" [--condition NAME
//       [--context JSON]] | --file F) [--on-duplicate error|ignore]
//   tuple delete --store ID --tuple "object relation user" [--on-missing error|ignore]
//   tuple read --store ID [--object O] [--relation R] [--user U]
//   check --store ID [--model ID] --user U --relation R --object O [--context JSON]
//       [--contextual-tuple "object relation user" ...]
//   list-objects --store ID [--model ID] --user U --relation R --type T [--context JSON]
// Exit codes: 0 ok (a check that is not allowed included); 1 an OpenFGA error, printed as
// `tessera fga <command>: <code>: <message>` with the code's wire name (fga::error_name), or a
// malformed model; 2 bad usage, an unreadable file or a malformed line of a tuple file.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <ctime>
#include <exception>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "app/admin_store.h"
#include "app/commands.h"
#include "core/json.h"
#include "fga/api.h"
#include "fga/dsl.h"
#include "fga/engine.h"
#include "store/fga_store.h"

namespace tessera::app {
namespace {

// A model in either form: OpenFGA stores at most 256 KiB of JSON (the store enforces it); the
// DSL parser's own limit is 1 MiB.
constexpr size_t kMaxModelBytes = size_t{1} << 20;
// JSON nesting: each rewrite level is two or three levels of JSON.
constexpr int kMaxModelJsonDepth = 256;
// A condition context (--context, or a tuple's): the store's limits for a stored context.
constexpr int kMaxContextDepth = 32;
// One line of a tuple file: a TupleKey (object <= 256, relation <= 50, user <= 512 bytes) and a
// context of at most kFgaMaxContextBytes, with room for the JSON around them.
constexpr size_t kMaxTupleLineBytes = store::kFgaMaxContextBytes + 4096;
// The line's object, its condition object, then the context's own levels.
constexpr int kMaxTupleLineDepth = kMaxContextDepth + 2;

// --- Shared helpers --------------------------------------------------------------------------

Failure fga_failure(const fga::Error& e) {
  return Failure{kExitFailed, std::string(fga::error_name(e.code)) + ": " + e.message};
}

Failure bad_input(std::string message) { return Failure{kExitBadInput, std::move(message)}; }

// Never throws: text from the command line may be invalid UTF-8, which is replaced.
std::string dump(const json::Json& value) {
  return value.dump(-1, ' ', false, json::Json::error_handler_t::replace);
}

void print_json(const json::Json& value) { std::printf("%s\n", dump(value).c_str()); }

Result<std::string, Failure> read_all(std::istream& in, const std::string& name) {
  std::string data;
  char buf[4096];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    data.append(buf, static_cast<size_t>(in.gcount()));
    if (data.size() > kMaxModelBytes) {
      return Err(bad_input(name + ": larger than 1 MiB, not a model"));
    }
  }
  if (in.bad()) return Err(bad_input("error reading " + name));
  return data;
}

Result<std::string, Failure> read_input(const std::string& file) {
  if (file.empty() || file == "-") return read_all(std::cin, "standard input");
  std::ifstream in(file, std::ios::binary);
  if (!in) return Err(bad_input("cannot read " + file));
  return read_all(in, file);
}

// A model in the DSL or in OpenFGA's JSON form, syntax only. `name` names the input in errors.
Result<fga::Model, Failure> parse_model(const std::string& text, const std::string& form,
                                        const std::string& name) {
  if (form == "dsl") {
    auto parsed = fga::parse_dsl(text);
    if (!parsed) {
      const auto& e = parsed.error();
      return Err(Failure{kExitFailed, name + std::to_string(e.line) + ":" +
                                          std::to_string(e.column) + ": " + e.message});
    }
    return std::move(*parsed);
  }
  auto doc = json::parse_strict(text, json::Limits{kMaxModelBytes, kMaxModelJsonDepth});
  if (!doc) {
    return Err(Failure{kExitFailed, name + "invalid JSON: " + json::to_string(doc.error())});
  }
  auto loaded = fga::model_from_json(*doc);
  if (!loaded) return Err(fga_failure(loaded.error()));
  return std::move(*loaded);
}

// "object relation user", as --tuple and --contextual-tuple take a tuple.
Result<fga::TupleKey, Failure> parse_tuple_arg(const std::string& text, const std::string& option) {
  std::istringstream words(text);
  std::vector<std::string> parts;
  std::string part;
  while (words >> part) parts.push_back(part);
  if (parts.size() != 3) {
    return Err(bad_input(option + " \"" + text + "\": expected \"object relation user\""));
  }
  return fga::TupleKey{parts[0], parts[1], parts[2], {}, nullptr};
}

// --context: a JSON object of values for condition parameters; empty: none.
Result<json::Json, Failure> parse_context(const std::string& text) {
  if (text.empty()) return json::Json(nullptr);
  auto doc = json::parse_strict(text, json::Limits{store::kFgaMaxContextBytes, kMaxContextDepth});
  if (!doc) {
    return Err(bad_input(std::string("--context: invalid JSON: ") + json::to_string(doc.error())));
  }
  if (!doc->is_object()) return Err(bad_input("--context: expected a JSON object"));
  return std::move(*doc);
}

// OpenFGA's TupleKey JSON: {"object", "relation", "user"[, "condition": {"name", "context"}]}.
json::Json tuple_json(const fga::TupleKey& key) {
  json::Json out = {{"object", key.object}, {"relation", key.relation}, {"user", key.user}};
  if (!key.condition.empty()) {
    json::Json condition = {{"name", key.condition}};
    if (!key.context.is_null()) condition["context"] = key.context;
    out["condition"] = std::move(condition);
  }
  return out;
}

// The reverse of tuple_json, strict: members are those of OpenFGA's TupleKey and nothing else.
Result<fga::TupleKey, std::string> tuple_from_json(const json::Json& doc) {
  if (!doc.is_object()) return Err(std::string("expected a JSON object (an OpenFGA TupleKey)"));
  fga::TupleKey key;
  bool has_object = false;
  bool has_relation = false;
  bool has_user = false;
  for (const auto& member : doc.items()) {
    const std::string& name = member.key();
    const json::Json& value = member.value();
    if (name == "object" || name == "relation" || name == "user") {
      if (!value.is_string()) return Err("\"" + name + "\" must be a string");
      const std::string text = value.get<std::string>();
      if (name == "object") {
        key.object = text;
        has_object = true;
      } else if (name == "relation") {
        key.relation = text;
        has_relation = true;
      } else {
        key.user = text;
        has_user = true;
      }
    } else if (name == "condition") {
      if (!value.is_object()) return Err(std::string("\"condition\" must be an object"));
      for (const auto& part : value.items()) {
        if (part.key() == "name" && part.value().is_string()) {
          key.condition = part.value().get<std::string>();
        } else if (part.key() == "context" &&
                   (part.value().is_object() || part.value().is_null())) {
          key.context = part.value();
        } else {
          return Err("\"condition\": unexpected or malformed member \"" + part.key() + "\"");
        }
      }
      if (key.condition.empty()) return Err(std::string("\"condition\" needs a \"name\""));
    } else {
      return Err("unknown member \"" + name + "\"");
    }
  }
  if (!has_object || !has_relation || !has_user) {
    return Err(std::string("\"object\", \"relation\" and \"user\" are required"));
  }
  return key;
}

// A file of tuples, one OpenFGA TupleKey JSON object per line (JSON lines); blank lines are
// skipped. Read as a stream: only the current line is held.
class TupleFile {
 public:
  explicit TupleFile(const std::string& path) : path_(path), in_(path, std::ios::binary) {}

  bool is_open() const { return static_cast<bool>(in_); }
  size_t line() const { return line_; }
  const std::string& path() const { return path_; }

  // The next tuple; nullopt at the end of the file.
  Result<std::optional<fga::TupleKey>, Failure> next() {
    std::string text;
    for (;;) {
      auto more = next_line(text);
      if (!more) return Err(more.error());
      if (!*more) return std::optional<fga::TupleKey>();
      if (text.find_first_not_of(" \t\r") != std::string::npos) break;
    }
    auto doc = json::parse_strict(text, json::Limits{kMaxTupleLineBytes, kMaxTupleLineDepth});
    if (!doc) return Err(bad_here(std::string("invalid JSON: ") + json::to_string(doc.error())));
    auto key = tuple_from_json(*doc);
    if (!key) return Err(bad_here(key.error()));
    return std::optional<fga::TupleKey>(std::move(*key));
  }

  // "F:N", the place of the line last read.
  std::string where() const { return path_ + ":" + std::to_string(line_); }

 private:
  Failure bad_here(const std::string& message) const { return bad_input(where() + ": " + message); }

  // The next line without its end of line; false at the end of the file.
  Result<bool, Failure> next_line(std::string& text) {
    text.clear();
    std::streambuf* buf = in_.rdbuf();
    using Traits = std::char_traits<char>;
    bool any = false;
    for (Traits::int_type c = buf->sbumpc(); !Traits::eq_int_type(c, Traits::eof());
         c = buf->sbumpc()) {
      any = true;
      if (c == '\n') break;
      if (text.size() >= kMaxTupleLineBytes) {
        ++line_;
        return Err(bad_here("line longer than " + std::to_string(kMaxTupleLineBytes) + " bytes"));
      }
      text.push_back(Traits::to_char_type(c));
    }
    if (!any) return false;
    ++line_;
    if (!text.empty() && text.back() == '\r') text.pop_back();
    return true;
  }

  std::string path_;
  std::ifstream in_;
  size_t line_ = 0;
};

// The model a request names, or the store's latest; store_id_not_found for an unknown store.
Result<fga::Model, Failure> resolve_model(store::FgaStore& fga, const std::string& store_id,
                                          const std::string& model_id) {
  auto model = model_id.empty() ? fga.latest_model(store_id) : fga.read_model(store_id, model_id);
  if (!model) return Err(fga_failure(model.error()));
  return std::move(*model);
}

Result<fga::Engine, Failure> engine_for(store::FgaStore& fga, const std::string& store_id,
                                        const std::string& model_id) {
  auto model = resolve_model(fga, store_id, model_id);
  if (!model) return Err(model.error());
  auto engine = fga::Engine::create(std::move(*model));
  if (!engine) return Err(fga_failure(engine.error()));
  return std::move(*engine);
}

// Opens the chosen store and runs `action(FgaStore&)` on it.
template <class Action>
Result<Ok, Failure> with_fga(const StoreChoice& choice, Action action) {
  auto opened = open_chosen_store(choice);
  if (!opened) return Err(opened.error());
  return action((*opened)->fga());
}

// Every option of every administration subcommand; each subcommand binds those it takes.
struct FgaOptions {
  StoreChoice choice;
  std::string store_id;
  std::string model_id;
  std::string name;
  std::string file;
  std::string format;
  std::string tuple;
  std::string condition;
  std::string context;
  std::string object;
  std::string relation;
  std::string user;
  std::string type;
  std::string on_duplicate = "error";
  std::string on_missing = "error";
  std::vector<std::string> contextual_tuples;
};

// --- Stores ----------------------------------------------------------------------------------

Result<Ok, Failure> create_store(store::FgaStore& fga, const FgaOptions& o) {
  auto created = fga.create_store(o.name);
  if (!created) return Err(fga_failure(created.error()));
  print_json(fga::store_to_json(*created));
  return Ok{};
}

Result<Ok, Failure> list_stores(store::FgaStore& fga) {
  json::Json stores = json::Json::array();
  store::FgaPageRequest page{store::kFgaMaxPageSize, {}};
  do {
    auto got = fga.list_stores(page);
    if (!got) return Err(fga_failure(got.error()));
    for (const auto& s : got->items) stores.push_back(fga::store_to_json(s));
    page.continuation_token = std::move(got->continuation_token);
  } while (!page.continuation_token.empty());
  print_json({{"stores", std::move(stores)}, {"continuation_token", ""}});
  return Ok{};
}

Result<Ok, Failure> delete_store(store::FgaStore& fga, const FgaOptions& o) {
  auto deleted = fga.delete_store(o.store_id);
  if (!deleted) return Err(fga_failure(deleted.error()));
  print_json(json::Json::object());  // OpenFGA's DeleteStore answers an empty object
  return Ok{};
}

// Stores deleted at least --older-than seconds ago are removed for good (0: every deleted one).
Result<Ok, Failure> purge_stores(store::FgaStore& fga, int64_t older_than) {
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  // purge_deleted_stores takes those deleted strictly before its argument.
  auto purged = fga.purge_deleted_stores(now - older_than + 1);
  if (!purged) return Err(fga_failure(purged.error()));
  print_json({{"purged", *purged}});
  return Ok{};
}

// --- Models ----------------------------------------------------------------------------------

Result<Ok, Failure> write_model(store::FgaStore& fga, const FgaOptions& o) {
  auto text = read_input(o.file);
  if (!text) return Err(text.error());
  std::string form = o.format;
  if (form.empty()) {
    // A JSON model is an object; DSL text starts with `model` or a comment.
    const size_t first = text->find_first_not_of(" \t\r\n");
    form = first != std::string::npos && (*text)[first] == '{' ? "json" : "dsl";
  }
  auto model = parse_model(*text, form, o.file + ":");
  if (!model) return Err(model.error());
  // The store validates it as OpenFGA's WriteAuthorizationModel does.
  auto id = fga.write_model(o.store_id, *model);
  if (!id) return Err(fga_failure(id.error()));
  print_json({{"authorization_model_id", *id}});
  return Ok{};
}

Result<Ok, Failure> list_models(store::FgaStore& fga, const FgaOptions& o) {
  json::Json models = json::Json::array();
  store::FgaPageRequest page{store::kFgaMaxPageSize, {}};
  do {
    auto got = fga.list_models(o.store_id, page);
    if (!got) return Err(fga_failure(got.error()));
    for (const auto& m : got->items) models.push_back(fga::to_json(m));
    page.continuation_token = std::move(got->continuation_token);
  } while (!page.continuation_token.empty());
  print_json({{"authorization_models", std::move(models)}, {"continuation_token", ""}});
  return Ok{};
}

Result<Ok, Failure> show_model(store::FgaStore& fga, const FgaOptions& o) {
  auto model = resolve_model(fga, o.store_id, o.model_id);
  if (!model) return Err(model.error());
  if (o.format == "dsl") {
    std::printf("%s", fga::to_dsl(*model).c_str());
  } else {
    print_json({{"authorization_model", fga::to_json(*model)}});
  }
  return Ok{};
}

// --- Tuples ----------------------------------------------------------------------------------

store::FgaWriteRequest write_request(const fga::Engine& engine, const FgaOptions& o) {
  store::FgaWriteRequest request;
  // Every batch is checked against the same model, the one resolved when the command started.
  request.model_id = engine.model().id;
  request.on_duplicate =
      o.on_duplicate == "ignore" ? store::OnDuplicate::kIgnore : store::OnDuplicate::kError;
  request.on_missing =
      o.on_missing == "ignore" ? store::OnMissing::kIgnore : store::OnMissing::kError;
  // OpenFGA's Write validates each written tuple against the model (ValidateTupleForWrite).
  request.validate_write = [&engine](const fga::Model&, const fga::TupleKey& key) {
    return engine.validate_tuple(key);
  };
  return request;
}

void print_written(size_t written, const std::string& consistency_token) {
  print_json({{"written", written}, {"consistency_token", consistency_token}});
}

Result<Ok, Failure> write_one_tuple(store::FgaStore& fga, const fga::Engine& engine,
                                    const FgaOptions& o) {
  auto key = parse_tuple_arg(o.tuple, "--tuple");
  if (!key) return Err(key.error());
  auto context = parse_context(o.context);
  if (!context) return Err(context.error());
  key->condition = o.condition;
  key->context = std::move(*context);
  store::FgaWriteRequest request = write_request(engine, o);
  request.writes.push_back(std::move(*key));
  auto written = fga.write_tuples(o.store_id, request);
  if (!written) return Err(fga_failure(written.error()));
  print_written(1, written->consistency_token);
  return Ok{};
}

// The bulk path: the file is read twice, as a stream. The first pass checks every line (its
// JSON and the model's rules for the tuple) so that such a bad line writes nothing; the second
// writes batches of kFgaMaxTuplesPerWrite, OpenFGA's limit for one Write, each its own
// transaction. The store's own checks (lengths, duplicates, tuples already stored) run per
// batch, so a failure there leaves the earlier batches written, as the message says.
Result<Ok, Failure> write_tuple_file(store::FgaStore& fga, const fga::Engine& engine,
                                     const FgaOptions& o) {
  {
    TupleFile file(o.file);
    if (!file.is_open()) return Err(bad_input("cannot read " + o.file));
    for (;;) {
      auto key = file.next();
      if (!key) return Err(key.error());
      if (!*key) break;
      if (auto valid = engine.validate_tuple(**key); !valid) {
        Failure failure = fga_failure(valid.error());
        failure.message += " (" + file.where() + "; nothing was written)";
        return Err(failure);
      }
    }
  }

  TupleFile file(o.file);
  if (!file.is_open()) return Err(bad_input("cannot read " + o.file));
  store::FgaWriteRequest request = write_request(engine, o);
  request.writes.reserve(store::kFgaMaxTuplesPerWrite);
  size_t written = 0;
  size_t batch_first_line = 0;
  std::string token;
  auto flush = [&]() -> Result<Ok, Failure> {
    auto done = fga.write_tuples(o.store_id, request);
    if (!done) {
      Failure failure = fga_failure(done.error());
      failure.message += " (in the batch of " + o.file + " lines " +
                         std::to_string(batch_first_line) + "-" + std::to_string(file.line()) +
                         "; the " + std::to_string(written) +
                         " tuples before it were written, this batch was not)";
      return Err(failure);
    }
    written += request.writes.size();
    token = std::move(done->consistency_token);
    request.writes.clear();
    return Ok{};
  };
  for (;;) {
    auto key = file.next();
    if (!key) {
      Failure failure = key.error();
      failure.message += " (the file changed while it was read; " + std::to_string(written) +
                         " tuples were written)";
      return Err(failure);
    }
    if (!*key) break;
    if (request.writes.empty()) batch_first_line = file.line();
    request.writes.push_back(std::move(**key));
    if (request.writes.size() == store::kFgaMaxTuplesPerWrite) {
      if (auto done = flush(); !done) return Err(done.error());
    }
  }
  if (!request.writes.empty()) {
    if (auto done = flush(); !done) return Err(done.error());
  }
  print_written(written, token);
  return Ok{};
}

Result<Ok, Failure> write_tuples(store::FgaStore& fga, const FgaOptions& o) {
  if (o.tuple.empty() == o.file.empty()) {
    return Err(bad_input("give either --tuple \"object relation user\" or --file F"));
  }
  auto engine = engine_for(fga, o.store_id, o.model_id);
  if (!engine) return Err(engine.error());
  return o.file.empty() ? write_one_tuple(fga, *engine, o) : write_tuple_file(fga, *engine, o);
}

Result<Ok, Failure> delete_tuple(store::FgaStore& fga, const FgaOptions& o) {
  auto key = parse_tuple_arg(o.tuple, "--tuple");
  if (!key) return Err(key.error());
  store::FgaWriteRequest request;
  request.on_missing =
      o.on_missing == "ignore" ? store::OnMissing::kIgnore : store::OnMissing::kError;
  request.deletes.push_back(std::move(*key));
  auto deleted = fga.write_tuples(o.store_id, request);
  if (!deleted) return Err(fga_failure(deleted.error()));
  print_json({{"deleted", 1}, {"consistency_token", deleted->consistency_token}});
  return Ok{};
}

// OpenFGA's ReadResponse, every page: printed as it is read, so a store of a million tuples is
// never held in memory. Nothing is printed unless the first page is read.
Result<Ok, Failure> read_tuples(store::FgaStore& fga, const FgaOptions& o) {
  const store::FgaReadFilter filter{o.object, o.relation, o.user};
  store::FgaPageRequest page{store::kFgaMaxPageSize, {}};
  bool first = true;
  do {
    auto got = fga.read_tuples(o.store_id, filter, page);
    if (!got) {
      if (!first) std::printf("\n");
      return Err(fga_failure(got.error()));
    }
    for (const auto& record : got->items) {
      const json::Json item = {{"key", tuple_json(record.key)},
                               {"timestamp", fga::timestamp_to_json(record.timestamp)}};
      std::printf("%s%s", first ? "{\"tuples\":[" : ",", dump(item).c_str());
      first = false;
    }
    page.continuation_token = std::move(got->continuation_token);
  } while (!page.continuation_token.empty());
  std::printf("%s],\"continuation_token\":\"\"}\n", first ? "{\"tuples\":[" : "");
  return Ok{};
}

// --- Queries ---------------------------------------------------------------------------------

Result<Ok, Failure> check(store::FgaStore& fga, const FgaOptions& o) {
  fga::CheckRequest request{o.object, o.relation, o.user, {}, nullptr};
  for (const std::string& text : o.contextual_tuples) {
    auto key = parse_tuple_arg(text, "--contextual-tuple");
    if (!key) return Err(key.error());
    request.contextual_tuples.push_back(std::move(*key));
  }
  auto context = parse_context(o.context);
  if (!context) return Err(context.error());
  request.context = std::move(*context);
  auto engine = engine_for(fga, o.store_id, o.model_id);
  if (!engine) return Err(engine.error());
  auto reader = fga.reader(o.store_id);
  if (!reader) return Err(fga_failure(reader.error()));
  auto result = engine->check(**reader, request);
  if (!result) return Err(fga_failure(result.error()));
  print_json({{"allowed", result->allowed}});
  return Ok{};
}

// OpenFGA's ListObjectsResponse. Tessera's engine pages where OpenFGA truncates; every page is
// gathered here, so the answer is the whole list.
Result<Ok, Failure> list_objects(store::FgaStore& fga, const FgaOptions& o) {
  fga::ListObjectsRequest request;
  request.type = o.type;
  request.relation = o.relation;
  request.user = o.user;
  auto context = parse_context(o.context);
  if (!context) return Err(context.error());
  request.context = std::move(*context);
  auto engine = engine_for(fga, o.store_id, o.model_id);
  if (!engine) return Err(engine.error());
  auto reader = fga.reader(o.store_id);
  if (!reader) return Err(fga_failure(reader.error()));
  json::Json objects = json::Json::array();
  do {
    auto page = engine->list_objects(**reader, request);
    if (!page) return Err(fga_failure(page.error()));
    for (std::string& object : page->objects) objects.push_back(std::move(object));
    request.continuation_token = std::move(page->continuation_token);
  } while (!request.continuation_token.empty());
  print_json({{"objects", std::move(objects)}});
  return Ok{};
}

// --- model convert ---------------------------------------------------------------------------

struct ConvertArgs {
  std::string from = "dsl";
  std::string to = "json";
  std::string file;
  bool skip_validation = false;
};

Result<Ok, Failure> run_convert(const ConvertArgs& args) {
  auto text = read_input(args.file);
  if (!text) return Err(text.error());
  auto model = parse_model(*text, args.from, "");
  if (!model) return Err(model.error());
  if (!args.skip_validation) {
    auto valid = fga::validate_model(*model);
    if (!valid) return Err(fga_failure(valid.error()));
  }
  if (args.to == "json") {
    std::printf("%s\n", fga::to_json(*model).dump(2).c_str());
  } else {
    std::printf("%s", fga::to_dsl(*model).c_str());
  }
  return Ok{};
}

// --- Registration ----------------------------------------------------------------------------

// Runs `action(FgaStore&, const FgaOptions&)` on the chosen store when `cmd` is chosen.
template <class Action>
void on_store(CLI::App* cmd, int& rc, const std::shared_ptr<FgaOptions>& o, const char* name,
              Action action) {
  add_store_options(cmd, o->choice, /*with_secret_key=*/false);
  cmd->callback([&rc, o, name, action] {
    try {
      rc = run_admin("fga", name, [&] {
        return with_fga(o->choice, [&](store::FgaStore& fga) { return action(fga, *o); });
      });
    } catch (const std::exception& e) {
      std::fprintf(stderr, "tessera fga %s: internal error: %s\n", name, e.what());
      rc = kExitFailed;
    }
    std::fflush(stdout);
  });
}

CLI::Option* add_store_id(CLI::App* cmd, FgaOptions& o) {
  return cmd->add_option("--store", o.store_id, "Store id (ULID)")->required();
}

CLI::Option* add_model_id(CLI::App* cmd, FgaOptions& o) {
  return cmd->add_option("--model", o.model_id,
                         "Authorization model id (default: the store's latest)");
}

void add_convert_command(CLI::App* model_cmd, int& rc) {
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

void add_store_commands(CLI::App* fga_cmd, int& rc, const std::shared_ptr<FgaOptions>& o) {
  auto* store_cmd = fga_cmd->add_subcommand("store", "Stores (OpenFGA's tenants)");
  store_cmd->require_subcommand(1);

  auto* create = store_cmd->add_subcommand("create", "Create a store; prints it");
  create->add_option("--name", o->name, "Store name, 3 to 64 characters")->required();
  on_store(create, rc, o, "store create",
           [](store::FgaStore& fga, const FgaOptions& opts) { return create_store(fga, opts); });

  auto* list = store_cmd->add_subcommand("list", "List the stores, oldest first");
  on_store(list, rc, o, "store list",
           [](store::FgaStore& fga, const FgaOptions&) { return list_stores(fga); });

  auto* remove = store_cmd->add_subcommand("delete", "Delete a store (OpenFGA's DeleteStore)");
  add_store_id(remove, *o);
  on_store(remove, rc, o, "store delete",
           [](store::FgaStore& fga, const FgaOptions& opts) { return delete_store(fga, opts); });

  auto* purge = store_cmd->add_subcommand(
      "purge",
      "Remove for good the stores deleted at least --older-than seconds ago, with their models, "
      "tuples, changes and assertions; prints {\"purged\": N}");
  static int64_t older_than = 0;
  purge->add_option("--older-than", older_than, "Seconds since deletion (0: every deleted store)")
      ->required()
      ->check(CLI::Range(int64_t{0}, int64_t{100} * 365 * 86400));
  on_store(purge, rc, o, "store purge",
           [](store::FgaStore& fga, const FgaOptions&) { return purge_stores(fga, older_than); });
}

void add_model_commands(CLI::App* model_cmd, int& rc, const std::shared_ptr<FgaOptions>& o) {
  auto* write = model_cmd->add_subcommand(
      "write", "Validate a model and add it to a store; prints its authorization_model_id");
  add_store_id(write, *o);
  write->add_option("--file", o->file, "The model, in the DSL or OpenFGA's JSON form")->required();
  write
      ->add_option("--format", o->format,
                   "dsl or json (default: json when the file starts with '{', else dsl)")
      ->check(CLI::IsMember({"dsl", "json"}));
  on_store(write, rc, o, "model write",
           [](store::FgaStore& fga, const FgaOptions& opts) { return write_model(fga, opts); });

  auto* list = model_cmd->add_subcommand("list", "List a store's models, newest first");
  add_store_id(list, *o);
  on_store(list, rc, o, "model list",
           [](store::FgaStore& fga, const FgaOptions& opts) { return list_models(fga, opts); });

  auto* show = model_cmd->add_subcommand("show", "Print one model (default: the latest)");
  add_store_id(show, *o);
  add_model_id(show, *o);
  show->add_option("--format", o->format, "json (default) or dsl")
      ->check(CLI::IsMember({"dsl", "json"}));
  on_store(show, rc, o, "model show",
           [](store::FgaStore& fga, const FgaOptions& opts) { return show_model(fga, opts); });
}

void add_tuple_commands(CLI::App* fga_cmd, int& rc, const std::shared_ptr<FgaOptions>& o) {
  auto* tuple_cmd = fga_cmd->add_subcommand("tuple", "Relationship tuples");
  tuple_cmd->require_subcommand(1);

  auto* write = tuple_cmd->add_subcommand(
      "write",
      "Write one tuple (--tuple) or a file of them (--file), each checked against the model. "
      "A file is JSON lines, one OpenFGA TupleKey per line: {\"object\", \"relation\", "
      "\"user\"[, \"condition\": {\"name\", \"context\"}]}. Every line's JSON and its tuple's "
      "fit with the model are checked before anything is written; the tuples are then written "
      "in batches of 100 (OpenFGA's limit for one Write), EACH BATCH ITS OWN TRANSACTION: a "
      "batch that fails (a tuple already stored, say) stops the command with the earlier "
      "batches written. Prints "
      "{\"written\": N, \"consistency_token\"}");
  add_store_id(write, *o);
  add_model_id(write, *o);
  auto* tuple = write->add_option("--tuple", o->tuple, "\"object relation user\"");
  auto* file = write->add_option("--file", o->file, "JSON lines of tuples");
  auto* condition =
      write->add_option("--condition", o->condition, "With --tuple: the condition's name");
  auto* context = write->add_option("--context", o->context,
                                    "With --condition: the condition's context, a JSON object");
  tuple->excludes(file);
  condition->needs(tuple);
  context->needs(condition);
  write
      ->add_option("--on-duplicate", o->on_duplicate,
                   "error (default) or ignore: skip a tuple already stored with the same "
                   "condition (it still counts as written)")
      ->check(CLI::IsMember({"error", "ignore"}));
  on_store(write, rc, o, "tuple write",
           [](store::FgaStore& fga, const FgaOptions& opts) { return write_tuples(fga, opts); });

  auto* remove = tuple_cmd->add_subcommand("delete", "Delete one tuple");
  add_store_id(remove, *o);
  remove->add_option("--tuple", o->tuple, "\"object relation user\"")->required();
  remove->add_option("--on-missing", o->on_missing, "error (default) or ignore")
      ->check(CLI::IsMember({"error", "ignore"}));
  on_store(remove, rc, o, "tuple delete",
           [](store::FgaStore& fga, const FgaOptions& opts) { return delete_tuple(fga, opts); });

  auto* read = tuple_cmd->add_subcommand(
      "read",
      "Print the tuples matching a filter, every page (OpenFGA's Read: --object is type:id, or "
      "type: together with --user; no filter reads the whole store)");
  add_store_id(read, *o);
  read->add_option("--object", o->object, "type:id or type:");
  read->add_option("--relation", o->relation, "Relation");
  read->add_option("--user", o->user, "type:id, type:* or type:id#relation");
  on_store(read, rc, o, "tuple read",
           [](store::FgaStore& fga, const FgaOptions& opts) { return read_tuples(fga, opts); });
}

void add_query_commands(CLI::App* fga_cmd, int& rc, const std::shared_ptr<FgaOptions>& o) {
  auto* check_cmd = fga_cmd->add_subcommand(
      "check", "Is the user related to the object? Prints {\"allowed\": true|false}, exit 0");
  add_store_id(check_cmd, *o);
  add_model_id(check_cmd, *o);
  check_cmd->add_option("--user", o->user, "type:id, type:* or type:id#relation")->required();
  check_cmd->add_option("--relation", o->relation, "Relation")->required();
  check_cmd->add_option("--object", o->object, "type:id")->required();
  check_cmd->add_option("--context", o->context, "Condition parameters, a JSON object");
  check_cmd->add_option("--contextual-tuple", o->contextual_tuples,
                        "\"object relation user\" that holds for this check only (repeatable)");
  on_store(check_cmd, rc, o, "check",
           [](store::FgaStore& fga, const FgaOptions& opts) { return check(fga, opts); });

  auto* list = fga_cmd->add_subcommand(
      "list-objects", "The objects of a type the user has the relation with, all of them");
  add_store_id(list, *o);
  add_model_id(list, *o);
  list->add_option("--user", o->user, "type:id, type:* or type:id#relation")->required();
  list->add_option("--relation", o->relation, "Relation")->required();
  list->add_option("--type", o->type, "Object type")->required();
  list->add_option("--context", o->context, "Condition parameters, a JSON object");
  on_store(list, rc, o, "list-objects",
           [](store::FgaStore& fga, const FgaOptions& opts) { return list_objects(fga, opts); });
}

}  // namespace

void add_fga_commands(CLI::App& app, int& rc) {
  auto* fga_cmd = app.add_subcommand("fga", "Fine-grained authorization (OpenFGA-compatible)");
  fga_cmd->require_subcommand(1);
  auto options = std::make_shared<FgaOptions>();
  add_store_commands(fga_cmd, rc, options);
  auto* model_cmd = fga_cmd->add_subcommand("model", "Authorization models");
  model_cmd->require_subcommand(1);
  add_convert_command(model_cmd, rc);
  add_model_commands(model_cmd, rc, options);
  add_tuple_commands(fga_cmd, rc, options);
  add_query_commands(fga_cmd, rc, options);
}

}  // namespace tessera::app
