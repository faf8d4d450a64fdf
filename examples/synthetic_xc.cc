#include "examples/synthetic_xc.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "core/error.h"

namespace xmr {

XcDataset generate_synthetic_xc(const SyntheticXcParams& p) {
  if (p.labels == 0 || p.features == 0 || p.words_per_label == 0 || p.labels_per_topic == 0) {
    throw Error("synthetic data: labels, features, words_per_label and labels_per_topic must be > 0");
  }
  std::mt19937_64 rng(p.seed);
  auto uniform = [&](size_t n) { return size_t(rng() % n); };

  // Vocabulary: each topic owns a word pool; each label draws most of its
  // words from its topic's pool and a few from anywhere.
  const size_t pool = std::max<size_t>(p.words_per_label * 3, 8);
  std::vector<std::vector<Index>> label_words(p.labels);
  for (size_t l = 0; l < p.labels; ++l) {
    const size_t topic = l / p.labels_per_topic;
    for (size_t w = 0; w < p.words_per_label; ++w) {
      const size_t word = (w % 4 == 3) ? uniform(p.features)
                                       : (topic * 7919 + uniform(pool) * 104729) % p.features;
      label_words[l].push_back(Index(word));
    }
  }

  // Zipf label frequencies by inverse CDF; a seeded permutation so popular
  // labels are spread over topics.
  std::vector<double> cdf(p.labels);
  double total = 0;
  for (size_t l = 0; l < p.labels; ++l) cdf[l] = (total += 1.0 / std::pow(double(l + 1), p.zipf_exponent));
  std::vector<Index> rank_to_label(p.labels);
  for (size_t l = 0; l < p.labels; ++l) rank_to_label[l] = Index(l);
  std::shuffle(rank_to_label.begin(), rank_to_label.end(), rng);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::poisson_distribution<int> extra_labels(std::max(0.0, p.mean_labels_per_row - 1.0));

  XcDataset d;
  d.features.cols = p.features;
  d.labels.cols = p.labels;
  std::vector<std::pair<Index, float>> feats, labs;
  for (size_t i = 0; i < p.rows; ++i) {
    feats.clear();
    labs.clear();
    const size_t k = std::min<size_t>(1 + size_t(extra_labels(rng)), 10);
    for (size_t j = 0; j < k; ++j) {
      const size_t rank = size_t(std::lower_bound(cdf.begin(), cdf.end(), unit(rng) * total) - cdf.begin());
      labs.emplace_back(rank_to_label[std::min(rank, p.labels - 1)], 1.0f);
    }
    const size_t words = p.nnz_per_row;
    const size_t noise = size_t(double(words) * p.noise_fraction);
    for (size_t w = 0; w < words - noise; ++w) {
      const auto& vocab = label_words[labs[w % labs.size()].first];
      feats.emplace_back(vocab[uniform(vocab.size())], 1.0f);
    }
    for (size_t w = 0; w < noise; ++w) feats.emplace_back(Index(uniform(p.features)), 1.0f);
    d.features.append_row(feats);  // repeated words add up to counts
    d.labels.append_row(labs);
  }
  std::fill(d.labels.values.begin(), d.labels.values.end(), 1.0f);
  return d;
}

}  // namespace xmr
