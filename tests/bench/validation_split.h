// The validation split the experiment programs share: a shared set's training
// file (the test file is never read) cut by a seeded hash of each row's
// number, text sets vectorized with the default TF-IDF fitted on the
// training part, XC rows L2-normalised.
#pragma once

#include <sys/stat.h>

#include <string>
#include <vector>

#include "analyzers/text_dataset.h"
#include "analyzers/text_model.h"
#include "analyzers/vectorizer.h"
#include "core/rng.h"
#include "core/trainer.h"
#include "core/xc_format.h"

namespace xmr::bench {

struct ValidationSplit {
  CsrMatrix Xtr, Ytr, Xva, Yva;
  TrainParams params;  // the set's default training parameters (text or XC), threads set
  std::vector<std::pair<Index, Index>> parts;  // text sets: each TF-IDF part's feature ids
};

// Row i is held out when splitmix64(i ^ seed) falls in the first `valid`
// share; 0x5eed is the split the README's experiment tables use.
inline ValidationSplit load_validation_split(const std::string& dir, double valid, int threads,
                                             uint64_t seed = 0x5eed) {
  auto held_out = [&](size_t i) { return double(splitmix64(i ^ seed) % 1000000) / 1e6 < valid; };
  ValidationSplit s;
  struct stat st;
  if (::stat((dir + "/train.jsonl").c_str(), &st) == 0) {
    const TextDataset all = read_jsonl_dataset(dir + "/train.jsonl");
    TextDataset tr, va;
    for (size_t i = 0; i < all.size(); ++i) {
      TextDataset& to = held_out(i) ? va : tr;
      to.texts.push_back(all.texts[i]);
      to.labels.push_back(all.labels[i]);
    }
    const LabelVocabulary labels = LabelVocabulary::from_dataset(tr);
    const TextVectorizer vec = TextVectorizer::fit(tr.texts, default_vectorizer_config(), &s.Xtr, threads);
    s.Xva = vec.transform_batch(va.texts, threads);
    s.Ytr = labels.label_matrix(tr, false);
    s.Yva = labels.label_matrix(va, true);
    s.params = default_text_train_params();
    for (size_t k = 0; k < vec.config().parts.size(); ++k) s.parts.push_back(vec.part_range(k));
  } else {
    XcDataset all = read_xc_file(dir + "/train.txt");
    all.features.normalize_rows_l2();
    std::vector<Index> tr, va;
    for (size_t i = 0; i < all.features.rows; ++i) (held_out(i) ? va : tr).push_back(Index(i));
    s.Xtr = all.features.select_rows(tr);
    s.Ytr = all.labels.select_rows(tr);
    s.Xva = all.features.select_rows(va);
    s.Yva = all.labels.select_rows(va);
  }
  s.params.threads = threads;
  return s;
}

}  // namespace xmr::bench
