#include "plugin/model_handle.h"

#include <lucene++/LuceneHeaders.h>

#include <algorithm>
#include <atomic>
#include <boost/filesystem.hpp>

#include "analyzers/utf8.h"
#include "core/error.h"
#include "plugin/json_config.h"

namespace xmr {

namespace {
std::atomic<uint64_t> next_generation{1};
}

ModelVersion::ModelVersion(TextModel model, std::string path, std::string version, uint64_t generation)
    : model_(std::move(model)),
      path_(std::move(path)),
      version_(std::move(version)),
      generation_(generation),
      labels_(model_.labels()) {}

std::shared_ptr<const SegmentLabels> ModelVersion::segment_labels(const Lucene::IndexReaderPtr& segment,
                                                                  const std::wstring& field) const {
  const Lucene::LuceneObjectPtr key = segment->getFieldCacheKey();
  {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    for (const auto& e : cache_) {
      if (e.key == key.get() && e.field == field && !e.alive.expired()) return e.labels;
    }
  }
  // Built outside the lock: a race builds it twice, which is harmless.
  auto built = std::make_shared<const SegmentLabels>(uninvert_labels(segment, field, labels_));
  tables_built_.fetch_add(1);
  std::lock_guard<std::mutex> lock(cache_mutex_);
  cache_.erase(std::remove_if(cache_.begin(), cache_.end(), [](const CacheEntry& e) { return e.alive.expired(); }),
               cache_.end());
  cache_.push_back({field, key.get(), key, built, nullptr});
  return built;
}

std::shared_ptr<const LabelDocs> ModelVersion::segment_label_docs(const Lucene::IndexReaderPtr& segment,
                                                                  const std::wstring& field) const {
  const std::shared_ptr<const SegmentLabels> labels = segment_labels(segment, field);
  auto entry_of = [&]() -> CacheEntry* {
    for (auto& e : cache_) {
      if (e.labels == labels) return &e;
    }
    return nullptr;
  };
  {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    if (CacheEntry* e = entry_of(); e && e->docs) return e->docs;
  }
  auto built = std::make_shared<const LabelDocs>(invert_labels(*labels));
  std::lock_guard<std::mutex> lock(cache_mutex_);
  CacheEntry* e = entry_of();
  if (!e) return built;  // the segment closed meanwhile
  if (!e->docs) e->docs = std::move(built);
  return e->docs;
}

ModelHandle::ModelHandle(const std::string& path, const std::string& version) : current_(load(path, version)) {}

std::shared_ptr<const ModelVersion> ModelHandle::load(const std::string& path, const std::string& version) {
  return std::make_shared<const ModelVersion>(TextModel::load(path), path, version, next_generation++);
}

std::shared_ptr<const void> ModelHandle::current() const { return current_version(); }

std::shared_ptr<const ModelVersion> ModelHandle::current_version() const { return std::atomic_load(&current_); }

void ModelHandle::reload(const std::string& path, const std::string& version) {
  std::lock_guard<std::mutex> lock(reload_mutex_);
  std::shared_ptr<const ModelVersion> next = load(path, version);  // throws before anything changes
  warm(*next);
  std::atomic_store(&current_, std::move(next));
}

void ModelHandle::warm(const ModelVersion& version) {
  std::vector<WarmSegment> alive;
  for (auto& w : warm_segments_) {
    const Lucene::IndexReaderPtr segment = w.reader.lock();
    if (!segment) continue;
    // The host may have closed it (its index was reopened): a reference taken
    // under the reader's lock either keeps it open while we read, or fails.
    try {
      segment->incRef();
    } catch (const Lucene::LuceneException&) {
      continue;
    }
    try {
      version.segment_labels(segment, w.field);
      if (w.label_docs) version.segment_label_docs(segment, w.field);
    } catch (...) {
      segment->decRef();
      throw;
    }
    segment->decRef();
    alive.push_back(std::move(w));
  }
  warm_segments_ = std::move(alive);
}

void ModelHandle::warm_segment_labels(const std::vector<Lucene::IndexReaderPtr>& segments, const std::wstring& field,
                                      bool label_docs) {
  std::lock_guard<std::mutex> lock(reload_mutex_);
  for (const auto& segment : segments) {
    const auto known = std::find_if(warm_segments_.begin(), warm_segments_.end(), [&](const WarmSegment& w) {
      return w.segment == segment.get() && w.field == field && !w.reader.expired();
    });
    if (known == warm_segments_.end()) {
      warm_segments_.push_back({field, label_docs, segment.get(), segment});
    } else {
      known->label_docs |= label_docs;
    }
  }
  warm(*current_version());
}

std::string ModelHandle::describe() const {
  const auto v = current_version();
  return (v->version() == v->path() ? v->path() : "version " + v->version() + ": " + v->path()) + " (generation " +
         std::to_string(v->generation()) + ", " +
         std::to_string(v->model().num_labels()) + " labels, " + std::to_string(v->segment_tables_built()) +
         " segment label tables built)";
}

namespace {

// Binds the model `model` names: a store model by its name, else a file
// (relative to the spec's base_dir) under `resource_name`.
ModelBinding bind_one(const std::string& model, const std::string& resource_name, const StageSpec& spec,
                      StageEnv& env) {
  ModelBinding b;
  if (const StoredModel* stored = env.stored_model(model)) {
    b.name = model;
    const StoredModel active = *stored;
    b.slot = env.resource(model, [&] { return std::make_shared<ModelHandle>(active.path, active.version); });
  } else {
    boost::filesystem::path path(model);
    if (!path.is_absolute() && !spec.base_dir.empty()) path = boost::filesystem::path(spec.base_dir) / path;
    b.name = resource_name;
    b.slot = env.resource(resource_name, [&] { return std::make_shared<ModelHandle>(path.string(), model); });
  }
  b.handle = std::static_pointer_cast<ModelHandle>(env.resource_at(b.slot));
  return b;
}

}  // namespace

ModelChoices::ModelChoices(const JsonConfig& config, const StageSpec& spec, StageEnv& env) : stage_(spec.name) {
  const std::string model = config.require_string("model");
  all_.push_back(bind_one(model, config.get_string("model_name", model), spec, env));
  if (!config.has("allowed_models")) return;
  selectable_ = true;
  for (const auto& name : config.get_string_array("allowed_models")) {
    if (name == all_.front().name) continue;
    if (std::any_of(all_.begin(), all_.end(), [&](const ModelBinding& b) { return b.name == name; })) {
      config.fail("allowed_models", "\"" + name + "\" is listed twice");
    }
    all_.push_back(bind_one(name, name, spec, env));
  }
}

const ModelVersion& ModelChoices::pick(QueryContext& ctx) const {
  const ModelBinding* b = &all_.front();
  if (ctx.model) {
    const auto found =
        std::find_if(all_.begin(), all_.end(), [&](const ModelBinding& m) { return m.name == *ctx.model; });
    if (found == all_.end()) throw Error("model \"" + *ctx.model + "\" is not one of this stage's allowed_models");
    b = &*found;
  }
  const ModelVersion& m = b->pinned(ctx);
  ctx.models_used.push_back({stage_, b->name, m.version()});
  return m;
}

std::vector<std::string> ModelChoices::names() const {
  std::vector<std::string> out;
  if (!selectable_) return out;
  for (const auto& b : all_) out.push_back(b.name);
  return out;
}

LabelField::LabelField(const JsonConfig& config, const char* key, const ModelChoices& models,
                       const Lucene::IndexSearcherPtr& searcher, bool label_docs)
    : key_(key), name_(config.require_string(key)), wide_name_(utf8_to_wide(name_)), label_docs_(label_docs) {
  for (const auto& choice : models.all()) {
    require_label_field(config, key, name_, *choice.handle->current_version(), searcher->getIndexReader());
  }
  searcher_changed(models, searcher);
}

void LabelField::searcher_changed(const ModelChoices& models, const Lucene::IndexSearcherPtr& searcher) {
  const Lucene::IndexReaderPtr reader = searcher->getIndexReader();
  require_indexed_field(reader, name_, key_);
  const SegmentMap map = map_segments(reader);
  for (const auto& choice : models.all()) {
    choice.handle->warm_segment_labels(map.segments, wide_name_, label_docs_);  // new segments only; the rest are cached
  }
  segments_.set(reader);
}

void require_label_field(const JsonConfig& config, const char* key, const std::string& field,
                         const ModelVersion& model, const Lucene::IndexReaderPtr& reader) {
  require_indexed_field(reader, field, config.context());
  const LabelTermOverlap o = count_label_terms(reader, utf8_to_wide(field), model.labels());
  if (o.terms > 0 && o.labels == 0) {
    config.fail(key, "none of the " + std::to_string(o.terms) + " terms of field \"" + field +
                         "\" is a label of model " + model.path());
  }
}

const SparseVectorView& vectorize_query(const ModelVersion& model, const std::string& text) {
  struct Cache {
    uint64_t generation = 0;
    std::string text;
    std::vector<Index> indices;
    std::vector<float> values;
    SparseVectorView view{};
  };
  thread_local Cache cache;
  if (cache.generation != model.generation() || cache.text != text) {
    cache.generation = 0;  // invalid while transform() runs, in case it throws
    model.text_model().vectorizer().transform(text, cache.indices, cache.values);
    cache.text = text;
    cache.generation = model.generation();
    cache.view = {cache.indices.data(), cache.values.data(), cache.indices.size()};
  }
  return cache.view;
}

}  // namespace xmr
