// Progress of long steps on stderr: a bar with rate and ETA redrawn in place
// on a terminal; a plain line every few seconds (and at each step's end)
// when stderr is not a terminal; nothing when quiet.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>

namespace xmr::cli {

class Progress {
 public:
  Progress(std::string command, bool quiet);
  ~Progress();

  // Reports `done` of `total` units of `step` (total 0 = unknown). A new step
  // name ends the previous step. Thread-safe; cheap when nothing is drawn.
  void update(const std::string& step, size_t done, size_t total);
  // Ends the current step's line.
  void finish();

 private:
  using Clock = std::chrono::steady_clock;
  void draw(bool final);

  std::string command_;
  bool quiet_, tty_;
  std::mutex mutex_;
  std::string step_;
  size_t done_ = 0, total_ = 0;
  Clock::time_point step_start_, last_draw_;
  bool open_ = false;  // a step is being shown
};

}  // namespace xmr::cli
