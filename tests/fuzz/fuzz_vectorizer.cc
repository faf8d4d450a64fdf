// A text model's vectorizer section: the config JSON and the binary
// vocabulary, split at the first NUL byte of the input, then one transform.
#include <cstdint>
#include <string>
#include <vector>

#include "analyzers/vectorizer.h"
#include "tests/fuzz/fuzz_fixture.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string in(reinterpret_cast<const char*>(data), size);
  const size_t nul = in.find('\0');
  const std::string config = in.substr(0, nul);
  const std::string vocabulary = nul == std::string::npos ? std::string() : in.substr(nul + 1);
  xmr::fuzz::expect_only_xmr_errors([&] {
    const xmr::TextVectorizer v = xmr::TextVectorizer::deserialize(config, vocabulary);
    std::vector<xmr::Index> idx;
    std::vector<float> val;
    v.transform("Stainless steel pans, 12 inch; nonstick", idx, val);
  });
  return 0;
}
