// The JSONL ({"text", "labels"}) reader on arbitrary bytes.
#include <cstdint>
#include <string>

#include "analyzers/text_dataset.h"
#include "tests/fuzz/fuzz_fixture.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  xmr::fuzz::expect_only_xmr_errors([&] {
    const xmr::TextDataset d =
        xmr::parse_jsonl_dataset(std::string(reinterpret_cast<const char*>(data), size), "fuzz.jsonl");
    xmr::LabelVocabulary::from_dataset(d).label_matrix(d, true);
  });
  return 0;
}
