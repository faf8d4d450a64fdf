#include "index_tools/train_distributed.h"

#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <sstream>

#include "analyzers/distributed_text.h"
#include "analyzers/lucene_index.h"
#include "analyzers/text_model.h"
#include "core/byte_pack.h"
#include "core/clustering.h"
#include "core/distributed_trainer.h"
#include "core/error.h"
#include "core/line_shard.h"
#include "core/xc_format.h"
#include "index_tools/progress.h"
#ifdef XMR_HAVE_MPI
#include "core/mpi_communicator.h"
#endif

namespace xmr::cli {

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

struct Shard {
  CsrMatrix X, Y;
  size_t num_labels = 0;
  std::vector<std::string> label_names;
  std::string vocabulary;  // jsonl: the fitted vectorizer, serialised
  VectorizerConfig vectorizer_config;  // jsonl: its config as fitted (min_df chosen where it was auto)
};

std::string shard_name(const std::string& path, const LineShard& s, int rank) {
  return path + " (rank " + std::to_string(rank) + "'s lines from byte " + std::to_string(s.begin) + ")";
}

// Lines of `text`, not counting blank lines at its end.
size_t count_rows(const std::string& text) {
  size_t rows = 0, blank_tail = 0, start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    ++rows;
    blank_tail = end == start ? blank_tail + 1 : 0;
    start = end + 1;
  }
  return rows - blank_tail;
}

Shard read_xc_shard(const DistributedTrainRequest& r, Communicator& comm) {
  const LineShard s = read_line_shard(r.input, comm.rank(), comm.size(), 1);
  std::istringstream header(s.header);
  uint64_t rows = 0, features = 0, labels = 0;
  if (!(header >> rows >> features >> labels)) {
    throw Error(r.input + ":1: malformed header, expected \"rows features labels\"");
  }
  const size_t mine = count_rows(s.text);
  XcDataset d = parse_xc_text(std::to_string(mine) + " " + std::to_string(features) + " " + std::to_string(labels) +
                                  "\n" + s.text,
                              shard_name(r.input, s, comm.rank()));
  std::vector<uint64_t> total{mine};
  comm.allreduce_sum(total);
  if (total[0] != rows) {
    throw Error(r.input + ": the header says " + std::to_string(rows) + " rows, the file has " + std::to_string(total[0]));
  }
  if (r.normalize) d.features.normalize_rows_l2();
  Shard out;
  out.X = std::move(d.features);
  out.Y = std::move(d.labels);
  out.num_labels = labels;
  return out;
}

// This rank's texts: its share of a JSONL file's lines, or of an index's documents.
TextDataset read_texts(const DistributedTrainRequest& r, const Communicator& comm) {
  if (r.format == "index") {
    return read_lucene_index(r.input, r.fields.text, r.fields.labels, size_t(comm.rank()), size_t(comm.size()));
  }
  LineShard s = read_line_shard(r.input, comm.rank(), comm.size(), 0);
  return parse_jsonl_dataset(s.text, shard_name(r.input, s, comm.rank()), r.fields);
}

Shard read_text_shard(const DistributedTrainRequest& r, Communicator& comm, const ProgressFn& progress) {
  TextDataset data = read_texts(r, comm);
  const LabelVocabulary labels = corpus_label_vocabulary(data, comm);
  const ShardedFit counts = corpus_document_counts(data.size(), comm);
  if (counts.corpus_documents == 0) throw Error(r.input + ": no training texts");
  if (labels.size() == 0) throw Error(r.input + ": no labels in the training data");
  Shard out;
  out.Y = labels.label_matrix(data, false);
  std::vector<std::vector<std::string>>().swap(data.labels);
  const TextVectorizer v =
      TextVectorizer::fit_shard(std::move(data.texts), r.vectorizer, counts, &out.X, r.params.threads, progress);
  if (v.num_features() == 0) {
    throw Error(r.input + ": the vectorizer kept no terms of the training texts; nothing to learn from");
  }
  out.num_labels = labels.size();
  if (comm.rank() == 0) {
    out.label_names = labels.names();
    out.vocabulary = v.serialize_vocabulary();
    out.vectorizer_config = v.config();
  }
  return out;
}

double peak_rss_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_maxrss) / 1024.0;  // KiB on Linux
}

int train_on_ranks(const DistributedTrainRequest& r, Communicator& comm) {
  const int rank = comm.rank(), ranks = comm.size();
  const bool root = rank == 0;
  Progress progress("xmr train", r.quiet || !root);
  const ProgressFn report = [&](const std::string& step, size_t done, size_t total) {
    progress.update(step, done, total);
  };
  const auto t0 = Clock::now();
  Shard shard = r.format == "xc" ? read_xc_shard(r, comm) : read_text_shard(r, comm, report);
  const double read_s = since(t0);

  DistributedInputs in;
  in.num_labels = shard.num_labels;
  in.label_names = shard.label_names;
  in.progress = report;
  std::vector<std::vector<Index>> leaves;
  CsrMatrix label_features;
  if (root && !r.tree_file.empty()) {
    leaves = read_leaf_clusters(r.tree_file, shard.num_labels);
    in.leaf_clusters = &leaves;
  }
  if (root && !r.label_features.empty()) {
    label_features = read_xc_file(r.label_features).features;
    in.label_features = &label_features;
  }
  const auto t1 = Clock::now();
  DistributedStats st;
  const size_t rows = shard.X.rows;
  ModelParts parts = train_distributed(std::move(shard.X), std::move(shard.Y), r.params, comm, in, &st);
  const double train_s = since(t1);
  size_t file_bytes = 0;
  if (root) {
    if (r.format != "xc") attach_vectorizer(parts, shard.vectorizer_config, std::move(shard.vocabulary));
    file_bytes = save_model_parts(parts, r.model_path);  // no second copy of the model in memory
    parts = ModelParts{};
  }
  progress.finish();

  // Every rank's figures, printed by rank 0.
  ByteWriter w;
  w.put(uint64_t(rows));
  w.put(uint64_t(st.rows_received));
  w.put(uint64_t(st.subtrees_trained));
  w.put(st.bytes_sent);
  w.put(peak_rss_mib());
  w.put(read_s);
  w.put(st.seconds_matching);
  const std::vector<std::string> all = comm.gather(w.bytes(), 0);
  if (root && !r.quiet) {
    std::fprintf(stderr,
                 "xmr train: %d ranks; sub-trees of layer %zu: %zu; read %.2fs, train %.2fs (embedding %.2fs, "
                 "clustering %.2fs, rows sent %.2fs, levels %.2fs, gathering %.2fs); wrote %s (%zu bytes)\n",
                 ranks, st.split_layer, st.subtrees, read_s, train_s, st.seconds_embedding, st.seconds_clustering,
                 st.seconds_exchange, st.seconds_matching, st.seconds_gather, r.model_path.c_str(), file_bytes);
    for (int q = 0; q < ranks; ++q) {
      ByteReader in_q(all[size_t(q)]);
      const uint64_t shard_rows = in_q.get<uint64_t>(), received = in_q.get<uint64_t>(), trained = in_q.get<uint64_t>(),
                     sent = in_q.get<uint64_t>();
      const double rss = in_q.get<double>(), read_q = in_q.get<double>(), levels_q = in_q.get<double>();
      std::fprintf(stderr,
                   "xmr train: rank %d: shard %llu rows, trained on %llu rows, %llu sub-trees, sent %.2f MiB, "
                   "peak RSS %.1f MiB, read %.2fs, levels %.2fs\n",
                   q, (unsigned long long)shard_rows, (unsigned long long)received, (unsigned long long)trained,
                   double(sent) / 1048576.0, rss, read_q, levels_q);
    }
  }
  return 0;
}

}  // namespace

int run_distributed_training(const DistributedTrainRequest& r) {
  check_distributed_params(r.params);
  if (r.format != "xc" && r.format != "jsonl" && r.format != "index") {
    throw Error("--distributed reads --format xc, jsonl or index, not " + r.format);
  }
  if (r.format != "xc" && (!r.tree_file.empty() || !r.label_features.empty())) {
    throw Error("--label-features and --tree need --format xc");
  }
#ifdef XMR_HAVE_MPI
  MpiSession session(nullptr, nullptr);
  MpiCommunicator comm;
  try {
    return train_on_ranks(r, comm);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "xmr train: rank %d of %d: error: %s\n", comm.rank(), comm.size(), e.what());
    std::fflush(stderr);
    if (comm.size() > 1) abort_job(1);  // the other ranks may be waiting on this one
    return 1;
  }
#else
  throw Error(
      "--distributed: this xmr was built without MPI; install Open MPI (openmpi-bin libopenmpi-dev) and configure "
      "with -DXMR_MPI=ON");
#endif
}

}  // namespace xmr::cli
