// Beam search chunk by chunk against the one-pass search of small trees
// (core/flat_search.h), on one model file and a test file, in one process
// with alternating passes, 1 thread: batch time per query (best pass, rows
// one after another as predict_batch searches with the index) and
// single-query p50/p99 (over every pass) at each beam, whichever of the two
// the model would choose (FlatIndex::faster, printed); checks that both give
// the same labels and scores. A deep matcher's queries are encoded once,
// before timing, and both searches then go row by row over the trees.
//
//   flat_search_bench MODEL TEST_FILE [--beams 5,10] [--passes 8] [--normalize] [--by-length]
//
// --by-length also prints single-query p50/p99 per quarter of the test rows
// by query length.
//
// A text model's TEST_FILE is JSONL (vectorized by the model); otherwise XC.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "analyzers/text_dataset.h"
#include "analyzers/text_model.h"
#include "core/ensemble.h"
#include "core/error.h"
#include "core/flat_search.h"
#include "core/model.h"
#include "core/xc_format.h"

using namespace xmr;

namespace {

using Clock = std::chrono::steady_clock;

double percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, size_t(q * double(v.size())))];
}

struct Timing {
  double best_batch_ms = 1e300;
  std::vector<double> single_us;
};

}  // namespace

int main(int argc, char** argv) try {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s MODEL TEST_FILE [--beams 5,10] [--passes 8] [--normalize] [--by-length]\n", argv[0]);
    return 2;
  }
  const std::string model_path = argv[1], test_path = argv[2];
  std::vector<int> beams{5, 10};
  int passes = 8;
  bool normalize = false, by_length = false;
  for (int a = 3; a < argc; ++a) {
    const std::string k = argv[a];
    if (k == "--normalize") {
      normalize = true;
    } else if (k == "--by-length") {
      by_length = true;
    } else if (k == "--passes" && a + 1 < argc) {
      passes = std::max(1, std::atoi(argv[++a]));
    } else if (k == "--beams" && a + 1 < argc) {
      beams.clear();
      std::stringstream ss(argv[++a]);
      for (std::string b; std::getline(ss, b, ',');) beams.push_back(std::atoi(b.c_str()));
    } else {
      throw Error("unknown argument '" + k + "'");
    }
  }
  LoadOptions chunk_options;
  chunk_options.one_pass_index = false;
  const Model one_pass = Model::load(model_path), chunks = Model::load(model_path, chunk_options);
  if (!one_pass.flat_index()) throw Error(model_path + ": too large for the one-pass index; nothing to compare");
  std::vector<TreeView> trees, chunk_trees;
  for (size_t m = 0; m < one_pass.num_trees(); ++m) {
    trees.push_back(one_pass.member_tree(m));
    chunk_trees.push_back(chunks.member_tree(m));
  }
  CsrMatrix X;
  if (TextModel::is_text_model(one_pass)) {
    X = TextModel::from_model(one_pass, model_path).vectorizer().transform_batch(read_jsonl_dataset(test_path).texts, 1);
  } else {
    X = read_xc_file(test_path).features;
    if (normalize) X.normalize_rows_l2();
  }
  if (X.cols > one_pass.num_features()) X.cols = one_pass.num_features();
  // The one pass searches the rows as the trees see them: a deep matcher's
  // with their embedding appended, as Model::predict appends it.
  const Encoder* encoder = one_pass.encoder();
  const CsrMatrix X_trees = encoder ? append_embedding(X, encoder->encode_rows(X, 1), one_pass.encoder_weight(),
                                                       one_pass.num_features())
                                    : CsrMatrix{};
  const CsrMatrix& rows_for_trees = encoder ? X_trees : X;
  double dense_weights = 0;
  for (const auto& levels : one_pass.flat_index()->level_cost) {
    for (const auto& L : levels) dense_weights += L.dense_weights;
  }
  std::printf("%s: %zu trees, %zu test rows, one-pass index %.1f MiB (%zu features as dense rows), %zu embedding "
              "features with %.0f weights\n",
              model_path.c_str(), one_pass.num_trees(), X.rows, double(one_pass.flat_index()->heap_bytes()) / 1048576.0,
              one_pass.flat_index()->row_features.size(), one_pass.flat_index()->dense_dim, dense_weights);
  for (int beam : beams) {
    PredictParams p = one_pass.default_predict_params();
    p.beam_size = beam;
    const size_t mean_nnz = X.rows ? (X.nnz() + X.rows - 1) / X.rows : 0;
    const bool used = one_pass.flat_index()->faster(beam, mean_nnz + one_pass.flat_index()->dense_dim);
    // m = 0: chunk by chunk (the model without the index); 1: the one pass.
    auto search = [&](int m, size_t i, InferenceWorkspace& ws, std::vector<ScoredLabel>& out) {
      const SparseVectorView q = rows_for_trees.row(i);
      if (m == 1) flat_search(*one_pass.flat_index(), trees, q, p, ws, out);
      else if (chunk_trees.size() == 1) beam_search(chunk_trees.front(), q, p, ws, out);
      else ensemble_search(chunk_trees, q, p, ws, out);
    };
    Timing t[2];
    std::vector<std::vector<ScoredLabel>> results[2];
    for (int pass = 0; pass < passes; ++pass) {
      for (int m = 0; m < 2; ++m) {
        const auto t0 = Clock::now();
        if (m == 0 && !encoder) {
          results[m] = chunks.predict_batch(X, p, 1);
        } else {
          results[m].resize(X.rows);
          InferenceWorkspace ws;
          for (size_t i = 0; i < X.rows; ++i) search(m, i, ws, results[m][i]);
        }
        t[m].best_batch_ms = std::min(
            t[m].best_batch_ms, std::chrono::duration<double, std::milli>(Clock::now() - t0).count() / double(X.rows));
        InferenceWorkspace ws;
        std::vector<ScoredLabel> out;
        for (size_t i = 0; i < X.rows; ++i) {
          const auto q0 = Clock::now();
          search(m, i, ws, out);
          t[m].single_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - q0).count());
        }
      }
    }
    const bool same = results[0] == results[1];
    std::printf("beam %3d (%s): batch ms/q %.4f -> %.4f (%.2fx), p50 us %.1f -> %.1f (%.2fx), p99 us %.1f -> %.1f "
                "(%.2fx); results %s\n",
                beam, used ? "the model searches in one pass" : "the model searches chunk by chunk", t[0].best_batch_ms, t[1].best_batch_ms,
                t[1].best_batch_ms / t[0].best_batch_ms, percentile(t[0].single_us, 0.5),
                percentile(t[1].single_us, 0.5), percentile(t[1].single_us, 0.5) / percentile(t[0].single_us, 0.5),
                percentile(t[0].single_us, 0.99), percentile(t[1].single_us, 0.99),
                percentile(t[1].single_us, 0.99) / percentile(t[0].single_us, 0.99), same ? "identical" : "DIFFER");
    if (!same) return 1;
    if (by_length) {
      // Single-query times by the query's length (features, the embedding's
      // included), in quarters of the test rows: which search the long ones favour.
      std::vector<size_t> order(X.rows);
      for (size_t i = 0; i < X.rows; ++i) order[i] = i;
      std::stable_sort(order.begin(), order.end(),
                       [&](size_t a, size_t b) { return rows_for_trees.row_nnz(a) < rows_for_trees.row_nnz(b); });
      for (size_t part = 0; part < 4; ++part) {
        const size_t lo = part * X.rows / 4, hi = (part + 1) * X.rows / 4;
        if (lo == hi) continue;
        std::vector<double> us[2];
        for (int m = 0; m < 2; ++m) {
          for (int pass = 0; pass < passes; ++pass) {
            for (size_t k = lo; k < hi; ++k) us[m].push_back(t[m].single_us[size_t(pass) * X.rows + order[k]]);
          }
        }
        std::printf("  queries of %zu-%zu features: p50 us %.1f -> %.1f (%.2fx), p99 us %.1f -> %.1f (%.2fx)\n",
                    rows_for_trees.row_nnz(order[lo]), rows_for_trees.row_nnz(order[hi - 1]), percentile(us[0], 0.5),
                    percentile(us[1], 0.5), percentile(us[1], 0.5) / percentile(us[0], 0.5), percentile(us[0], 0.99),
                    percentile(us[1], 0.99), percentile(us[1], 0.99) / percentile(us[0], 0.99));
      }
    }
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "flat_search_bench: %s\n", e.what());
  return 1;
}
