// The pipeline config's model store ("models"): named models, their
// versions' files and the active version. Internal to the pipeline.
#pragma once

#include <rapidjson/document.h>

#include <string>
#include <utility>
#include <vector>

namespace xmr {

// A model of the config's store: its versions (name, resolved path) and the active one.
struct StoreEntry {
  std::string name;
  std::vector<std::pair<std::string, std::string>> versions;
  std::string active;
  const std::string* path_of(const std::string& version) const {
    for (const auto& [v, path] : versions) {
      if (v == version) return &path;
    }
    return nullptr;
  }
};

// `path`, relative to `base_dir` unless absolute.
std::string resolve_path(const std::string& path, const std::string& base_dir);

// Reads the config's "models": {"name": {"versions": {"v1": "file.xmr", ...},
// "active": "v1"}} (paths resolved against `base_dir`; "active" may be left
// out when there is one version). Throws xmr::Error naming the model and key.
std::vector<StoreEntry> read_model_store(const rapidjson::Value& models, const std::string& base_dir);

}  // namespace xmr
