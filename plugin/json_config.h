// Strict reading of a JSON config object: typed options with defaults and
// ranges, and an error for any key nobody asked for (a misspelt option must
// not be silently ignored). Errors read "<context>: option \"key\": problem".
#pragma once

#include <rapidjson/document.h>

#include <set>
#include <string>
#include <vector>

namespace xmr {

class JsonConfig {
 public:
  // Parses `json` (a JSON object). `context` names it in errors, e.g.
  // "pipeline config" or "stage 'rerank'".
  JsonConfig(const std::string& json, std::string context);
  // Wraps an object inside another document (no copy; `value` must outlive this).
  JsonConfig(const rapidjson::Value& value, std::string context);

  bool has(const char* key) const;
  std::string get_string(const char* key, const std::string& fallback) const;
  std::string require_string(const char* key) const;
  // One of `allowed`.
  std::string get_choice(const char* key, const std::string& fallback, const std::vector<std::string>& allowed) const;
  long long get_int(const char* key, long long fallback, long long min, long long max) const;
  double get_double(const char* key, double fallback, double min, double max) const;
  bool get_bool(const char* key, bool fallback) const;
  std::vector<std::string> get_string_array(const char* key) const;
  // A member that is an object or array, or nullptr; marks it as used.
  const rapidjson::Value* get_value(const char* key) const;
  // Throws when the object has a key none of the getters asked for (or
  // listed in `also_allowed`).
  void reject_unknown_keys(const std::vector<std::string>& also_allowed = {}) const;

  const std::string& context() const { return context_; }
  [[noreturn]] void fail(const char* key, const std::string& problem) const;

 private:
  const rapidjson::Value* find(const char* key) const;

  rapidjson::Document owned_;
  const rapidjson::Value* object_ = nullptr;
  std::string context_;
  mutable std::set<std::string> used_;
};

// A JSON value as compact text.
std::string json_to_string(const rapidjson::Value& v);

}  // namespace xmr
