#include "core/model.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <omp.h>

#include <cmath>
#include <cstring>

#include "core/ensemble.h"
#include "core/error.h"
#include "core/json_parse.h"
#include "core/file_util.h"

namespace xmr {

namespace {

// Sections of tree m > 0 of an ensemble carry the prefix "tree/m/"; the
// first tree's have none (as in single-tree files).
std::string tree_prefix(size_t m) { return m == 0 ? "" : "tree/" + std::to_string(m) + "/"; }
std::string layer_section(const std::string& prefix, size_t t, const char* what) {
  return prefix + "layer/" + std::to_string(t) + "/" + what;
}

// `wide` narrowed to Narrow, as the bytes of a section (every value fits:
// narrow_fits() said so).
template <typename Narrow, typename Wide>
std::string narrowed(const std::vector<Wide>& wide) {
  std::string bytes(wide.size() * sizeof(Narrow), '\0');
  Narrow* out = reinterpret_cast<Narrow*>(bytes.data());
  for (size_t i = 0; i < wide.size(); ++i) out[i] = Narrow(wide[i]);
  return bytes;
}

// Adds one tree's sections; returns its "layers" metadata array. Each level's
// entry ranges and child slots are stored at the narrowest width that fits
// (recorded as "feat_ptr_bytes" and "child_slot_bytes"); `narrowed_any` is
// set when one is narrower than format 1's.
rapidjson::Value add_tree(ModelFileWriter& w, const std::vector<LayerData>& layers, const std::vector<Index>& slot_label,
                          const std::string& prefix, rapidjson::Document::AllocatorType& a, bool& narrowed_any) {
  rapidjson::Value out(rapidjson::kArrayType);
  for (size_t t = 0; t < layers.size(); ++t) {
    const LayerData& L = layers[t];
    const NarrowWidths narrow = narrow_fits(L.view());
    rapidjson::Value o(rapidjson::kObjectType);
    o.AddMember("parents", uint64_t(L.child_ptr.size() - 1), a);
    o.AddMember("children", uint64_t(L.child_ptr.back()), a);
    o.AddMember("chunk_features", uint64_t(L.feat_ids.size()), a);
    o.AddMember("nnz", uint64_t(L.entry_value.size()), a);
    o.AddMember("feat_ptr_bytes", uint64_t(narrow.feat_ptr32 ? 4 : 8), a);
    o.AddMember("child_slot_bytes", uint64_t(narrow.entry_child8 ? 1 : 2), a);
    out.PushBack(o, a);
    narrowed_any = narrowed_any || narrow.feat_ptr32 || narrow.entry_child8;
    w.add_array_view(layer_section(prefix, t, "child_ptr"), L.child_ptr);
    w.add_array_view(layer_section(prefix, t, "chunk_ptr"), L.chunk_ptr);
    w.add_array_view(layer_section(prefix, t, "feat_ids"), L.feat_ids);
    if (narrow.feat_ptr32) w.add_section(layer_section(prefix, t, "feat_ptr"), narrowed<uint32_t>(L.feat_ptr));
    else w.add_array_view(layer_section(prefix, t, "feat_ptr"), L.feat_ptr);
    if (narrow.entry_child8) w.add_section(layer_section(prefix, t, "entry_child"), narrowed<uint8_t>(L.entry_child));
    else w.add_array_view(layer_section(prefix, t, "entry_child"), L.entry_child);
    w.add_array_view(layer_section(prefix, t, "entry_value"), L.entry_value);
    w.add_array_view(layer_section(prefix, t, "bias"), L.bias);
  }
  w.add_array_view(prefix + "tree/slot_label", slot_label);
  return out;
}

std::string json_text(const rapidjson::Value& v) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  v.Accept(w);
  return buf.GetString();
}

// Typed access to a section, checking its length.
template <typename T>
const T* array_section(const ModelFileReader& f, const std::string& file, const std::string& name, size_t count) {
  const auto* s = f.find(name);
  if (!s) throw Error(file + ": corrupt model: section '" + name + "' missing");
  if (s->size != count * sizeof(T)) {
    throw Error(file + ": corrupt model: section '" + name + "' has " + std::to_string(s->size) + " bytes, expected " +
                std::to_string(count * sizeof(T)));
  }
  return reinterpret_cast<const T*>(s->data);
}

uint64_t json_uint(const rapidjson::Value& obj, const char* key, const std::string& file) {
  if (!obj.IsObject() || !obj.HasMember(key) || !obj[key].IsUint64()) {
    throw Error(file + ": corrupt model: metadata field '" + std::string(key) + "' missing or not an unsigned integer");
  }
  return obj[key].GetUint64();
}

// Checks one level's arrays so inference can never read out of bounds.
// `t` is the level's 1-based number, as `xmr inspect` shows it.
void validate_layer(const LayerView& L, size_t num_features, const std::string& file, size_t t) {
  auto fail = [&](const std::string& what) {
    return Error(file + ": corrupt model: level " + std::to_string(t) + ": " + what);
  };
  if (L.child_ptr[0] != 0 || L.chunk_ptr[0] != 0 || L.entry_begin(0) != 0) throw fail("arrays do not start at 0");
  if (L.child_ptr[L.num_parents] != L.num_children) throw fail("child ranges do not cover the level");
  if (L.chunk_ptr[L.num_parents] != L.num_chunk_feats) throw fail("chunk ranges do not cover the features");
  if (L.entry_begin(L.num_chunk_feats) != L.nnz) throw fail("feature ranges do not cover the weights");
  for (size_t p = 0; p < L.num_parents; ++p) {
    const size_t width = size_t(L.child_ptr[p + 1]) - L.child_ptr[p];
    if (L.child_ptr[p + 1] <= L.child_ptr[p] || width > kMaxChildrenPerNode) throw fail("bad child range of node " + std::to_string(p));
    if (L.chunk_ptr[p + 1] < L.chunk_ptr[p] || L.chunk_ptr[p + 1] > L.num_chunk_feats) throw fail("bad chunk range of node " + std::to_string(p));
    for (Offset j = L.chunk_ptr[p]; j < L.chunk_ptr[p + 1]; ++j) {
      if (L.feat_ids[j] >= num_features) throw fail("feature id out of range");
      if (j > L.chunk_ptr[p] && L.feat_ids[j] <= L.feat_ids[j - 1]) throw fail("chunk features not sorted");
      const Offset begin = L.entry_begin(j), end = L.entry_begin(j + 1);
      if (end < begin || end > L.nnz) throw fail("bad weight range");
      for (Offset e = begin; e < end; ++e) {
        if (L.child_of(e) >= width) throw fail("weight refers to a child outside its chunk");
        if (!std::isfinite(L.entry_value[e])) throw fail("non-finite weight");
      }
    }
  }
  for (size_t c = 0; c < L.num_children; ++c) {
    if (!std::isfinite(L.bias[c])) throw fail("non-finite bias");
  }
}


// Reads one tree: the levels listed in `owner`'s "layers", the sections under
// `prefix`, and the label -> slots arrays built into `arrays`.
TreeView read_tree(const ModelFileReader& file, const rapidjson::Value& owner, size_t depth, const std::string& prefix,
                   size_t num_features, size_t num_labels, const std::string& name, TreeArrays& arrays) {
  if (!owner.HasMember("layers") || !owner["layers"].IsArray() || owner["layers"].Size() != depth || depth == 0) {
    throw Error(name + ": corrupt model: metadata 'layers' does not match 'depth'");
  }
  TreeView tree;
  const size_t max_count = file.blob->size();  // no array can hold more entries than the file has bytes
  size_t parents = 1;
  for (size_t t = 0; t < depth; ++t) {
    const auto& o = owner["layers"][rapidjson::SizeType(t)];
    LayerView L;
    L.num_parents = json_uint(o, "parents", name);
    L.num_children = json_uint(o, "children", name);
    L.num_chunk_feats = json_uint(o, "chunk_features", name);
    L.nnz = json_uint(o, "nnz", name);
    const std::string level = "level " + std::to_string(t + 1);
    if (L.num_parents != parents) throw Error(name + ": corrupt model: " + level + " parent count mismatch");
    if (L.num_children > max_count || L.num_chunk_feats > max_count || L.nnz > max_count) {
      throw Error(name + ": corrupt model: " + level + " claims more entries than the file holds");
    }
    L.child_ptr = array_section<Index>(file, name, layer_section(prefix, t, "child_ptr"), L.num_parents + 1);
    L.chunk_ptr = array_section<Offset>(file, name, layer_section(prefix, t, "chunk_ptr"), L.num_parents + 1);
    L.feat_ids = array_section<Index>(file, name, layer_section(prefix, t, "feat_ids"), L.num_chunk_feats);
    // Files before format 3 have no widths: 8-byte ranges, 2-byte slots.
    const uint64_t ptr_bytes = o.HasMember("feat_ptr_bytes") ? json_uint(o, "feat_ptr_bytes", name) : 8;
    const uint64_t slot_bytes = o.HasMember("child_slot_bytes") ? json_uint(o, "child_slot_bytes", name) : 2;
    if (ptr_bytes == 4) {
      L.feat_ptr32 = array_section<uint32_t>(file, name, layer_section(prefix, t, "feat_ptr"), L.num_chunk_feats + 1);
    } else if (ptr_bytes == 8) {
      L.feat_ptr = array_section<Offset>(file, name, layer_section(prefix, t, "feat_ptr"), L.num_chunk_feats + 1);
    } else {
      throw Error(name + ": corrupt model: " + level + " feat_ptr_bytes " + std::to_string(ptr_bytes) + " (4 or 8 expected)");
    }
    if (slot_bytes == 1) {
      L.entry_child8 = array_section<uint8_t>(file, name, layer_section(prefix, t, "entry_child"), L.nnz);
    } else if (slot_bytes == 2) {
      L.entry_child = array_section<ChildSlot>(file, name, layer_section(prefix, t, "entry_child"), L.nnz);
    } else {
      throw Error(name + ": corrupt model: " + level + " child_slot_bytes " + std::to_string(slot_bytes) + " (1 or 2 expected)");
    }
    L.entry_value = array_section<float>(file, name, layer_section(prefix, t, "entry_value"), L.nnz);
    L.bias = array_section<float>(file, name, layer_section(prefix, t, "bias"), L.num_children);
    validate_layer(L, num_features, name, t + 1);
    tree.layers.push_back(L);
    parents = L.num_children;
  }
  // Lookups are built after every level is read so the vector never moves
  // under the views that point into it.
  arrays.lookups = std::make_shared<std::vector<LayerLookup>>();
  arrays.lookups->reserve(depth);
  for (LayerView& L : tree.layers) {
    arrays.lookups->push_back(build_lookup(L));
    L.lookup = &arrays.lookups->back();
  }
  const size_t num_slots = parents;
  // Every label needs a slot, so a header claiming more labels than slots
  // is corrupt: refuse it before allocating per-label arrays.
  if (num_labels > num_slots) {
    throw Error(name + ": corrupt model: " + std::to_string(num_labels) + " labels for " + std::to_string(num_slots) +
                " leaf slots");
  }
  tree.num_labels = num_labels;
  tree.slot_label = array_section<Index>(file, name, prefix + "tree/slot_label", num_slots);
  // label -> slots (counting sort keeps each label's slots in increasing order)
  arrays.label_slot_ptr = std::make_shared<std::vector<Index>>(num_labels + 1, 0);
  arrays.label_slots = std::make_shared<std::vector<Index>>(num_slots);
  auto& ptr = *arrays.label_slot_ptr;
  for (size_t s = 0; s < num_slots; ++s) {
    const Index l = tree.slot_label[s];
    if (l >= num_labels) throw Error(name + ": corrupt model: slot label " + std::to_string(l) + " out of range");
    ++ptr[l + 1];
  }
  for (size_t l = 0; l < num_labels; ++l) {
    if (ptr[l + 1] == 0) throw Error(name + ": corrupt model: label " + std::to_string(l) + " is in no leaf");
    ptr[l + 1] += ptr[l];
  }
  std::vector<Index> next(ptr.begin(), ptr.end() - 1);
  for (size_t s = 0; s < num_slots; ++s) (*arrays.label_slots)[next[tree.slot_label[s]]++] = Index(s);
  tree.label_slot_ptr = ptr.data();
  tree.label_slots = arrays.label_slots->data();
  tree.repeated_labels = num_slots != num_labels;
  for (size_t l = 0; l < num_labels; ++l) tree.max_label_slots = std::max<size_t>(tree.max_label_slots, ptr[l + 1] - ptr[l]);
  return tree;
}
}  // namespace

size_t Model::num_slots() const { return tree().layers.back().num_children; }

namespace {

// Adds parts' sections to `w` (the trees' arrays as views of `parts`) and
// returns the metadata text and the format version.
std::pair<std::string, uint32_t> describe_parts(const ModelParts& parts, ModelFileWriter& w) {
  if (parts.layers.empty()) throw Error("model: no levels");
  if (!parts.label_names.empty() && parts.label_names.size() != parts.num_labels) {
    throw Error("model: " + std::to_string(parts.label_names.size()) + " label names for " +
                std::to_string(parts.num_labels) + " labels");
  }
  rapidjson::Document meta(rapidjson::kObjectType);
  auto& a = meta.GetAllocator();
  meta.AddMember("format", "xmr-model", a);
  meta.AddMember("format_version", kModelFormatVersion, a);
  meta.AddMember("num_features", uint64_t(parts.num_features), a);
  meta.AddMember("num_labels", uint64_t(parts.num_labels), a);
  meta.AddMember("depth", uint64_t(parts.layers.size()), a);
  meta.AddMember("postprocessor", rapidjson::Value(postprocessor_name(parts.postprocessor), a), a);
  bool narrowed_any = false;
  meta.AddMember("layers", add_tree(w, parts.layers, parts.slot_label, "", a, narrowed_any), a);
  if (parts.more_trees.size() + 1 > kMaxTrees) {
    throw Error("model: " + std::to_string(parts.more_trees.size() + 1) + " trees, at most " + std::to_string(kMaxTrees));
  }
  if (!parts.label_names.empty()) {
    std::vector<uint64_t> offsets{0};
    std::string bytes;
    for (const auto& n : parts.label_names) {
      bytes += n;
      offsets.push_back(bytes.size());
    }
    w.add_array("labels/name_offsets", offsets);
    w.add_section("labels/name_bytes", bytes.data(), bytes.size());
  }
  rapidjson::Document train, user;
  std::string error;
  if (!parse_json(parts.train_params_json, train, error) || !train.IsObject()) {
    throw Error("model: train_params_json is not a JSON object" + (error.empty() ? "" : ": " + error));
  }
  if (!parse_json(parts.user_metadata_json, user, error) || !user.IsObject()) {
    throw Error("model: user_metadata_json is not a JSON object" + (error.empty() ? "" : ": " + error));
  }
  meta.AddMember("train", rapidjson::Value(train, a), a);
  meta.AddMember("user", rapidjson::Value(user, a), a);
  if (!parts.more_trees.empty()) {
    rapidjson::Value trees(rapidjson::kArrayType);
    for (size_t m = 0; m < parts.more_trees.size(); ++m) {
      const TreeParts& tp = parts.more_trees[m];
      if (tp.layers.empty()) throw Error("model: tree " + std::to_string(m + 2) + " has no levels");
      rapidjson::Document tree_train;
      if (!parse_json(tp.train_params_json, tree_train, error) || !tree_train.IsObject()) {
        throw Error("model: tree " + std::to_string(m + 2) + ": train_params_json is not a JSON object");
      }
      rapidjson::Value o(rapidjson::kObjectType);
      o.AddMember("depth", uint64_t(tp.layers.size()), a);
      o.AddMember("layers", add_tree(w, tp.layers, tp.slot_label, tree_prefix(m + 1), a, narrowed_any), a);
      o.AddMember("train", rapidjson::Value(tree_train, a), a);
      trees.PushBack(o, a);
    }
    meta.AddMember("more_trees", trees, a);
    meta.AddMember("combine", "mean", a);
  }
  for (const auto& s : parts.user_sections) {
    if (s.first.rfind("user/", 0) != 0) throw Error("model: user section '" + s.first + "' must start with 'user/'");
    w.add_section(s.first, s.second.data(), s.second.size());
  }
  if (parts.encoder) {
    if (parts.encoder->num_features() != parts.num_features) {
      throw Error("model: the encoder reads " + std::to_string(parts.encoder->num_features()) + " features, the model " +
                  std::to_string(parts.num_features));
    }
    if (!(parts.encoder_weight > 0) || !(parts.encoder_weight <= 100)) throw Error("model: the encoder weight must be in (0, 100]");
    rapidjson::Document info;
    if (!parse_json(parts.encoder_info_json, info, error) || !info.IsObject()) throw Error("model: encoder_info_json is not a JSON object");
    rapidjson::Value o(rapidjson::kObjectType);
    o.AddMember("dim", uint64_t(parts.encoder->dim()), a);
    o.AddMember("layers", uint64_t(parts.encoder->layers()), a);
    o.AddMember("weight", double(parts.encoder_weight), a);
    o.AddMember("train", rapidjson::Value(info, a), a);
    meta.AddMember("encoder", o, a);
    w.add_section("encoder/weights", parts.encoder->serialize());
  }
  if (parts.knn) {
    const KnnArrays& k = parts.knn->arrays();
    if (k.num_features != parts.num_features || k.num_labels != parts.num_labels) {
      throw Error("model: the knn vote's rows have " + std::to_string(k.num_features) + " features and " +
                  std::to_string(k.num_labels) + " labels, the model " + std::to_string(parts.num_features) + " and " +
                  std::to_string(parts.num_labels));
    }
    rapidjson::Value o(rapidjson::kObjectType);
    o.AddMember("k", parts.knn->params().k, a);
    o.AddMember("power", double(parts.knn->params().power), a);
    o.AddMember("weight", double(parts.knn->params().weight), a);
    o.AddMember("rows", uint64_t(k.num_rows), a);
    meta.AddMember("knn", o, a);
    w.add_section_view("knn/feature_ptr", k.feature_ptr, (k.num_features + 1) * sizeof(uint64_t));
    w.add_section_view("knn/rows", k.rows, k.entries() * sizeof(uint32_t));
    w.add_section_view("knn/values", k.values, k.entries() * sizeof(float));
    w.add_section_view("knn/label_ptr", k.label_ptr, (k.num_rows + 1) * sizeof(uint64_t));
    w.add_section_view("knn/labels", k.labels, k.label_entries() * sizeof(uint32_t));
  }
  // The oldest version that can read the file: 5 with a knn vote, 4 with an
  // encoder, 3 for narrow levels, else 2 for an ensemble, else 1.
  const uint32_t version = parts.knn       ? 5
                           : parts.encoder ? 4
                           : narrowed_any  ? 3
                           : parts.more_trees.empty() ? kMinModelFormatVersion
                                                      : 2;
  meta["format_version"].SetUint(version);
  return {json_text(meta), version};
}

}  // namespace

Model Model::from_parts(const ModelParts& parts) {
  ModelFileWriter w;
  const auto [metadata, version] = describe_parts(parts, w);
  return open(w.finish_blob(metadata, version), "<in-memory model>", LoadOptions{});
}

size_t save_model_parts(const ModelParts& parts, const std::string& path) {
  ModelFileWriter w;
  const std::pair<std::string, uint32_t> described = describe_parts(parts, w);  // (metadata, version)
  size_t size = 0;
  write_file_atomic(path, [&](const PieceSink& sink) { size = w.emit(described.first, described.second, sink); });
  return size;
}

Model Model::load(const std::string& path, const LoadOptions& options) {
  return open(ModelBlob::map_file(path), path, options);
}

Model Model::from_bytes(const std::string& bytes, const std::string& name, const LoadOptions& options) {
  return open(ModelBlob::copy_of(bytes), name, options);
}

Model Model::open(std::shared_ptr<const ModelBlob> blob, const std::string& name, const LoadOptions& options) {
  Model m;
  m.file_ = ModelFileReader::open(std::move(blob), name, options.verify_checksums);
  rapidjson::Document meta;
  std::string error;
  if (!parse_json(m.file_.metadata_json, meta, error) || !meta.IsObject()) {
    throw Error(name + ": corrupt model: metadata is not a JSON object" + (error.empty() ? "" : ": " + error));
  }
  if (!meta.HasMember("format") || !meta["format"].IsString() || std::string(meta["format"].GetString()) != "xmr-model") {
    throw Error(name + ": not an xmr model (metadata format field)");
  }
  m.num_features_ = json_uint(meta, "num_features", name);
  const size_t num_labels = json_uint(meta, "num_labels", name);
  const size_t depth = json_uint(meta, "depth", name);
  if (!meta.HasMember("postprocessor") || !meta["postprocessor"].IsString()) {
    throw Error(name + ": corrupt model: metadata field 'postprocessor' missing");
  }
  try {
    m.postprocessor_ = parse_postprocessor(meta["postprocessor"].GetString());
  } catch (const Error& e) {
    throw Error(name + ": " + e.what());
  }
  if (meta.HasMember("user") && meta["user"].IsObject()) m.user_metadata_ = json_text(meta["user"]);
  else m.user_metadata_ = "{}";
  if (num_labels == 0) throw Error(name + ": corrupt model: no labels");
  // The trees' features: the query's, then the encoder's embedding.
  size_t tree_features = m.num_features_;
  const auto* encoder_section = m.file_.find("encoder/weights");
  if (meta.HasMember("encoder") != (encoder_section != nullptr)) {
    throw Error(name + ": corrupt model: encoder metadata and section 'encoder/weights' do not come together");
  }
  if (encoder_section) {
    const rapidjson::Value& info = meta["encoder"];
    const uint64_t dim = json_uint(info, "dim", name);
    if (!info.HasMember("weight") || !info["weight"].IsNumber() || !(info["weight"].GetDouble() > 0) ||
        !(info["weight"].GetDouble() <= 100)) {
      throw Error(name + ": corrupt model: encoder weight missing or not in (0, 100]");
    }
    m.encoder_weight_ = float(info["weight"].GetDouble());
    m.encoder_ = std::make_shared<const Encoder>(Encoder::deserialize(
        std::string_view(reinterpret_cast<const char*>(encoder_section->data), encoder_section->size), name));
    if (m.encoder_->num_features() != m.num_features_ || uint64_t(m.encoder_->dim()) != dim) {
      throw Error(name + ": corrupt model: the encoder's shape (" + std::to_string(m.encoder_->num_features()) + " x " +
                  std::to_string(m.encoder_->dim()) + ") does not match the metadata");
    }
    tree_features += dim;
  }
  m.arrays_.emplace_back();
  m.trees_ = {read_tree(m.file_, meta, depth, "", tree_features, num_labels, name, m.arrays_.back())};
  if (meta.HasMember("more_trees")) {
    const rapidjson::Value& more = meta["more_trees"];
    if (!more.IsArray() || more.Size() == 0 || more.Size() + 1 > kMaxTrees) {
      throw Error(name + ": corrupt model: metadata 'more_trees' is not an array of 1 to " + std::to_string(kMaxTrees - 1) + " trees");
    }
    if (!meta.HasMember("combine") || !meta["combine"].IsString() || std::string(meta["combine"].GetString()) != "mean") {
      throw Error(name + ": model combines its trees by a rule this build does not know (metadata 'combine')");
    }
    for (rapidjson::SizeType i = 0; i < more.Size(); ++i) {
      const std::string which = name + ": tree " + std::to_string(i + 2);
      m.arrays_.emplace_back();
      m.trees_.push_back(read_tree(m.file_, more[i], json_uint(more[i], "depth", which), tree_prefix(i + 1),
                                   tree_features, num_labels, which, m.arrays_.back()));
    }
  }
  if (options.one_pass_index) m.flat_ = build_flat_index(m.trees_, tree_features, m.num_features_);
  const bool knn_section = m.file_.find("knn/feature_ptr") != nullptr;
  if (meta.HasMember("knn") != knn_section) {
    throw Error(name + ": corrupt model: knn metadata and section 'knn/feature_ptr' do not come together");
  }
  if (knn_section) {
    const rapidjson::Value& info = meta["knn"];
    KnnVoteParams kp;
    const uint64_t k = json_uint(info, "k", name);
    if (k > uint64_t(kMaxKnn)) throw Error(name + ": corrupt model: knn k " + std::to_string(k) + " is too large");
    kp.k = int(k);
    for (const char* key : {"power", "weight"}) {
      if (!info.HasMember(key) || !info[key].IsNumber()) throw Error(name + ": corrupt model: knn " + key + " missing");
    }
    kp.power = float(info["power"].GetDouble());
    kp.weight = float(info["weight"].GetDouble());
    KnnArrays ka;
    ka.num_features = m.num_features_;
    ka.num_labels = num_labels;
    ka.num_rows = json_uint(info, "rows", name);
    // Counts bounded before they size a section, so no product wraps.
    constexpr uint64_t kMaxEntries = uint64_t(1) << 40;
    if (ka.num_features > UINT32_MAX) throw Error(name + ": corrupt model: knn over " + std::to_string(ka.num_features) + " features");
    if (ka.num_rows > UINT32_MAX) throw Error(name + ": corrupt model: knn rows " + std::to_string(ka.num_rows) + " too many");
    ka.feature_ptr = array_section<uint64_t>(m.file_, name, "knn/feature_ptr", ka.num_features + 1);
    ka.label_ptr = array_section<uint64_t>(m.file_, name, "knn/label_ptr", ka.num_rows + 1);
    if (ka.entries() > kMaxEntries || ka.label_entries() > kMaxEntries) {
      throw Error(name + ": corrupt model: knn entry counts out of range");
    }
    ka.rows = array_section<uint32_t>(m.file_, name, "knn/rows", ka.entries());
    ka.values = array_section<float>(m.file_, name, "knn/values", ka.entries());
    ka.labels = array_section<uint32_t>(m.file_, name, "knn/labels", ka.label_entries());
    m.knn_ = KnnVote::view(ka, kp, m.file_.blob, name);
  }
  if (const auto* knots = m.file_.find("calibration/knots")) {
    const rapidjson::Value* info = meta.HasMember("calibration") ? &meta["calibration"] : nullptr;
    if (!info || !info->IsObject()) throw Error(name + ": corrupt model: calibration without its metadata");
    m.calibration_ = std::make_shared<const Calibration>(Calibration::deserialize(
        std::string(reinterpret_cast<const char*>(knots->data), knots->size), json_uint(*info, "pairs", name), name));
  }

  if (m.file_.find("labels/name_offsets")) {
    const auto* bytes = m.file_.find("labels/name_bytes");
    if (!bytes) throw Error(name + ": corrupt model: label names without their bytes");
    m.label_name_offsets_ = array_section<uint64_t>(m.file_, name, "labels/name_offsets", num_labels + 1);
    for (size_t l = 0; l < num_labels; ++l) {
      if (m.label_name_offsets_[l + 1] < m.label_name_offsets_[l]) throw Error(name + ": corrupt model: label name offsets decrease");
    }
    if (m.label_name_offsets_[0] != 0 || m.label_name_offsets_[num_labels] != bytes->size) {
      throw Error(name + ": corrupt model: label name offsets do not cover the names");
    }
    m.label_name_bytes_ = reinterpret_cast<const char*>(bytes->data);
  }
  return m;
}

Model Model::with_calibration(const Calibration& calibration, const std::string& info_json) const {
  if (calibration.empty()) throw Error("model: an empty calibration");
  rapidjson::Document meta, info;
  std::string error;
  if (!parse_json(file_.metadata_json, meta, error) || !meta.IsObject()) throw Error("model: metadata is not a JSON object");
  if (!parse_json(info_json, info, error) || !info.IsObject()) throw Error("model: calibration info is not a JSON object");
  auto& a = meta.GetAllocator();
  rapidjson::Value c(info, a);
  if (c.HasMember("form")) c.RemoveMember("form");
  if (c.HasMember("pairs")) c.RemoveMember("pairs");
  if (c.HasMember("knots")) c.RemoveMember("knots");
  c.AddMember("form", "isotonic", a);
  c.AddMember("pairs", uint64_t(calibration.fitted_pairs()), a);
  c.AddMember("knots", uint64_t(calibration.num_knots()), a);
  if (meta.HasMember("calibration")) meta.RemoveMember("calibration");
  meta.AddMember("calibration", c, a);
  ModelFileWriter w;
  for (const auto& [section, bytes] : file_.sections) {
    if (section != "calibration/knots") w.add_section_view(section, bytes.data, bytes.size);  // file_ outlives w
  }
  const std::string knots = calibration.serialize();
  w.add_section("calibration/knots", knots.data(), knots.size());
  FileHeader h;
  std::memcpy(&h, file_.blob->data(), sizeof h);
  LoadOptions options;
  options.one_pass_index = flat_ != nullptr;  // as this model was opened
  return open(w.finish_blob(json_text(meta), h.format_version), "<in-memory model>", options);
}

void Model::save(const std::string& path) const { write_file_atomic(path, file_.blob->data(), file_.blob->size()); }

std::string Model::label_name(Index label) const {
  if (label >= num_labels()) throw Error("label id " + std::to_string(label) + " out of range");
  if (!label_name_offsets_) return std::to_string(label);
  return std::string(label_name_bytes_ + label_name_offsets_[label],
                     label_name_offsets_[label + 1] - label_name_offsets_[label]);
}

PredictParams Model::default_predict_params() const {
  PredictParams p;
  p.postprocessor = postprocessor_;
  return p;
}

SparseVectorView Model::with_embedding(const SparseVectorView& q, InferenceWorkspace& ws) const {
  if (!encoder_) return q;
  const size_t dim = size_t(encoder_->dim());
  ws.deep_ids.resize(q.nnz + dim);
  ws.deep_values.resize(q.nnz + dim);
  // q's ids are below num_features_, so the appended ones keep the row sorted.
  std::copy(q.indices, q.indices + q.nnz, ws.deep_ids.begin());
  std::copy(q.values, q.values + q.nnz, ws.deep_values.begin());
  float* emb = ws.deep_values.data() + q.nnz;
  encoder_->encode(q, emb, ws.encoder);
  for (size_t j = 0; j < dim; ++j) {
    ws.deep_ids[q.nnz + j] = Index(num_features_ + j);
    emb[j] *= encoder_weight_;
  }
  return SparseVectorView{ws.deep_ids.data(), ws.deep_values.data(), q.nnz + dim};
}

// The trees' top max(top_k, beam) labels, to fuse with the votes (as an
// ensemble's trees each list that many).
static PredictParams knn_tree_params(const PredictParams& params) {
  PredictParams p = params;
  p.top_k = std::max(params.top_k, params.beam_size);
  return p;
}

void Model::predict(const SparseVectorView& query, const PredictParams& params, InferenceWorkspace& ws,
                    std::vector<ScoredLabel>& out) const {
  if (knn_) {
    search_trees(query, knn_tree_params(params), ws, ws.knn_trees);
    knn_->fuse(query, ws.knn_trees, size_t(params.top_k), ws.knn, out);
    return;
  }
  search_trees(query, params, ws, out);
}

void Model::search_trees(const SparseVectorView& query, const PredictParams& params, InferenceWorkspace& ws,
                         std::vector<ScoredLabel>& out) const {
  const SparseVectorView q = with_embedding(query, ws);
  if (flat_ && flat_->faster(params.beam_size, q.nnz)) {
    flat_search(*flat_, trees_, q, params, ws, out);
  } else if (trees_.size() == 1) {
    beam_search(trees_.front(), q, params, ws, out);
  } else {
    ensemble_search(trees_, q, params, ws, out);
  }
}

std::vector<std::vector<ScoredLabel>> Model::predict_batch(const CsrMatrix& X, const PredictParams& params, int threads,
                                                           BatchOrder order) const {
  params.validate();
  if (X.cols > num_features_) {
    throw Error("query matrix has " + std::to_string(X.cols) + " features, the model " + std::to_string(num_features_));
  }
  const int nt = threads > 0 ? threads : omp_get_max_threads();
  if (knn_) {
    // The trees' lists for the batch, then each row fused with its votes.
    Model trees_only = *this;
    trees_only.knn_.reset();
    std::vector<std::vector<ScoredLabel>> out = trees_only.predict_batch(X, knn_tree_params(params), nt, order);
#pragma omp parallel num_threads(nt)
    {
      KnnWorkspace ws;
      std::vector<ScoredLabel> fused;
#pragma omp for schedule(dynamic, 64)
      for (size_t i = 0; i < X.rows; ++i) {
        knn_->fuse(X.row(i), out[i], size_t(params.top_k), ws, fused);
        out[i].swap(fused);
      }
    }
    return out;
  }
  if (encoder_) {
    // The batch with its embeddings appended, then searched like any batch.
    Model trees_only = *this;
    trees_only.encoder_.reset();
    trees_only.num_features_ += size_t(encoder_->dim());
    return trees_only.predict_batch(append_embedding(X, encoder_->encode_rows(X, nt), encoder_weight_, num_features_),
                                    params, nt, order);
  }
  std::vector<std::vector<ScoredLabel>> out(X.rows);
  // The one-pass search reads no chunk per parent, so ordering by chunk has
  // nothing to share (chosen for the average row; predict chooses per row).
  if (order == BatchOrder::kByQuery ||
      (flat_ && X.rows > 0 && flat_->faster(params.beam_size, (X.nnz() + X.rows - 1) / X.rows))) {
#pragma omp parallel num_threads(nt)
    {
      InferenceWorkspace ws;
#pragma omp for schedule(dynamic, 64)
      for (size_t i = 0; i < X.rows; ++i) predict(X.row(i), params, ws, out[i]);
    }
    return out;
  }
  const size_t blocks = (X.rows + kBatchBlockRows - 1) / kBatchBlockRows;
#pragma omp parallel num_threads(nt)
  {
    BatchWorkspace ws;
    // Ensembles: each tree's results for the block, then combined row by row.
    std::vector<std::vector<std::vector<ScoredLabel>>> found(trees_.size() > 1 ? trees_.size() : 0);
    std::vector<const std::vector<ScoredLabel>*> row_found(found.size());
    InferenceWorkspace combine_ws;
    const PredictParams tree_params = ensemble_tree_params(params);
#pragma omp for schedule(dynamic, 1)
    for (size_t b = 0; b < blocks; ++b) {
      const size_t begin = b * kBatchBlockRows, end = std::min(X.rows, begin + kBatchBlockRows);
      if (found.empty()) {
        beam_search_batch(trees_.front(), X, begin, end, params, ws, out.data() + begin);
        continue;
      }
      for (size_t m = 0; m < trees_.size(); ++m) {
        found[m].resize(end - begin);
        beam_search_batch(trees_[m], X, begin, end, tree_params, ws, found[m].data());
      }
      for (size_t i = begin; i < end; ++i) {
        for (size_t m = 0; m < trees_.size(); ++m) row_found[m] = &found[m][i - begin];
        ensemble_combine(trees_, row_found, params, combine_ws, out[i]);
      }
    }
  }
  return out;
}

void Model::score_labels(const SparseVectorView& query, const Index* labels, size_t n, const PredictParams& params,
                         InferenceWorkspace& ws, float* out) const {
  const SparseVectorView q = with_embedding(query, ws);
  if (trees_.size() == 1) {
    xmr::score_labels(trees_.front(), q, labels, n, params.postprocessor, params.repeated, ws, out);
  } else {
    ensemble_score_labels(trees_, q, labels, n, params.postprocessor, params.repeated, ws, out);
  }
  if (knn_) knn_->fuse_scores(query, labels, n, ws.knn, out);
}

}  // namespace xmr
