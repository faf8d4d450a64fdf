// Per-query cost on the search path: vectorizing a short query with the
// model's Lucene++ analyzer, beam search, and scoring given (query, label)
// pairs. Trains on ../shared/datasets/flipkart when present, else on a small
// built-in catalogue. Run: build/tests/query_bench [--benchmark_format=json]
#include <benchmark/benchmark.h>
#include <sys/stat.h>

#include <memory>

#include "analyzers/text_model.h"

namespace xmr {
namespace {

struct Fixture {
  std::unique_ptr<TextModel> model;
  std::vector<std::string> queries;
};

const Fixture& fixture() {
  static Fixture f = [] {
    Fixture fx;
    const std::string dir = std::string(XMR_DATASETS_DIR) + "/flipkart";
    struct stat st;
    TextDataset train, test;
    if (::stat((dir + "/train.jsonl").c_str(), &st) == 0) {
      train = read_jsonl_dataset(dir + "/train.jsonl");
      test = read_jsonl_dataset(dir + "/test.jsonl");
    } else {
      for (int i = 0; i < 2000; ++i) {
        train.texts.push_back("product " + std::to_string(i % 97) + " brand" + std::to_string(i % 13) + " size " +
                              std::to_string(i % 7));
        train.labels.push_back({"cat" + std::to_string(i % 97)});
      }
      test = train;
    }
    fx.model = std::make_unique<TextModel>(
        TextModel::train(train, default_vectorizer_config(), default_text_train_params()));
    fx.queries.assign(test.texts.begin(), test.texts.begin() + std::min<size_t>(1000, test.size()));
    return fx;
  }();
  return f;
}

void BM_VectorizeQuery(benchmark::State& state) {
  const Fixture& f = fixture();
  std::vector<Index> idx;
  std::vector<float> val;
  size_t i = 0;
  for (auto _ : state) {
    f.model->vectorizer().transform(f.queries[i++ % f.queries.size()], idx, val);
    benchmark::DoNotOptimize(idx.data());
  }
}
BENCHMARK(BM_VectorizeQuery);

void BM_PredictText(benchmark::State& state) {
  const Fixture& f = fixture();
  PredictParams p = f.model->model().default_predict_params();
  p.beam_size = int(state.range(0));
  InferenceWorkspace ws;
  std::vector<ScoredLabel> out;
  size_t i = 0;
  for (auto _ : state) {
    f.model->predict(f.queries[i++ % f.queries.size()], p, ws, out);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_PredictText)->Arg(1)->Arg(10)->Arg(50);

void BM_BeamSearchOnly(benchmark::State& state) {
  const Fixture& f = fixture();
  const CsrMatrix X = f.model->vectorizer().transform_batch(f.queries);
  PredictParams p = f.model->model().default_predict_params();
  InferenceWorkspace ws;
  std::vector<ScoredLabel> out;
  size_t i = 0;
  for (auto _ : state) {
    f.model->model().predict(X.row(i++ % X.rows), p, ws, out);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_BeamSearchOnly);

void BM_ScorePairs(benchmark::State& state) {
  const Fixture& f = fixture();
  const CsrMatrix X = f.model->vectorizer().transform_batch(f.queries);
  PredictParams p = f.model->model().default_predict_params();
  InferenceWorkspace ws;
  std::vector<Index> labels;
  for (Index l = 0; l < Index(state.range(0)) && l < f.model->model().num_labels(); ++l) {
    labels.push_back(Index((l * 7919u) % f.model->model().num_labels()));
  }
  std::vector<float> scores(labels.size());
  size_t i = 0;
  for (auto _ : state) {
    f.model->model().score_labels(X.row(i++ % X.rows), labels.data(), labels.size(), p, ws, scores.data());
    benchmark::DoNotOptimize(scores.data());
  }
}
BENCHMARK(BM_ScorePairs)->Arg(10)->Arg(100);

}  // namespace
}  // namespace xmr

BENCHMARK_MAIN();
