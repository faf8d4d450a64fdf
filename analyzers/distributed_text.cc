#include "analyzers/distributed_text.h"

#include <algorithm>
#include <functional>
#include <unordered_map>

#include "core/byte_pack.h"

namespace xmr {

LabelVocabulary corpus_label_vocabulary(const TextDataset& shard, Communicator& comm) {
  ByteWriter w;
  const LabelVocabulary mine = LabelVocabulary::from_dataset(shard);
  for (const std::string& name : mine.names()) w.put_string(name);
  std::vector<std::string> names;
  for (const std::string& bytes : comm.allgather(w.bytes())) {
    ByteReader r(bytes);
    while (!r.done()) names.push_back(r.get_string());
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return LabelVocabulary(std::move(names));
}

ShardedFit corpus_document_counts(size_t shard_documents, Communicator& comm) {
  std::vector<uint64_t> total{shard_documents};
  comm.allreduce_sum(total);
  ShardedFit fit;
  fit.corpus_documents = total[0];
  fit.corpus_sum = [&comm](uint64_t shard_value) {
    std::vector<uint64_t> sum{shard_value};
    comm.allreduce_sum(sum);
    return sum[0];
  };
  fit.merge_counts = [&comm](ShardedFit::TermCounts shard, double min_count, double max_count) {
    const size_t R = size_t(comm.size());
    std::vector<ByteWriter> to(R);
    for (const auto& [term, count] : shard) {
      ByteWriter& w = to[std::hash<std::string>{}(term) % R];
      w.put_string(term);
      w.put(count);
    }
    ShardedFit::TermCounts().swap(shard);
    std::vector<std::string> outgoing;
    for (ByteWriter& w : to) outgoing.push_back(std::move(w.bytes()));
    std::unordered_map<std::string, uint64_t> sums;
    for (const std::string& bytes : comm.alltoall(std::move(outgoing))) {
      ByteReader r(bytes);
      while (!r.done()) {
        std::string term = r.get_string();
        sums[std::move(term)] += r.get<uint32_t>();
      }
    }
    ByteWriter kept;
    for (const auto& [term, count] : sums) {
      if (double(count) >= min_count && double(count) <= max_count) {
        kept.put_string(term);
        kept.put(uint32_t(std::min<uint64_t>(count, UINT32_MAX)));
      }
    }
    sums.clear();
    ShardedFit::TermCounts corpus;
    for (const std::string& bytes : comm.allgather(kept.bytes())) {
      ByteReader r(bytes);
      while (!r.done()) {
        std::string term = r.get_string();
        const uint32_t count = r.get<uint32_t>();
        corpus.emplace_back(std::move(term), count);
      }
    }
    std::sort(corpus.begin(), corpus.end());
    return corpus;
  };
  return fit;
}

}  // namespace xmr
