#include "core/deep_matcher.h"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

#include "core/encoder_trainer.h"
#include "core/error.h"
#include "core/rng.h"

namespace xmr {

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// What a fold encoder leaves for the alignment: its embeddings of the rows it
// trained on and of the rows it did not.
struct FoldEmbeddings {
  std::vector<Index> in, out;
  Eigen::MatrixXf trained;  // in.size() x dim
  RowMatrixXf held;         // out.size() x dim
};

// Every row of X embedded by an encoder that did not see it (fold encoders
// trained on the other folds), mapped into `full`'s coordinates by the
// least-squares fit on the rows both encoders saw (each encoder has its own
// coordinates; the linear models read `full`'s). Rows of a fold with nothing
// to train on keep `full`'s embedding.
RowMatrixXf out_of_fold_embeddings(const RowMatrixXf& full, std::vector<FoldEmbeddings>& folds) {
  RowMatrixXf E = full;
  for (FoldEmbeddings& f : folds) {
    if (f.in.empty() || f.out.empty()) continue;
    Eigen::MatrixXf B(Eigen::Index(f.in.size()), full.cols());
    for (size_t k = 0; k < f.in.size(); ++k) B.row(Eigen::Index(k)) = full.row(Eigen::Index(f.in[k]));
    const Eigen::MatrixXf& A = f.trained;
    const Eigen::MatrixXf M =
        (A.transpose() * A + 1e-3f * Eigen::MatrixXf::Identity(A.cols(), A.cols())).ldlt().solve(A.transpose() * B);
    const RowMatrixXf held = f.held * M;
    for (size_t k = 0; k < f.out.size(); ++k) {
      const float norm = held.row(Eigen::Index(k)).norm();  // unit length, as the encoder's own output
      E.row(Eigen::Index(f.out[k])) = held.row(Eigen::Index(k)) * (norm > 0 ? 1.0f / norm : 0.0f);
    }
    f = FoldEmbeddings{};
  }
  return E;
}

// One progress step for encoders trained side by side (their own steps would
// take turns on one line): the rows of every job's epochs done, of all.
class SideBySideProgress {
 public:
  SideBySideProgress(ProgressFn progress, std::string step, size_t jobs, size_t total)
      : progress_(std::move(progress)), step_(std::move(step)), jobs_(jobs), total_(total) {}

  // The receiver of job `job`'s own steps.
  ProgressFn job(size_t job) {
    if (!progress_) return {};
    return [this, job](const std::string& step, size_t done, size_t total) {
      std::lock_guard<std::mutex> lock(mutex_);
      Job& j = jobs_[job];
      if (step != j.step) {  // its previous step is finished
        j.finished += j.step_total;
        j.step = step;
      }
      j.done = done;
      j.step_total = total;
      size_t all = 0;
      for (const Job& other : jobs_) all += other.finished + other.done;
      progress_(step_, std::min(all, total_), total_);
    };
  }

 private:
  struct Job {
    std::string step;
    size_t finished = 0, done = 0, step_total = 0;
  };
  ProgressFn progress_;
  std::string step_;
  std::mutex mutex_;
  std::vector<Job> jobs_;
  size_t total_;
};

}  // namespace

size_t deep_matcher_fold(size_t row, int folds) { return size_t(splitmix64(row ^ 0xdee9f01dULL) % uint64_t(folds)); }

size_t encoder_training_bytes(size_t rows, size_t nnz, size_t features, size_t labels, const EncoderTrainParams& p) {
  const size_t row_floats = 3 * size_t(p.dim) * (features + labels);  // table and head, each with two Adam moments
  const size_t layer_floats = 3 * size_t(p.layers) * size_t(p.dim) * size_t(p.dim);
  return 4 * (row_floats + layer_floats) + nnz * (sizeof(Index) + sizeof(float)) + rows * sizeof(Offset);
}

int encoder_lanes(int threads, int jobs, size_t bytes_each, size_t budget) {
  int lanes = std::max(1, std::min(threads, jobs));
  while (lanes > 1 && bytes_each * size_t(lanes - 1) > budget) --lanes;
  return lanes;
}

ModelParts train_deep_matcher_parts(const CsrMatrix& X, const CsrMatrix& Y, const TrainParams& params,
                                    const TrainInputs& inputs, TrainStats* stats, ModelParts* plain) {
  params.validate();
  check_training_data(X, Y);
  const auto t0 = std::chrono::steady_clock::now();
  // The tree the encoder learns: the one plain XR-Linear would train on.
  TrainInputs tree_inputs = inputs;
  tree_inputs.progress = prefixed(inputs.progress, "encoder tree: ");
  const LabelTree tree = training_tree(X, Y, params, tree_inputs);
  EncoderTrainParams ep = params.deep.encoder;
  ep.seed = mix_seed({params.seed, 0xdee9});
  const int threads = params.threads > 0 ? params.threads : omp_get_max_threads();

  // Job 0 trains the full encoder and embeds every row; job f + 1 trains
  // fold f's encoder and embeds its rows and the fold's held-out rows.
  const int folds = params.deep.folds > 1 ? params.deep.folds : 0;
  std::vector<FoldEmbeddings> fold(static_cast<size_t>(folds));
  for (int f = 0; f < folds; ++f) {
    for (size_t i = 0; i < X.rows; ++i) {
      (deep_matcher_fold(i, folds) == size_t(f) ? fold[size_t(f)].out : fold[size_t(f)].in).push_back(Index(i));
    }
  }
  // The trainings are independent and each gives the same result on any
  // number of threads, so they run side by side, as many as memory allows,
  // the threads shared among them: one encoder gains little from a second
  // thread on small data, where each minibatch's parallel steps are short.
  const int jobs = 1 + folds;
  const int lanes = encoder_lanes(threads, jobs,
                                  encoder_training_bytes(X.rows, X.nnz(), X.cols, Y.cols, ep),
                                  params.deep.side_by_side_bytes);
  const size_t layers = ep.finest_layer == 0 ? tree.depth() : std::min(size_t(ep.finest_layer), tree.depth());
  size_t rows_trained = X.rows;
  for (const FoldEmbeddings& r : fold) rows_trained += r.out.empty() ? 0 : r.in.size();
  SideBySideProgress combined(inputs.progress, "encoders (" + std::to_string(lanes) + " side by side)", size_t(jobs),
                              rows_trained * layers * size_t(ep.epochs));
  auto job_progress = [&](int job, const std::string& prefix) {
    return lanes > 1 ? combined.job(size_t(job)) : prefixed(inputs.progress, prefix);
  };

  std::unique_ptr<Encoder> encoder;
  RowMatrixXf full;
  auto run_job = [&](int job, int job_threads) {
    EncoderTrainParams job_params = ep;
    job_params.threads = job_threads;
    if (job == 0) {
      encoder = std::make_unique<Encoder>(train_encoder(X, Y, tree, job_params, job_progress(job, "")));
      full = encoder->encode_rows(X, job_threads);
      return;
    }
    const int f = job - 1;
    FoldEmbeddings& r = fold[size_t(f)];
    if (r.out.empty() || r.in.empty()) return;  // tiny data
    const CsrMatrix Xin = X.select_rows(r.in);
    job_params.seed = mix_seed({ep.seed, 0xf01d, uint64_t(f)});
    const Encoder enc = train_encoder(Xin, Y.select_rows(r.in), tree, job_params,
                                      job_progress(job, "fold " + std::to_string(f + 1) + "/" + std::to_string(folds) + ": "));
    r.trained = enc.encode_rows(Xin, job_threads);
    r.held = enc.encode_rows(X.select_rows(r.out), job_threads);
  };
  std::atomic<int> next_job{0};
  std::vector<std::exception_ptr> failed(static_cast<size_t>(lanes));
  auto lane = [&](int l) {
    const int lane_threads = threads / lanes + (l < threads % lanes ? 1 : 0);
    try {
      for (int job = next_job++; job < jobs; job = next_job++) run_job(job, lane_threads);
    } catch (...) {
      failed[size_t(l)] = std::current_exception();
      next_job = jobs;  // the other lanes stop after their current job
    }
  };
  std::vector<std::thread> others;
  for (int l = 1; l < lanes; ++l) {
    try {
      others.emplace_back(lane, l);
    } catch (const std::system_error&) {
      break;  // no thread to be had: the lanes already running take every job
    }
  }
  lane(0);
  for (std::thread& t : others) t.join();
  for (const std::exception_ptr& e : failed) {
    if (e) std::rethrow_exception(e);
  }
  const RowMatrixXf E = folds ? out_of_fold_embeddings(full, fold) : full;
  const double encoder_seconds = seconds_since(t0);

  TrainParams linear = params;
  linear.deep.enabled = false;
  const CsrMatrix widened = append_embedding(X, E, params.deep.weight, X.cols);
  ModelParts parts = train_model_parts(widened, Y, linear, inputs, stats, plain);
  if (stats) stats->seconds_encoder = encoder_seconds;
  auto shared = std::make_shared<const Encoder>(std::move(*encoder));
  const std::string info = "{\"seconds\":" + std::to_string(encoder_seconds) + "}";
  for (ModelParts* p : {&parts, plain}) {
    if (!p) continue;
    p->num_features = X.cols;
    p->encoder = shared;
    p->encoder_weight = params.deep.weight;
    p->encoder_info_json = info;
  }
  parts.train_params_json = params.to_json();
  return parts;
}

}  // namespace xmr
