// Model files. Each input is parsed twice: as it is (the checksums must
// catch the change) and re-sealed, with every checksum recomputed, so that
// mutations reach the header, section table, metadata, layer, label-name and
// vectorizer checks behind the checksums. A model that loads is queried.
#include <xxhash.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "analyzers/text_model.h"
#include "core/model.h"
#include "core/model_format.h"
#include "tests/fuzz/fuzz_fixture.h"

namespace {

std::string reseal(std::string b) {
  using xmr::FileHeader;
  using xmr::SectionEntry;
  if (b.size() < sizeof(FileHeader)) return b;
  FileHeader h;
  std::memcpy(&h, b.data(), sizeof h);
  const size_t n = b.size();
  if (h.table_offset <= n && h.table_count <= (n - h.table_offset) / sizeof(SectionEntry)) {
    for (uint64_t i = 0; i < h.table_count; ++i) {
      SectionEntry e;
      char* at = b.data() + h.table_offset + i * sizeof(SectionEntry);
      std::memcpy(&e, at, sizeof e);
      if (e.offset <= n && e.size <= n - e.offset) {
        e.checksum = XXH3_64bits(b.data() + e.offset, e.size);
        std::memcpy(at, &e, sizeof e);
      }
    }
    if (h.metadata_offset <= n && h.metadata_size <= n - h.metadata_offset) {
      XXH3_state_t* st = XXH3_createState();
      XXH3_64bits_reset(st);
      XXH3_64bits_update(st, b.data() + h.metadata_offset, h.metadata_size);
      XXH3_64bits_update(st, b.data() + h.table_offset, h.table_count * sizeof(SectionEntry));
      h.index_checksum = XXH3_64bits_digest(st);
      XXH3_freeState(st);
    }
  }
  h.header_checksum = XXH3_64bits(&h, offsetof(FileHeader, header_checksum));
  std::memcpy(b.data(), &h, sizeof h);
  return b;
}

void exercise(const xmr::Model& m) {
  std::vector<xmr::Index> idx;
  for (xmr::Index f = 0; f < m.num_features() && idx.size() < 8; f += 1 + f) idx.push_back(f);
  const std::vector<float> val(idx.size(), 0.5f);
  const xmr::SparseVectorView q{idx.data(), val.data(), idx.size()};
  xmr::PredictParams p = m.default_predict_params();
  xmr::InferenceWorkspace ws;
  std::vector<xmr::ScoredLabel> out;
  m.predict(q, p, ws, out);
  for (const auto& s : out) m.label_name(s.label);
  const xmr::Index labels[2] = {0, xmr::Index(m.num_labels() - 1)};
  float scores[2];
  m.score_labels(q, labels, 2, p, ws, scores);
  xmr::fuzz::expect_only_xmr_errors([&] {
    const xmr::TextModel tm = xmr::TextModel::from_model(m, "fuzz.xmr");
    tm.predict("nonstick frying pan", p, ws, out);
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string raw(reinterpret_cast<const char*>(data), size);
  for (const std::string& bytes : {raw, reseal(raw)}) {
    xmr::fuzz::expect_only_xmr_errors([&] { exercise(xmr::Model::from_bytes(bytes, "fuzz.xmr")); });
  }
  return 0;
}
