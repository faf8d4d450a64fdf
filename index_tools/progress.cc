#include "index_tools/progress.h"

#include <unistd.h>

#include <cstdio>

namespace xmr::cli {

namespace {

std::string human_count(double x) {
  char buf[32];
  if (x >= 1e6) std::snprintf(buf, sizeof buf, "%.1fM", x / 1e6);
  else if (x >= 1e4) std::snprintf(buf, sizeof buf, "%.1fk", x / 1e3);
  else std::snprintf(buf, sizeof buf, "%.0f", x);
  return buf;
}

std::string human_seconds(double s) {
  char buf[32];
  if (s >= 3600) std::snprintf(buf, sizeof buf, "%dh%02dm", int(s / 3600), int(s / 60) % 60);
  else if (s >= 60) std::snprintf(buf, sizeof buf, "%dm%02ds", int(s / 60), int(s) % 60);
  else std::snprintf(buf, sizeof buf, "%.1fs", s);
  return buf;
}

}  // namespace

Progress::Progress(std::string command, bool quiet)
    : command_(std::move(command)), quiet_(quiet), tty_(isatty(STDERR_FILENO) == 1) {}

Progress::~Progress() { finish(); }

void Progress::update(const std::string& step, size_t done, size_t total) {
  if (quiet_) return;
  std::lock_guard<std::mutex> lock(mutex_);
  const auto now = Clock::now();
  if (!open_ || step != step_) {
    if (open_) draw(true);
    step_ = step;
    step_start_ = last_draw_ = now;
    open_ = true;
    done_ = done;
    total_ = total;
    if (tty_) draw(false);
    return;
  }
  done_ = std::max(done_, done);  // calls from several threads may arrive out of order
  total_ = total;
  const double since = std::chrono::duration<double>(now - last_draw_).count();
  if (since >= (tty_ ? 0.1 : 5.0)) {
    last_draw_ = now;
    draw(false);
  }
}

void Progress::finish() {
  if (quiet_) return;
  std::lock_guard<std::mutex> lock(mutex_);
  if (open_) draw(true);
  open_ = false;
}

void Progress::draw(bool final) {
  const double elapsed = std::chrono::duration<double>(Clock::now() - step_start_).count();
  const double rate = elapsed > 0 ? done_ / elapsed : 0;
  std::string line = command_ + ": " + step_;
  if (total_ > 0) {
    const double frac = std::min(1.0, (double)done_ / (double)total_);
    if (tty_) {
      const int width = 24, filled = int(frac * width);
      line += " [" + std::string(filled, '#') + std::string(width - filled, '.') + "]";
    }
    char buf[64];
    std::snprintf(buf, sizeof buf, " %3.0f%%", 100 * frac);
    line += buf;
    line += " " + human_count((double)done_) + "/" + human_count((double)total_);
  } else if (done_ > 0) {
    line += " " + human_count((double)done_);
  }
  if (done_ > 0 && elapsed > 0) line += " " + human_count(rate) + "/s";
  if (!final && total_ > done_ && rate > 0) line += " ETA " + human_seconds((total_ - done_) / rate);
  line += "  " + human_seconds(elapsed);
  if (tty_) {
    std::fprintf(stderr, "\r%s\033[K%s", line.c_str(), final ? "\n" : "");
  } else {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
  std::fflush(stderr);
}

}  // namespace xmr::cli
