// Label representations used to cluster labels into a tree.
//
// PIFA (positive instance feature aggregation): label l is the L2-normalised
// sum of the feature rows of the instances that have l. PII (positive instance
// indicator): label l is the L2-normalised indicator of its instance set. A
// label with no training instance gets an all-zero row.
#pragma once

#include <vector>

#include "core/sparse.h"

namespace xmr {

enum class LabelEmbeddingKind { kPifa, kPii };

// X: N x D instance features, Y: N x L labels. Returns L x D. Multithreaded
// over labels; the result does not depend on the thread count.
CsrMatrix pifa_embedding(const CsrMatrix& X, const CsrMatrix& Y);

// PIFA's sum for one label: adds rows rows[0..n) of X, in that order, into
// `acc` (X.cols doubles, zero where not yet touched) and sets `touched` to
// the features added to, sorted. The caller reads the sums at `touched` and
// zeroes them there. pifa_embedding and the distributed trainer's per-shard
// sums both use it, so both add alike.
void sum_label_rows(const CsrMatrix& X, const Index* rows, size_t n, std::vector<double>& acc,
                    std::vector<Index>& touched);

// Y: N x L. Returns L x N.
CsrMatrix pii_embedding(const CsrMatrix& Y);

// Dispatches on `kind`.
CsrMatrix label_embedding(LabelEmbeddingKind kind, const CsrMatrix& X, const CsrMatrix& Y);

// [normalise(embedding), normalise(label_features)] with rows renormalised, so
// both parts weigh equally. label_features must have one row per label.
CsrMatrix concat_label_features(const CsrMatrix& embedding, const CsrMatrix& label_features);

}  // namespace xmr
