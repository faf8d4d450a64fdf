#include "plugin/model_store.h"

#include <boost/filesystem.hpp>

#include "core/error.h"
#include "plugin/json_config.h"

namespace xmr {

std::string resolve_path(const std::string& path, const std::string& base_dir) {
  boost::filesystem::path p(path);
  if (!p.is_absolute() && !base_dir.empty()) p = boost::filesystem::path(base_dir) / p;
  return p.string();
}

std::vector<StoreEntry> read_model_store(const rapidjson::Value& models, const std::string& base_dir) {
  const std::string where = "pipeline config: \"models\"";
  if (!models.IsObject()) throw Error(where + ": must be an object of model names");
  std::vector<StoreEntry> store;
  for (auto m = models.MemberBegin(); m != models.MemberEnd(); ++m) {
    StoreEntry e;
    e.name = m->name.GetString();
    const std::string here = where + ": \"" + e.name + "\"";
    if (e.name.empty()) throw Error(where + ": a model name is empty");
    for (const auto& other : store) {
      if (other.name == e.name) throw Error(here + ": named twice");  // JSON parsers keep both
    }
    if (!m->value.IsObject()) throw Error(here + ": must be an object with \"versions\" and \"active\"");
    const JsonConfig config(m->value, here);
    const rapidjson::Value* versions = config.get_value("versions");
    if (!versions || !versions->IsObject() || versions->MemberCount() == 0) {
      config.fail("versions", "is required: an object of version names and model files");
    }
    for (auto v = versions->MemberBegin(); v != versions->MemberEnd(); ++v) {
      if (!v->value.IsString()) config.fail("versions", "\"" + std::string(v->name.GetString()) + "\" must name a file");
      e.versions.emplace_back(v->name.GetString(), resolve_path(v->value.GetString(), base_dir));
    }
    e.active = config.get_string("active", e.versions.size() == 1 ? e.versions[0].first : "");
    if (e.active.empty()) config.fail("active", "is required when a model has several versions");
    if (!e.path_of(e.active)) config.fail("active", "\"" + e.active + "\" is not one of its versions");
    config.reject_unknown_keys();
    store.push_back(std::move(e));
  }
  return store;
}

}  // namespace xmr
