#include "tessera/principal.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "core/json.h"

namespace tessera::resource {

Claims::Claims(nlohmann::json value) : parsed_(new nlohmann::json(std::move(value))) {}

Claims Claims::from_text(std::string text) {
  Claims out;
  out.text_ = std::move(text);
  return out;
}

Claims::Claims(const Claims& other) : text_(other.text_) {
  if (const nlohmann::json* p = other.parsed_.load(std::memory_order_acquire)) {
    parsed_.store(new nlohmann::json(*p), std::memory_order_relaxed);
  }
}

Claims::Claims(Claims&& other) noexcept
    : text_(std::move(other.text_)),
      parsed_(other.parsed_.exchange(nullptr, std::memory_order_acq_rel)) {}

Claims& Claims::operator=(const Claims& other) {
  if (this != &other) *this = Claims(other);
  return *this;
}

Claims& Claims::operator=(Claims&& other) noexcept {
  if (this != &other) {
    text_ = std::move(other.text_);
    delete parsed_.exchange(other.parsed_.exchange(nullptr, std::memory_order_acq_rel),
                            std::memory_order_acq_rel);
  }
  return *this;
}

Claims::~Claims() { delete parsed_.load(std::memory_order_acquire); }

const nlohmann::json& Claims::json() const { return *tree(); }

nlohmann::json* Claims::tree() const {
  if (nlohmann::json* p = parsed_.load(std::memory_order_acquire)) return p;
  auto tree = std::make_unique<nlohmann::json>(nlohmann::json::object());
  if (!text_.empty()) {
    if (auto parsed = json::parse_strict(text_)) *tree = std::move(*parsed);
  }
  // Threads that get here at once each parse; the first to publish its tree wins and the others
  // read that one. text_ stays: another thread may be parsing it.
  nlohmann::json* expected = nullptr;
  if (parsed_.compare_exchange_strong(expected, tree.get(), std::memory_order_acq_rel)) {
    return tree.release();
  }
  return expected;
}

const nlohmann::json* Claims::find(std::string_view name) const {
  const nlohmann::json& j = json();
  if (!j.is_object()) return nullptr;
  auto it = j.find(name);
  return it == j.end() ? nullptr : &*it;
}

nlohmann::json& Claims::mutable_json() {
  nlohmann::json* j = tree();
  text_.clear();
  text_.shrink_to_fit();
  return *j;
}

bool Principal::has_scope(std::string_view scope) const {
  return std::find(scopes.begin(), scopes.end(), scope) != scopes.end();
}

bool Principal::has_all_scopes(const std::vector<std::string>& required) const {
  return std::all_of(required.begin(), required.end(),
                     [this](const std::string& s) { return has_scope(s); });
}

bool Principal::has_any_scope(const std::vector<std::string>& required) const {
  return std::any_of(required.begin(), required.end(),
                     [this](const std::string& s) { return has_scope(s); });
}

}  // namespace tessera::resource
