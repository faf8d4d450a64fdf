// `xmr train --distributed`: the training command run as one rank of an MPI
// job (mpirun -np N xmr train ... --distributed). Each rank reads its share
// of the input: an xc or jsonl file's lines (core/line_shard.h), or an
// index's documents by id range; rank 0 writes the model.
#pragma once

#include <string>

#include "analyzers/text_dataset.h"
#include "analyzers/vectorizer.h"
#include "core/trainer.h"

namespace xmr::cli {

struct DistributedTrainRequest {
  std::string input, format;  // format: "xc", "jsonl" or "index"
  std::string model_path;
  std::string tree_file, label_features;  // xc only; read by rank 0
  bool normalize = false;                 // xc
  JsonlFields fields;                     // jsonl member names, or the index's stored fields
  VectorizerConfig vectorizer;            // jsonl, index
  TrainParams params;
  bool quiet = false;
};

// Returns the exit code. A rank that fails prints "xmr train: rank R of N:
// error: ..." and ends the whole job (MPI_Abort), so mpirun exits non-zero;
// the model is written (atomically) only after every rank has finished.
// Throws xmr::Error when this xmr was built without MPI.
int run_distributed_training(const DistributedTrainRequest& request);

}  // namespace xmr::cli
