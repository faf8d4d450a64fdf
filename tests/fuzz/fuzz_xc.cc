// The XC (bag-of-words) reader on arbitrary bytes.
#include <cstdint>
#include <string>

#include "core/xc_format.h"
#include "tests/fuzz/fuzz_fixture.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  xmr::fuzz::expect_only_xmr_errors(
      [&] { xmr::parse_xc_text(std::string(reinterpret_cast<const char*>(data), size), "fuzz.txt"); });
  return 0;
}
