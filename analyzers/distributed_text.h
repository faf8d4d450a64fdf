// The text side of distributed training: what every rank's shard of a JSONL
// corpus must agree on before its rows can be vectorized alone.
//
// Both are collective (core/communicator.h): every rank calls them, in the
// same order, and gets the same answer, the one a single process reading the
// whole corpus would compute.
#pragma once

#include "analyzers/text_dataset.h"
#include "analyzers/vectorizer.h"
#include "core/communicator.h"

namespace xmr {

// The sorted distinct label names of every shard.
LabelVocabulary corpus_label_vocabulary(const TextDataset& shard, Communicator& comm);

// Document counts summed over the shards: each term's counts meet at one
// rank (by hash), which keeps the terms within [min_count, max_count]; the
// kept lists are then shared with every rank. `comm` must outlive the result.
ShardedFit corpus_document_counts(size_t shard_documents, Communicator& comm);

}  // namespace xmr
