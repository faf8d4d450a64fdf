#include "core/encoder_trainer.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "core/error.h"
#include "core/rng.h"
#include "core/row_kernels.h"

namespace xmr {

void EncoderTrainParams::validate() const {
  if (dim < 1 || dim > 4096) throw Error("encoder dim must be in 1..4096");
  if (layers < 0 || layers > 8) throw Error("encoder layers must be in 0..8");
  if (epochs < 1 || epochs > 1000) throw Error("encoder epochs must be in 1..1000");
  if (batch_size < 1 || batch_size > 65536) throw Error("encoder batch size must be in 1..65536");
  if (!(learning_rate > 0) || !(learning_rate < 10)) throw Error("encoder learning rate must be in (0, 10)");
  if (finest_layer < 0) throw Error("encoder finest layer must be >= 0");
  if (beam < 1 || max_candidates < 1) throw Error("encoder beam and max candidates must be >= 1");
  if (!(feature_dropout >= 0) || !(feature_dropout < 1)) throw Error("encoder feature dropout must be in [0, 1)");
}

void DeepMatcherParams::validate() const {
  encoder.validate();
  if (!std::isfinite(weight) || !(weight > 0) || weight > 100) throw Error("deep matcher weight must be in (0, 100]");
  if (folds != 0 && (folds < 2 || folds > 10)) throw Error("deep matcher folds must be 0 or 2..10");
}

std::string DeepMatcherParams::to_json() const {
  char buf[320];
  std::snprintf(buf, sizeof buf,
                "{\"dim\":%d,\"layers\":%d,\"epochs\":%d,\"batch_size\":%d,\"learning_rate\":%g,\"finest_layer\":%d,"
                "\"beam\":%d,\"max_candidates\":%d,\"loss\":\"%s\",\"feature_dropout\":%g,\"weight\":%g,\"folds\":%d}",
                encoder.dim, encoder.layers, encoder.epochs, encoder.batch_size, double(encoder.learning_rate),
                encoder.finest_layer, encoder.beam, encoder.max_candidates, encoder.softmax ? "softmax" : "squared-hinge",
                double(encoder.feature_dropout), double(weight), folds);
  return buf;
}

namespace {

constexpr size_t kChunk = 16;  // instances whose gradients one task sums; fixed, so sums do not depend on threads
constexpr float kBeta1 = 0.9f, kBeta2 = 0.999f, kEps = 1e-8f;

// One Adam step's learning rate and bias corrections (global step t >= 1).
struct AdamStep {
  float lr, c1, c2;
  AdamStep(float lr_, int64_t t) : lr(lr_), c1(1 - std::pow(kBeta1, float(t))), c2(1 - std::pow(kBeta2, float(t))) {}
};

// Adam state of a block of parameters stored as rows (updated row by row:
// lazily for sparse rows, every row for dense blocks). Distinct rows may be
// updated from different threads at once.
struct AdamRows {
  // Same shape as the parameters (rows x cols); row-major, as a step reads
  // and writes whole rows (column-major put each of a row's floats on its own
  // cache line: the step took a third of deep training).
  Eigen::Array<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> m, v;
  void reset(Eigen::Index rows, Eigen::Index cols) {
    m.setZero(rows, cols);
    v.setZero(rows, cols);
  }
  // p.row(r) -= step for gradient g (a row). Element by element with an
  // exact square root (Eigen's vectorised one is approximate), so the step
  // does not depend on how the compiler vectorises it.
  template <typename Row, typename Grad>
  void update(Eigen::Index r, Row&& p, const Grad& g, const AdamStep& s) {
    float* mr = m.data() + r * m.cols();
    float* vr = v.data() + r * v.cols();
    for (Eigen::Index c = 0; c < m.cols(); ++c) step(p.coeffRef(c), mr[c], vr[c], g.coeff(c), s);
  }
  // The same for a contiguous row p of gradient g * scale.
  void update(Eigen::Index r, float* p, const float* g, float scale, const AdamStep& s) {
    step_row(p, m.data() + r * m.cols(), v.data() + r * v.cols(), g, scale, size_t(m.cols()), s);
  }
  // The same for a block of one column (a bias per row).
  void update_one(Eigen::Index r, float& p, float g, const AdamStep& s) { step(p, m(r, 0), v(r, 0), g, s); }

 private:
  // (Vectorised by the compiler, with IEEE square roots and divisions: this
  // file is built with -fno-math-errno, as sqrt must not set errno for that.)
  static void step(float& p, float& mc, float& vc, float g, const AdamStep& s) {
    mc = kBeta1 * mc + (1 - kBeta1) * g;
    vc = kBeta2 * vc + (1 - kBeta2) * (g * g);
    p -= s.lr * (mc / s.c1) / (std::sqrt(vc / s.c2) + kEps);
  }
  // Compiled per instruction set as core/row_kernels.h's loops are (each
  // element the same IEEE operations in every copy: no contraction here).
  __attribute__((target_clones("avx512f", "avx2", "default"))) static void step_row(
      float* __restrict p, float* __restrict mr, float* __restrict vr, const float* __restrict g, float scale, size_t n,
      const AdamStep& s) {
    for (size_t c = 0; c < n; ++c) step(p[c], mr[c], vr[c], g[c] * scale, s);
  }
};

// A minibatch's gradient for sparse parameter rows (table rows by feature,
// head rows by node), summed per row as the contributions arrive in batch
// order: each row's sum starts at zero and adds its entries in that order, so
// it is the sum the batch's serial loop gives, whichever thread sums it. Each
// thread keeps the rows of its own share (row % threads); `slot_of` (one
// entry per row, all kNone between batches) is shared, as the threads' rows
// are disjoint. Summing directly, instead of listing the entries and grouping
// them by row first, made deep training 0.83x as long on delicious.
class RowAccumulator {
 public:
  static constexpr Index kNone = Index(-1);
  RowAccumulator(std::vector<Index>* slot_of, size_t dim) : slot_of_(slot_of), dim_(dim) {}
  // sum(row) += weight * vec (dim floats); scalar(row) += weight.
  void add(Index row, const float* vec, float weight) {
    Index& slot = (*slot_of_)[row];
    if (slot == kNone) {
      slot = Index(rows_.size());
      rows_.push_back(row);
      scalars_.push_back(0.0f);
      if (sums_.size() < rows_.size() * dim_) sums_.resize(rows_.size() * dim_);
      std::fill_n(sums_.data() + size_t(slot) * dim_, dim_, 0.0f);
    }
    add_scaled(sums_.data() + size_t(slot) * dim_, vec, weight, dim_);
    scalars_[slot] += weight;
  }
  size_t size() const { return rows_.size(); }
  Index row(size_t slot) const { return rows_[slot]; }
  float* sum(size_t slot) { return sums_.data() + slot * dim_; }
  float scalar(size_t slot) const { return scalars_[slot]; }
  void clear() {  // keeps the buffers for the next batch
    for (Index r : rows_) (*slot_of_)[r] = kNone;
    rows_.clear();
    scalars_.clear();
  }

 private:
  std::vector<Index>* slot_of_;  // row -> slot this batch, or kNone
  size_t dim_;
  std::vector<Index> rows_;
  std::vector<float, Eigen::aligned_allocator<float>> sums_;  // slot-major, dim_ floats per slot
  std::vector<float> scalars_;  // each slot's sum of weights
};

// Node of each label in every layer 1..depth (layer depth: the label's slot).
std::vector<std::vector<Index>> label_nodes(const LabelTree& tree) {
  const size_t depth = tree.depth();
  std::vector<std::vector<Index>> node_of(depth + 1, std::vector<Index>(tree.num_labels, Index(-1)));
  for (size_t s = 0; s < tree.slot_label.size(); ++s) {
    Index& n = node_of[depth][tree.slot_label[s]];
    if (n != Index(-1)) throw Error("train_encoder: a label with several leaves (disentangled tree) is not supported");
    n = Index(s);
  }
  const auto parents = tree.parents();
  for (size_t t = depth - 1; t >= 1; --t) {
    for (size_t l = 0; l < tree.num_labels; ++l) node_of[t][l] = parents[t][node_of[t + 1][l]];
  }
  return node_of;
}

// What one instance contributes to a minibatch's gradient.
struct InstanceGrad {
  Eigen::VectorXf e;       // its embedding
  Eigen::VectorXf g_h;     // gradient at the bag of embeddings
  std::vector<Index> features;  // its visible features and their values
  std::vector<float> values;
  std::vector<std::pair<Index, float>> heads;  // (node, dloss/dscore)
};

// A chunk's instances and sums; kept from batch to batch, so its buffers are
// allocated once per training rather than once per instance.
struct ChunkGrad {
  std::vector<InstanceGrad> items;  // the first `used` are this batch's
  size_t used = 0;
  std::vector<Eigen::MatrixXf> g_w;
  std::vector<Eigen::VectorXf> g_b;
  double loss = 0;
  void reset(size_t layers, Eigen::Index d) {
    used = 0;
    loss = 0;
    g_w.assign(layers, Eigen::MatrixXf::Zero(d, d));
    g_b.assign(layers, Eigen::VectorXf::Zero(d));
  }
  InstanceGrad& next_item() {
    if (used == items.size()) items.emplace_back();
    InstanceGrad& item = items[used++];
    item.heads.clear();
    return item;
  }
};

// One thread's buffers for the forward and backward passes, kept for the
// whole training.
struct ThreadScratch {
  EncoderWorkspace ws;
  Eigen::VectorXf e, g_e, g_z, g_next;
  std::vector<std::pair<Index, float>> cands;  // (node, weight: positive count, or -1 for a negative)
  std::vector<std::pair<float, Index>> scored;
  std::vector<float> scores;
  std::vector<double> exps;  // each candidate's exp(score - max), computed once
  std::vector<Index> kept_idx;
  std::vector<float> kept_val;
  explicit ThreadScratch(Eigen::Index d) : e(d), g_e(d), g_z(d), g_next(d) {}
};

}  // namespace

Encoder train_encoder(const CsrMatrix& X, const CsrMatrix& Y, const LabelTree& tree, const EncoderTrainParams& params,
                      const ProgressFn& progress, EncoderTrainStats* stats, EncoderHead* head_out) {
  params.validate();
  tree.validate();
  if (X.rows != Y.rows) throw Error("train_encoder: features have " + std::to_string(X.rows) + " rows, labels " + std::to_string(Y.rows));
  if (Y.cols != tree.num_labels) throw Error("train_encoder: label count differs from the tree's");
  const auto t_start = std::chrono::steady_clock::now();
  const int nt = params.threads > 0 ? params.threads : omp_get_max_threads();
  const size_t depth = tree.depth();
  const size_t finest = params.finest_layer == 0 ? depth : std::min<size_t>(size_t(params.finest_layer), depth);
  const auto node_of = label_nodes(tree);
  const auto parents = tree.parents();

  Encoder enc(X.cols, params.dim, params.layers, params.seed);
  // The features of row i this epoch shows (all without dropout); the same
  // answer in the forward pass and when its gradient is summed.
  const uint32_t drop_below = uint32_t(params.feature_dropout * 1e6f);
  auto visible = [&](const SparseVectorView& x, Index i, uint64_t seed, std::vector<Index>& idx,
                     std::vector<float>& val) -> SparseVectorView {
    if (drop_below == 0) return x;
    idx.clear();
    val.clear();
    for (size_t k = 0; k < x.nnz; ++k) {
      if (splitmix64(seed ^ (uint64_t(i) << 24) ^ x.indices[k]) % 1000000 >= drop_below) {
        idx.push_back(x.indices[k]);
        val.push_back(x.values[k]);
      }
    }
    return SparseVectorView{idx.data(), val.data(), idx.size()};
  };
  const Eigen::Index d = params.dim;
  const size_t L = size_t(params.layers);
  AdamRows adam_table;
  adam_table.reset(enc.table().rows(), d);
  std::vector<AdamRows> adam_w(L), adam_b(L);
  for (size_t l = 0; l < L; ++l) {
    adam_w[l].reset(d, d);
    adam_b[l].reset(1, d);
  }
  RowMatrixXf head, prev_head;
  Eigen::VectorXf head_bias, prev_bias;
  int64_t step = 0;
  EncoderTrainStats local_stats;
  EncoderTrainStats& st = stats ? *stats : local_stats;
  st.final_loss.clear();

  std::vector<Index> table_slot(size_t(enc.table().rows()), RowAccumulator::kNone);
  std::vector<RowAccumulator> table_grads(size_t(nt), RowAccumulator{&table_slot, size_t(d)});
  std::vector<const InstanceGrad*> batch_items;
  std::vector<ChunkGrad> grads;  // this batch's chunks, reused
  std::vector<ThreadScratch> scratch(size_t(nt), ThreadScratch{d});

  for (size_t t = 1; t <= finest; ++t) {
    const size_t K = tree.num_nodes(t);
    // Head rows start from their parent's (warm start from the coarser layer).
    RowMatrixXf new_head(static_cast<Eigen::Index>(K), d);
    Eigen::VectorXf new_bias(static_cast<Eigen::Index>(K));
    const uint64_t head_seed = mix_seed({params.seed, 3, t});
    for (size_t c = 0; c < K; ++c) {
      if (t == 1) {
        for (Eigen::Index j = 0; j < d; ++j) {
          new_head(Eigen::Index(c), j) =
              0.01f * float(int64_t(splitmix64(head_seed ^ (c * uint64_t(d) + uint64_t(j))) % 2001) - 1000) / 1000.0f;
        }
        new_bias[Eigen::Index(c)] = 0;
      } else {
        new_head.row(Eigen::Index(c)) = head.row(parents[t - 1][c]);
        new_bias[Eigen::Index(c)] = head_bias[parents[t - 1][c]];
      }
    }
    prev_head = std::move(head);
    prev_bias = std::move(head_bias);
    head = std::move(new_head);
    head_bias = std::move(new_bias);
    AdamRows adam_head, adam_head_bias;
    adam_head.reset(Eigen::Index(K), d);
    adam_head_bias.reset(Eigen::Index(K), 1);
    std::vector<Index> head_slot(K, RowAccumulator::kNone);
    std::vector<RowAccumulator> head_grads(size_t(nt), RowAccumulator{&head_slot, size_t(d)});

    // Every node of this layer, by parent (for hard negatives).
    const std::vector<Index>* child_ptr = t >= 2 ? &tree.child_ptr[t - 1] : nullptr;

    for (int epoch = 0; epoch < params.epochs; ++epoch) {
      std::vector<Index> order(X.rows);
      std::iota(order.begin(), order.end(), Index(0));
      // Seeded Fisher-Yates (std::shuffle's algorithm is not specified).
      const uint64_t shuffle_seed = mix_seed({params.seed, 4, t, uint64_t(epoch)});
      for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[splitmix64(shuffle_seed ^ i) % i]);
      double epoch_loss = 0;
      const uint64_t drop_seed = mix_seed({params.seed, 5, t, uint64_t(epoch)});
      for (size_t lo = 0; lo < order.size(); lo += size_t(params.batch_size)) {
        const size_t hi = std::min(order.size(), lo + size_t(params.batch_size));
        const size_t chunks = (hi - lo + kChunk - 1) / kChunk;
        if (grads.size() < chunks) grads.resize(chunks);
#pragma omp parallel num_threads(nt)
        {
          ThreadScratch& my = scratch[size_t(omp_get_thread_num())];
          EncoderWorkspace& ws = my.ws;
          Eigen::VectorXf &e = my.e, &g_e = my.g_e, &g_z = my.g_z, &g_next = my.g_next;
          auto& cands = my.cands;
          auto& scored = my.scored;
          auto& scores = my.scores;
          auto& exps = my.exps;
#pragma omp for schedule(dynamic, 1)
          for (size_t ch = 0; ch < chunks; ++ch) {
            ChunkGrad& cg = grads[ch];
            cg.reset(L, d);
            for (size_t k = lo + ch * kChunk; k < std::min(hi, lo + (ch + 1) * kChunk); ++k) {
              const Index i = order[k];
              const SparseVectorView x = visible(X.row(i), i, drop_seed, my.kept_idx, my.kept_val);
              enc.encode(x, e.data(), ws);
              // Candidates: positives with their label counts, then hard negatives.
              cands.clear();
              const SparseVectorView y = Y.row(i);
              for (size_t q = 0; q < y.nnz; ++q) cands.emplace_back(node_of[t][y.indices[q]], 1.0f);
              std::sort(cands.begin(), cands.end());
              size_t w = 0;
              for (size_t q = 0; q < cands.size(); ++q) {
                if (w > 0 && cands[w - 1].first == cands[q].first) {
                  cands[w - 1].second += 1;
                } else {
                  cands[w++] = cands[q];
                }
              }
              cands.resize(w);
              const size_t positives = w;
              auto is_positive = [&](Index n) {
                return std::binary_search(cands.begin(), cands.begin() + Eigen::Index(positives), std::make_pair(n, 0.0f),
                                          [](const auto& a, const auto& b) { return a.first < b.first; });
              };
              if (t == 1) {
                for (size_t n = 0; n < K && cands.size() < positives + size_t(params.max_candidates); ++n) {
                  if (!is_positive(Index(n))) cands.emplace_back(Index(n), -1.0f);
                }
              } else {
                // The previous layer's best nodes under the current encoder.
                scored.clear();
                const Eigen::VectorXf s = prev_head * e + prev_bias;
                for (Eigen::Index n = 0; n < s.size(); ++n) scored.emplace_back(-s[n], Index(n));
                const size_t b = std::min(scored.size(), size_t(params.beam));
                std::partial_sort(scored.begin(), scored.begin() + Eigen::Index(b), scored.end());
                for (size_t r = 0; r < b && cands.size() < positives + size_t(params.max_candidates); ++r) {
                  const Index p = scored[r].second;
                  for (Index c = (*child_ptr)[p]; c < (*child_ptr)[p + 1]; ++c) {
                    if (cands.size() >= positives + size_t(params.max_candidates)) break;
                    if (!is_positive(c)) cands.emplace_back(c, -1.0f);
                  }
                }
              }
              // Weighted squared hinge over the candidates.
              InstanceGrad& item = cg.next_item();
              item.e = e;
              g_e.setZero();
              if (params.softmax) {
                // Cross-entropy of softmax(scores) against the positives' label counts.
                double positive_total = 0, max_score = -1e30;
                scores.resize(cands.size());
                for (size_t q = 0; q < cands.size(); ++q) {
                  scores[q] = head.row(cands[q].first).dot(e) + head_bias[cands[q].first];
                  max_score = std::max(max_score, double(scores[q]));
                  if (cands[q].second > 0) positive_total += cands[q].second;
                }
                double z = 0;
                exps.resize(cands.size());
                for (size_t q = 0; q < cands.size(); ++q) z += exps[q] = std::exp(double(scores[q]) - max_score);
                for (size_t q = 0; q < cands.size(); ++q) {
                  const double prob = exps[q] / z;
                  const double target = cands[q].second > 0 ? cands[q].second / positive_total : 0.0;
                  if (target > 0) cg.loss -= target * std::log(std::max(prob, 1e-30));
                  const float g = float(prob - target);
                  if (g == 0.0f) continue;
                  item.heads.emplace_back(cands[q].first, g);
                  add_scaled(g_e.data(), head.row(cands[q].first).data(), g, size_t(d));
                }
              } else {
                for (const auto& [n, weight] : cands) {
                  const float yv = weight > 0 ? 1.0f : -1.0f;
                  const float wt = weight > 0 ? weight : 1.0f;
                  const float score = head.row(n).dot(e) + head_bias[n];
                  const float margin = 1.0f - yv * score;
                  if (margin <= 0) continue;
                  cg.loss += double(wt) * margin * margin;
                  const float g = -2.0f * wt * yv * margin;
                  item.heads.emplace_back(n, g);
                  add_scaled(g_e.data(), head.row(n).data(), g, size_t(d));
                }
              }
              // Back through the normalisation, the residual layers, to the bag.
              const float norm = ws.out.norm();
              if (norm > 0) {
                g_z = (g_e - e * e.dot(g_e)) / norm;
              } else {
                g_z.setZero();
              }
              for (size_t l = L; l-- > 0;) {
                const Eigen::VectorXf gm = (ws.pre[l].array() > 0).select(g_z, 0.0f);
                cg.g_w[l].noalias() += gm * ws.inputs[l].transpose();
                cg.g_b[l] += gm;
                g_next = g_z;
                g_next.noalias() += enc.weights()[l].transpose() * gm;
                g_z = g_next;
              }
              item.g_h = g_z;
              item.features.assign(x.indices, x.indices + x.nnz);
              item.values.assign(x.values, x.values + x.nnz);
            }
          }
        }
        // Sum in chunk order, then one Adam step. The table's and the
        // heads' rows are summed and stepped in parallel, each row's
        // contributions in batch order (RowAccumulator).
        ++step;
        const AdamStep adam_step(params.learning_rate, step);
        std::vector<Eigen::MatrixXf> g_w(L, Eigen::MatrixXf::Zero(d, d));
        std::vector<Eigen::VectorXf> g_b(L, Eigen::VectorXf::Zero(d));
        batch_items.clear();
        for (size_t ch = 0; ch < chunks; ++ch) {
          const ChunkGrad& cg = grads[ch];
          epoch_loss += cg.loss;
          for (size_t l = 0; l < L; ++l) {
            g_w[l] += cg.g_w[l];
            g_b[l] += cg.g_b[l];
          }
          for (size_t k = 0; k < cg.used; ++k) batch_items.push_back(&cg.items[k]);
        }
        const float inv = 1.0f / float(hi - lo);
#pragma omp parallel num_threads(nt)
        {
          // This thread's share of the rows, gathered from the whole batch
          // in batch order (no serial grouping between the two parallel steps).
          const size_t tid = size_t(omp_get_thread_num()), share = size_t(omp_get_num_threads());
          RowAccumulator& heads = head_grads[tid];
          RowAccumulator& table = table_grads[tid];
          for (const InstanceGrad* item : batch_items) {
            for (const auto& [n, g] : item->heads) {
              if (size_t(n) % share == tid) heads.add(n, item->e.data(), g);
            }
            for (size_t q = 0; q < item->features.size(); ++q) {
              if (size_t(item->features[q]) % share == tid) table.add(item->features[q], item->g_h.data(), item->values[q]);
            }
          }
          for (size_t slot = 0; slot < heads.size(); ++slot) {
            const Index n = heads.row(slot);
            adam_head.update(n, head.row(n).data(), heads.sum(slot), inv, adam_step);
            adam_head_bias.update_one(n, head_bias[n], heads.scalar(slot) * inv, adam_step);
          }
          for (size_t slot = 0; slot < table.size(); ++slot) {
            const Index j = table.row(slot);
            adam_table.update(j, enc.table().row(j).data(), table.sum(slot), inv, adam_step);
          }
          heads.clear();
          table.clear();
        }
        for (size_t l = 0; l < L; ++l) {
          for (Eigen::Index r = 0; r < d; ++r) {
            adam_w[l].update(r, enc.weights()[l].row(r), g_w[l].row(r) * inv, adam_step);
          }
          Eigen::Map<Eigen::RowVectorXf> b(enc.biases()[l].data(), d);
          adam_b[l].update(0, b, g_b[l].transpose() * inv, adam_step);
        }
        if (progress) progress("encoder layer " + std::to_string(t) + "/" + std::to_string(finest) + " epoch " +
                                   std::to_string(epoch + 1) + "/" + std::to_string(params.epochs),
                               hi, order.size());
      }
      if (epoch + 1 == params.epochs) st.final_loss.push_back(epoch_loss / double(std::max<size_t>(1, X.rows)));
    }
  }
  // A feature X never holds kept its random start; zero it, so text that has
  // it (rows an out-of-fold encoder never saw) gets no noise from it.
  std::vector<char> seen(X.cols, 0);
  for (Index j : X.indices) seen[j] = 1;
  for (size_t j = 0; j < X.cols; ++j) {
    if (!seen[j]) enc.table().row(Eigen::Index(j)).setZero();
  }
  st.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  if (head_out) {
    head_out->weights = std::move(head);
    head_out->bias = std::move(head_bias);
    head_out->layer = finest;
  }
  return enc;
}

}  // namespace xmr
