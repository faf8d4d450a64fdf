#include "plugin/json_config.h"

#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cmath>

#include "core/error.h"
#include "core/json_parse.h"

namespace xmr {

JsonConfig::JsonConfig(const std::string& json, std::string context) : context_(std::move(context)) {
  std::string error;
  if (!parse_json(json, owned_, error)) throw Error(context_ + ": malformed JSON: " + error);
  if (!owned_.IsObject()) throw Error(context_ + ": must be a JSON object");
  object_ = &owned_;
}

JsonConfig::JsonConfig(const rapidjson::Value& value, std::string context) : context_(std::move(context)) {
  if (!value.IsObject()) throw Error(context_ + ": must be a JSON object");
  object_ = &value;
}

void JsonConfig::fail(const char* key, const std::string& problem) const {
  throw Error(context_ + ": option \"" + key + "\": " + problem);
}

const rapidjson::Value* JsonConfig::find(const char* key) const {
  used_.insert(key);
  auto it = object_->FindMember(key);
  return it == object_->MemberEnd() ? nullptr : &it->value;
}

bool JsonConfig::has(const char* key) const { return object_->HasMember(key); }

std::string JsonConfig::get_string(const char* key, const std::string& fallback) const {
  const rapidjson::Value* v = find(key);
  if (!v) return fallback;
  if (!v->IsString()) fail(key, "must be a string");
  return std::string(v->GetString(), v->GetStringLength());
}

std::string JsonConfig::require_string(const char* key) const {
  if (!has(key)) fail(key, "is required");
  std::string s = get_string(key, "");
  if (s.empty()) fail(key, "must not be empty");
  return s;
}

std::string JsonConfig::get_choice(const char* key, const std::string& fallback,
                                   const std::vector<std::string>& allowed) const {
  const std::string s = get_string(key, fallback);
  for (const auto& a : allowed) {
    if (a == s) return s;
  }
  std::string list;
  for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
  fail(key, "\"" + s + "\" is not one of: " + list);
}

long long JsonConfig::get_int(const char* key, long long fallback, long long min, long long max) const {
  const rapidjson::Value* v = find(key);
  if (!v) return fallback;
  if (!v->IsInt64()) fail(key, "must be an integer");
  const long long x = v->GetInt64();
  if (x < min || x > max) fail(key, std::to_string(x) + " is outside " + std::to_string(min) + ".." + std::to_string(max));
  return x;
}

double JsonConfig::get_double(const char* key, double fallback, double min, double max) const {
  const rapidjson::Value* v = find(key);
  if (!v) return fallback;
  if (!v->IsNumber()) fail(key, "must be a number");
  const double x = v->GetDouble();
  if (!std::isfinite(x) || x < min || x > max) {
    fail(key, std::to_string(x) + " is outside " + std::to_string(min) + ".." + std::to_string(max));
  }
  return x;
}

bool JsonConfig::get_bool(const char* key, bool fallback) const {
  const rapidjson::Value* v = find(key);
  if (!v) return fallback;
  if (!v->IsBool()) fail(key, "must be true or false");
  return v->GetBool();
}

std::vector<std::string> JsonConfig::get_string_array(const char* key) const {
  const rapidjson::Value* v = find(key);
  std::vector<std::string> out;
  if (!v) return out;
  if (v->IsString()) return {std::string(v->GetString(), v->GetStringLength())};
  if (!v->IsArray()) fail(key, "must be a string or an array of strings");
  for (const auto& s : v->GetArray()) {
    if (!s.IsString()) fail(key, "must be a string or an array of strings");
    out.emplace_back(s.GetString(), s.GetStringLength());
  }
  return out;
}

const rapidjson::Value* JsonConfig::get_value(const char* key) const { return find(key); }

void JsonConfig::reject_unknown_keys(const std::vector<std::string>& also_allowed) const {
  for (auto it = object_->MemberBegin(); it != object_->MemberEnd(); ++it) {
    const std::string k(it->name.GetString(), it->name.GetStringLength());
    if (used_.count(k)) continue;
    bool ok = false;
    for (const auto& a : also_allowed) ok = ok || a == k;
    if (!ok) throw Error(context_ + ": unknown option \"" + k + "\"");
  }
}

std::string json_to_string(const rapidjson::Value& v) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  v.Accept(w);
  return std::string(buf.GetString(), buf.GetSize());
}

}  // namespace xmr
