// A lock-free latency histogram for per-stage statistics: many threads
// record, any thread reads percentiles, nobody waits.
//
// Buckets are logarithmic, 16 per power of two from 1 µs to 2^31 µs (about
// 36 minutes; longer times land in the last bucket), so a percentile is off
// by at most half a bucket: about 2% of its value.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstdint>

namespace xmr {

class LatencyHistogram {
 public:
  void record(double micros) { counts_[bucket_of(micros)].fetch_add(1, std::memory_order_relaxed); }

  uint64_t count() const {
    uint64_t n = 0;
    for (const auto& c : counts_) n += c.load(std::memory_order_relaxed);
    return n;
  }

  // The q-quantile (0 < q <= 1) of the recorded times in µs, or 0 when none.
  // Counts recorded while it reads may or may not be seen.
  double percentile(double q) const {
    std::array<uint64_t, kBuckets> snapshot;
    uint64_t total = 0;
    for (size_t b = 0; b < kBuckets; ++b) total += snapshot[b] = counts_[b].load(std::memory_order_relaxed);
    if (total == 0) return 0;
    const auto rank = (uint64_t)std::ceil(q * (double)total);
    uint64_t seen = 0;
    for (size_t b = 0; b < kBuckets; ++b) {
      seen += snapshot[b];
      if (seen >= rank && snapshot[b] > 0) return bucket_middle(b);
    }
    return bucket_middle(kBuckets - 1);
  }

 private:
  static constexpr int kPerOctave = 16;
  static constexpr int kOctaves = 31;
  static constexpr size_t kBuckets = 1 + size_t(kPerOctave) * kOctaves;

  // Bucket 0 holds times under 1 µs; bucket 1 + 16e + f holds
  // [2^e (1 + f/16), 2^e (1 + (f+1)/16)).
  static size_t bucket_of(double micros) {
    if (!(micros >= 1)) return 0;  // also NaN
    int e = 0;
    const double m = std::frexp(micros, &e);  // micros = m * 2^e, m in [0.5, 1)
    const int octave = e - 1;
    if (octave >= kOctaves) return kBuckets - 1;
    const int f = std::min(kPerOctave - 1, (int)((m * 2 - 1) * kPerOctave));
    return 1 + size_t(octave) * kPerOctave + size_t(f);
  }
  static double bucket_middle(size_t b) {
    if (b == 0) return 0.5;
    const size_t octave = (b - 1) / kPerOctave, f = (b - 1) % kPerOctave;
    return std::ldexp(1 + (f + 0.5) / kPerOctave, (int)octave);
  }

  std::array<std::atomic<uint64_t>, kBuckets> counts_{};
};

}  // namespace xmr
