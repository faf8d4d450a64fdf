#include <rapidjson/document.h>

#include <cstdio>
#include <vector>

#include "core/json_parse.h"
#include "core/model.h"
#include "index_tools/command.h"
#include "index_tools/options.h"

namespace xmr::cli {

int run_inspect(int argc, char** argv) {
  std::string model_path;
  po::options_description o("xmr inspect options");
  o.add_options()("model", po::value(&model_path)->required(), "model file");
  po::variables_map vm;
  if (!parse_options(argc, argv, "xmr inspect --model PATH", o, vm)) return 0;
  const Model m = Model::load(model_path);
  std::printf("model        %s\nfile size    %zu bytes\nfeatures     %zu\nlabels       %zu (%zu leaf slots)\n",
              model_path.c_str(), m.file_size(), m.num_features(), m.num_labels(), m.num_slots());
  std::printf("postprocess  %s\n", postprocessor_name(m.default_postprocessor()));
  if (m.num_trees() > 1) std::printf("trees        %zu (an ensemble: scores are the mean over the trees)\n", m.num_trees());
  size_t total = 0, slots = 0;
  for (size_t k = 0; k < m.num_trees(); ++k) {
    const TreeView& tree = m.member_tree(k);
    if (m.num_trees() > 1) std::printf("tree %zu\n", k + 1);
    std::printf("levels       %zu\n", tree.layers.size());
    size_t weights = 0;
    for (size_t t = 0; t < tree.layers.size(); ++t) {
      const LayerView& L = tree.layers[t];
      weights += L.nnz;
      std::printf("  level %zu: %zu nodes under %zu parents, %zu weights (%.1f per node; ranges %d B, slots %d B)\n", t + 1,
                  L.num_children, L.num_parents, L.nnz, L.num_children ? double(L.nnz) / L.num_children : 0.0,
                  L.feat_ptr32 ? 4 : 8, L.entry_child8 ? 1 : 2);
    }
    if (m.num_trees() > 1) std::printf("  weights    %zu\n", weights);
    total += weights;
    slots += tree.layers.back().num_children;
    // Leaf clusters per label: all 1 unless the model was disentangled.
    std::vector<size_t> copies;
    for (size_t l = 0; l < m.num_labels(); ++l) {
      const size_t c = tree.label_slot_ptr[l + 1] - tree.label_slot_ptr[l];
      if (copies.size() <= c) copies.resize(c + 1, 0);
      ++copies[c];
    }
    std::printf("leaves/label");
    for (size_t c = 1; c < copies.size(); ++c) {
      if (copies[c]) std::printf(" %zu: %zu labels%s", c, copies[c], c + 1 < copies.size() ? "," : "");
    }
    std::printf("\n");
  }
  std::printf("weights      %zu\n", total);
  // The file is memory-mapped (pages load on use); the heap holds the label
  // -> slot index built at load and, for small trees, the one-pass index.
  size_t heap = (m.num_trees() * (m.num_labels() + 1) + slots) * sizeof(Index);
  if (m.flat_index()) heap += m.flat_index()->heap_bytes();
  if (const Encoder* e = m.encoder()) {
    const size_t floats = e->num_features() * size_t(e->dim()) + size_t(e->layers()) * size_t(e->dim()) * size_t(e->dim() + 1);
    heap += floats * sizeof(float);  // loaded into Eigen matrices
    std::printf("encoder      deep matcher: %zu features -> %d dimensions, %d residual layers, %.1f MiB; the embedding, "
                "times %g, is appended to each query as features %zu..%zu\n",
                e->num_features(), e->dim(), e->layers(), floats * 4.0 / 1048576, double(m.encoder_weight()),
                m.num_features(), m.num_features() + size_t(e->dim()) - 1);
  } else {
    std::printf("encoder      none\n");
  }
  if (const KnnVote* k = m.knn()) {
    const KnnArrays& a = k->arrays();
    heap += k->heap_bytes();
    const size_t bytes = (a.num_features + a.num_rows + 2) * 8 + a.entries() * 8 + a.label_entries() * 4;
    std::printf("knn vote     the %d nearest of %zu training rows (%zu entries, %zu labels, %.1f MiB) vote with "
                "similarity^%g; fused score = %g x trees' + %g x vote\n",
                k->params().k, a.num_rows, a.entries(), a.label_entries(), bytes / 1048576.0, double(k->params().power),
                1.0 - double(k->params().weight), double(k->params().weight));
  } else {
    std::printf("knn vote     none\n");
  }
  std::printf("memory       %.1f MiB mapped from the file + %.1f KiB heap\n", m.file_size() / 1048576.0, heap / 1024.0);
  if (const FlatIndex* flat = m.flat_index()) {
    // Faster once the beam covers every level, if not before. Without an
    // embedding the choice does not depend on the query's length.
    const size_t typical_nnz = 32;
    int beam = 1;
    while (beam < kMaxBeamSize && !flat->faster(beam, flat->dense_dim + typical_nnz)) ++beam;
    std::string which = flat->dense_dim ? " (for queries of " + std::to_string(typical_nnz) + " features)" : "";
    if (!flat->row_features.empty()) {
      which += "; " + std::to_string(flat->row_features.size()) + " features on most nodes added as dense rows";
    }
    if (beam == 1) {
      std::printf("search       one pass over every tree's weights at every beam%s\n", which.c_str());
    } else {
      std::printf("search       one pass over every tree's weights at beams of %d or more, chunk by chunk below%s\n", beam,
                  which.c_str());
    }
  } else {
    std::printf("search       chunk by chunk (the trees have too many nodes or weights for the one-pass index)\n");
  }

  rapidjson::Document meta;
  std::string json_error;
  if (parse_json(m.metadata_json(), meta, json_error) && meta.IsObject() && meta.HasMember("train") && meta["train"].IsObject()) {
    std::printf("training    ");
    for (const auto& kv : meta["train"].GetObject()) {
      if (kv.value.IsString()) std::printf(" %s=%s", kv.name.GetString(), kv.value.GetString());
      else if (kv.value.IsNumber()) std::printf(" %s=%g", kv.name.GetString(), kv.value.GetDouble());
      else if (kv.value.IsBool()) std::printf(" %s=%s", kv.name.GetString(), kv.value.GetBool() ? "true" : "false");
      else if (kv.value.IsObject()) {
        std::printf(" %s={", kv.name.GetString());
        bool first = true;
        for (const auto& sub : kv.value.GetObject()) {
          if (sub.value.IsString()) std::printf("%s%s=%s", first ? "" : " ", sub.name.GetString(), sub.value.GetString());
          else if (sub.value.IsNumber()) std::printf("%s%s=%g", first ? "" : " ", sub.name.GetString(), sub.value.GetDouble());
          first = false;
        }
        std::printf("}");
      }
    }
    std::printf("\n");
  }
  const rapidjson::Value* parts = nullptr;
  if (!meta.HasParseError() && meta.HasMember("user") && meta["user"].IsObject() && meta["user"].HasMember("vectorizer")) {
    const auto& v = meta["user"]["vectorizer"];
    if (v.IsObject() && v.HasMember("parts") && v["parts"].IsArray()) parts = &v["parts"];
  }
  if (parts) {
    std::printf("vectorizer   (TF-IDF parts, stacked)\n  %-10s %-8s %-7s %-7s %-7s %-9s %-10s %-6s\n", "analyzer", "unit",
                "ngrams", "min_df", "max_df", "max_feat", "tf", "idf");
    for (const auto& part : parts->GetArray()) {
      auto num = [&](const char* k) { return part.HasMember(k) && part[k].IsNumber() ? part[k].GetDouble() : 0.0; };
      auto flag = [&](const char* k) { return part.HasMember(k) && part[k].IsBool() && part[k].GetBool(); };
      auto str = [&](const char* k) { return part.HasMember(k) && part[k].IsString() ? part[k].GetString() : "?"; };
      const char* tf = flag("binary") ? "binary" : flag("sublinear_tf") ? "sublinear" : "raw";
      char ngrams[32];
      std::snprintf(ngrams, sizeof ngrams, "%g-%g", num("ngram_min"), num("ngram_max"));
      std::printf("  %-10s %-8s %-7s %-7g %-7g %-9g %-10s %-6s%s\n", str("analyzer"), str("unit"), ngrams, num("min_df"),
                  num("max_df"), num("max_features"), tf, flag("smooth_idf") ? "smooth" : "plain",
                  flag("norm_l2") ? "  L2-normalised" : "");
    }
  } else {
    std::printf("vectorizer   none (a bag-of-words model: give it XC feature rows)\n");
  }
  if (const Calibration* c = m.calibration()) {
    std::printf("calibration  isotonic, %zu maps (ranks 1..%zu, then every later rank), %zu knots, fitted on %zu "
                "labels\n", c->num_maps(), c->num_maps() - 1, c->num_knots(), c->fitted_pairs());
    const rapidjson::Value* info = !meta.HasParseError() && meta.HasMember("calibration") ? &meta["calibration"] : nullptr;
    if (info && info->IsObject() && info->HasMember("source") && (*info)["source"].IsString()) {
      std::printf("  from %s\n", (*info)["source"].GetString());
    }
    if (info && info->IsObject() && info->HasMember("thresholds") && (*info)["thresholds"].IsArray()) {
      std::printf("  %-14s %9s %7s %9s   (top %d of each held-out row)\n", "probability >=", "precision", "recall",
                  "coverage", info->HasMember("top_k") && (*info)["top_k"].IsInt() ? (*info)["top_k"].GetInt() : 0);
      for (const auto& row : (*info)["thresholds"].GetArray()) {
        auto num = [&](const char* k) { return row.HasMember(k) && row[k].IsNumber() ? row[k].GetDouble() : 0.0; };
        std::printf("  %-14.2f %9.4f %7.4f %9.4f\n", num("probability"), num("precision"), num("recall"), num("coverage"));
      }
    }
  } else {
    std::printf("calibration  none (scores are not probabilities; see xmr calibrate)\n");
  }
  std::printf("metadata     %s\n", m.metadata_json().c_str());
  return 0;
}

}  // namespace xmr::cli
