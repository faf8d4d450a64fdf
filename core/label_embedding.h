// Label representations used to cluster labels into a tree.
//
// PIFA (positive instance feature aggregation): label l is the L2-normalised
// sum of the feature rows of the instances that have l. PII (positive instance
// indicator): label l is the L2-normalised indicator of its instance set. A
// label with no training instance gets an all-zero row.
#pragma once

#include "core/sparse.h"

namespace xmr {

enum class LabelEmbeddingKind { kPifa, kPii };

// X: N x D instance features, Y: N x L labels. Returns L x D. Multithreaded
// over labels; the result does not depend on the thread count.
CsrMatrix pifa_embedding(const CsrMatrix& X, const CsrMatrix& Y);

// Y: N x L. Returns L x N.
CsrMatrix pii_embedding(const CsrMatrix& Y);

// Dispatches on `kind`.
CsrMatrix label_embedding(LabelEmbeddingKind kind, const CsrMatrix& X, const CsrMatrix& Y);

// [normalise(embedding), normalise(label_features)] with rows renormalised, so
// both parts weigh equally. label_features must have one row per label.
CsrMatrix concat_label_features(const CsrMatrix& embedding, const CsrMatrix& label_features);

}  // namespace xmr
