#include "index_tools/eval_report.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <numeric>

#include "core/calibration.h"
#include "core/model_calibration.h"

namespace xmr::cli {

namespace {

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

// A plot area for values in [0, 1] on both axes, and where a value lands.
struct Frame {
  double left, top, width, height;
  double X(double v) const { return left + v * width; }
  double Y(double v) const { return top + (1 - v) * height; }
};

// The frame's box, ticks at 0, 0.2, ..., 1 on both axes, and the x axis label.
std::string frame_svg(const Frame& f, const char* x_label) {
  std::string s = "<rect x=\"" + fmt("%.1f", f.left) + "\" y=\"" + fmt("%.1f", f.top) + "\" width=\"" +
                  fmt("%.1f", f.width) + "\" height=\"" + fmt("%.1f", f.height) + "\" fill=\"#fafafa\" stroke=\"#999\"/>";
  for (int t = 0; t <= 10; t += 2) {
    const double v = t / 10.0;
    s += "<text x=\"" + fmt("%.1f", f.X(v)) + "\" y=\"" + fmt("%.1f", f.Y(0) + 16) +
         "\" font-size=\"11\" text-anchor=\"middle\">" + fmt("%.1f", v) + "</text>";
    s += "<text x=\"" + fmt("%.1f", f.left - 6) + "\" y=\"" + fmt("%.1f", f.Y(v) + 4) +
         "\" font-size=\"11\" text-anchor=\"end\">" + fmt("%.1f", v) + "</text>";
  }
  s += "<text x=\"" + fmt("%.1f", f.X(0.5)) + "\" y=\"" + fmt("%.1f", f.Y(0) + 34) +
       "\" font-size=\"12\" text-anchor=\"middle\">" + x_label + "</text>";
  return s;
}

// The diagram: one marker per non-empty bin (mean probability, observed
// share), sized by its count; the diagonal is perfect calibration.
std::string reliability_svg(const std::vector<std::pair<std::string, std::vector<ReliabilityBin>>>& series) {
  const double size = 320, pad = 40, plot = size - 2 * pad;
  std::string s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + fmt("%.0f", size + 150) + "\" height=\"" +
                  fmt("%.0f", size) + "\" role=\"img\" aria-label=\"reliability diagram\">";
  const Frame f{pad, pad, plot, plot};
  auto X = [&](double v) { return f.X(v); };
  auto Y = [&](double v) { return f.Y(v); };
  s += frame_svg(f, "predicted probability");
  s += "<line x1=\"" + fmt("%.1f", X(0)) + "\" y1=\"" + fmt("%.1f", Y(0)) + "\" x2=\"" + fmt("%.1f", X(1)) + "\" y2=\"" +
       fmt("%.1f", Y(1)) + "\" stroke=\"#bbb\" stroke-dasharray=\"4 3\"/>";
  s += "<text x=\"12\" y=\"" + fmt("%.1f", Y(0.5)) + "\" font-size=\"12\" text-anchor=\"middle\" transform=\"rotate(-90 12 " +
       fmt("%.1f", Y(0.5)) + ")\">share relevant</text>";
  const char* colors[] = {"#999999", "#1f6fd1"};
  size_t total = 0;
  for (const auto& [name, bins] : series) {
    for (const ReliabilityBin& b : bins) total = std::max(total, b.count);
  }
  for (size_t k = 0; k < series.size(); ++k) {
    std::string path;
    for (const ReliabilityBin& b : series[k].second) {
      if (!b.count) continue;
      const double px = X(b.probability_sum / double(b.count)), py = Y(b.relevant / double(b.count));
      path += (path.empty() ? "M" : " L") + fmt("%.1f", px) + "," + fmt("%.1f", py);
      const double r = 2.5 + 5.5 * std::sqrt(double(b.count) / double(std::max<size_t>(1, total)));
      s += "<circle cx=\"" + fmt("%.1f", px) + "\" cy=\"" + fmt("%.1f", py) + "\" r=\"" + fmt("%.1f", r) +
           "\" fill=\"" + colors[k % 2] + "\" fill-opacity=\"0.7\"><title>" + escape(series[k].first) + ": " +
           std::to_string(b.count) + " labels, predicted " + fmt("%.3f", b.probability_sum / double(b.count)) +
           ", relevant " + fmt("%.3f", b.relevant / double(b.count)) + "</title></circle>";
    }
    s += "<path d=\"" + path + "\" fill=\"none\" stroke=\"" + colors[k % 2] + "\" stroke-width=\"1.5\"/>";
    s += "<rect x=\"" + fmt("%.0f", size + 4) + "\" y=\"" + fmt("%.0f", pad + 18.0 * double(k)) +
         "\" width=\"10\" height=\"10\" fill=\"" + colors[k % 2] + "\"/><text x=\"" + fmt("%.0f", size + 18) +
         "\" y=\"" + fmt("%.0f", pad + 9 + 18.0 * double(k)) + "\" font-size=\"12\">" + escape(series[k].first) +
         "</text>";
  }
  return s + "</svg>";
}

// Precision of the labels kept and coverage (rows keeping one) against the
// threshold, as two lines.
std::string threshold_svg(const std::vector<ThresholdRow>& rows) {
  const double w = 560, h = 300, pad = 40;
  const Frame f{pad, pad, w - 2 * pad - 190, h - 2 * pad};
  auto X = [&](double v) { return f.X(v); };
  auto Y = [&](double v) { return f.Y(v); };
  std::string s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + fmt("%.0f", w) + "\" height=\"" + fmt("%.0f", h) +
                  "\" role=\"img\" aria-label=\"precision and coverage against threshold\">";
  s += frame_svg(f, "threshold");
  const char* colors[] = {"#1f6fd1", "#d1651f"};
  const char* names[] = {"precision of kept labels", "coverage (rows keeping one)"};
  for (int line = 0; line < 2; ++line) {
    std::string path;
    for (const ThresholdRow& r : rows) {
      if (line == 0 && r.coverage == 0) break;  // nothing kept: no precision to draw
      const double v = line == 0 ? r.precision : r.coverage;
      path += (path.empty() ? "M" : " L") + fmt("%.1f", X(r.threshold)) + "," + fmt("%.1f", Y(v));
    }
    s += "<path d=\"" + path + "\" fill=\"none\" stroke=\"" + colors[line] + "\" stroke-width=\"2\"/>";
    s += "<rect x=\"" + fmt("%.1f", X(1) + 8) + "\" y=\"" + fmt("%.0f", pad + 18.0 * line) + "\" width=\"10\" height=\"10\" fill=\"" +
         colors[line] + "\"/><text x=\"" + fmt("%.1f", X(1) + 22) + "\" y=\"" + fmt("%.0f", pad + 9 + 18.0 * line) +
         "\" font-size=\"11\">" + names[line] + "</text>";
  }
  return s + "</svg>";
}

}  // namespace

std::string eval_report_html(const EvalReportInput& in) {
  const Model& model = *in.model;
  const CsrMatrix& truth = *in.truth;
  const auto& pred = *in.predictions;
  auto raw = pred;
  apply_calibration(Model(), raw);  // scores clamped to [0, 1]
  auto calibrated = pred;
  if (in.calibrated) apply_calibration(model, calibrated);
  const auto& served = in.calibrated ? calibrated : raw;
  const CalibrationMetrics raw_m = calibration_metrics(raw, truth, in.k);
  const CalibrationMetrics cal_m = calibration_metrics(calibrated, truth, in.k);

  std::string h = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>xmr eval: " +
                  escape(in.model_path) + "</title><style>"
                  "body{font-family:sans-serif;margin:2em;max-width:60em;color:#222}"
                  "table{border-collapse:collapse;margin:0.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 8px;"
                  "text-align:right}th{background:#f0f0f0}td.l{text-align:left}h2{margin-top:1.6em}"
                  ".figs{display:flex;flex-wrap:wrap;gap:2em}</style></head><body>\n";
  h += "<h1>xmr evaluation</h1><p>Model <code>" + escape(in.model_path) + "</code> (" +
       std::to_string(model.num_labels()) + " labels, " + std::to_string(model.num_trees()) + " tree" +
       (model.num_trees() > 1 ? "s" : "") + (in.calibrated ? ", calibrated" : ", not calibrated") + ") on <code>" +
       escape(in.data_path) + "</code>: " + std::to_string(in.metrics.n) + " rows.</p>\n";

  h += "<h2 id=\"ranking\">Ranking</h2><table><tr><th>k</th><th>P@k</th><th>R@k</th><th>nDCG@k</th></tr>";
  for (int j = 1; j <= in.k; ++j) {
    h += "<tr><td>" + std::to_string(j) + "</td><td>" + fmt("%.2f", 100 * in.metrics.precision[size_t(j - 1)]) +
         "</td><td>" + fmt("%.2f", 100 * in.metrics.recall[size_t(j - 1)]) + "</td><td>" +
         fmt("%.2f", 100 * in.metrics.ndcg[size_t(j - 1)]) + "</td></tr>";
  }
  h += "</table>\n";

  h += "<h2 id=\"calibration\">Calibration</h2><p>Expected calibration error (10 equal-width bins) of the probability "
       "of the label at rank 1 (ECE@1) and at ranks 1&ndash;" + std::to_string(in.k) + ", and the Brier score at rank 1. "
       "&ldquo;Raw&rdquo; is the model's score clamped to [0, 1].</p><table><tr><th></th><th>ECE@1</th><th>ECE@" +
       std::to_string(in.k) + "</th><th>Brier@1</th></tr>";
  h += "<tr><td class=\"l\">raw scores</td><td>" + fmt("%.4f", raw_m.ece_at_1) + "</td><td>" + fmt("%.4f", raw_m.ece_at_k) +
       "</td><td>" + fmt("%.4f", raw_m.brier_at_1) + "</td></tr>";
  if (in.calibrated) {
    h += "<tr><td class=\"l\">calibrated</td><td>" + fmt("%.4f", cal_m.ece_at_1) + "</td><td>" +
         fmt("%.4f", cal_m.ece_at_k) + "</td><td>" + fmt("%.4f", cal_m.brier_at_1) + "</td></tr>";
  }
  h += "</table>\n<div class=\"figs\"><figure><figcaption>Reliability, ranks 1&ndash;" + std::to_string(in.k) +
       (in.calibrated ? ", before and after calibration" : " (the model has no calibration: xmr calibrate)") +
       "</figcaption>";
  std::vector<std::pair<std::string, std::vector<ReliabilityBin>>> series = {{"raw scores", reliability_bins(raw, truth, in.k)}};
  if (in.calibrated) series.push_back({"calibrated", reliability_bins(calibrated, truth, in.k)});
  h += reliability_svg(series) + "</figure>";
  std::vector<float> thresholds;
  for (int t = 0; t <= 19; ++t) thresholds.push_back(float(t) / 20.0f);
  std::vector<std::vector<ScoredLabel>> top_k = served;
  for (auto& row : top_k) row.resize(std::min(row.size(), size_t(in.k)));
  const auto rows = threshold_table(top_k, truth, thresholds);
  h += "<figure><figcaption>Precision and coverage of the top " + std::to_string(in.k) + " against the " +
       (in.calibrated ? "probability" : "raw score") + " threshold</figcaption>" + threshold_svg(rows) + "</figure></div>\n";
  h += "<table><tr><th>threshold</th><th>precision</th><th>recall</th><th>coverage</th></tr>";
  for (const ThresholdRow& r : rows) {
    if (int(r.threshold * 20 + 0.5) % 2) continue;  // every 0.1 in the table; the figure has every 0.05
    h += "<tr><td>" + fmt("%.1f", r.threshold) + "</td><td>" + fmt("%.4f", r.precision) + "</td><td>" +
         fmt("%.4f", r.recall) + "</td><td>" + fmt("%.4f", r.coverage) + "</td></tr>";
  }
  h += "</table>\n";

  // Label frequency in this evaluation set: head labels hold the first half
  // of the label occurrences, torso the next 30%, tail the rest.
  std::vector<size_t> count(std::max<size_t>(truth.cols, model.num_labels()), 0);
  for (Index l : truth.indices) ++count[l];
  std::vector<Index> by_count(count.size());
  std::iota(by_count.begin(), by_count.end(), Index(0));
  std::stable_sort(by_count.begin(), by_count.end(), [&](Index a, Index b) { return count[a] > count[b]; });
  std::vector<int> bucket(count.size(), 2);
  const double occurrences = double(truth.nnz());
  double seen = 0;
  for (Index l : by_count) {
    if (!count[l]) break;
    bucket[l] = seen < 0.5 * occurrences ? 0 : seen < 0.8 * occurrences ? 1 : 2;
    seen += double(count[l]);
  }
  size_t rows_in[3] = {}, right_in[3] = {};
  std::map<Index, std::pair<size_t, size_t>> at_one;  // label -> (predicted at rank 1, right)
  for (size_t i = 0; i < pred.size(); ++i) {
    if (pred[i].empty()) continue;
    const Index l = pred[i][0].label;
    const bool ok = is_relevant(truth, i, l);
    ++rows_in[bucket[l]];
    right_in[bucket[l]] += ok;
    auto& a = at_one[l];
    ++a.first;
    a.second += ok;
  }
  h += "<h2 id=\"frequency\">P@1 by label frequency</h2><p>Rows grouped by the frequency, in this evaluation set, of "
       "the label they get at rank 1: head labels hold the first half of all label occurrences, torso the next 30%, "
       "tail the rest (and labels absent from it).</p><table><tr><th>bucket</th><th>rows</th><th>P@1</th></tr>";
  const char* names[] = {"head", "torso", "tail"};
  for (int b = 0; b < 3; ++b) {
    h += "<tr><td class=\"l\">" + std::string(names[b]) + "</td><td>" + std::to_string(rows_in[b]) + "</td><td>" +
         (rows_in[b] ? fmt("%.2f", 100.0 * double(right_in[b]) / double(rows_in[b])) : std::string("&ndash;")) +
         "</td></tr>";
  }
  h += "</table>\n";

  std::vector<std::pair<Index, std::pair<size_t, size_t>>> worst(at_one.begin(), at_one.end());
  worst.erase(std::remove_if(worst.begin(), worst.end(), [](const auto& w) { return w.second.first < 5; }), worst.end());
  std::sort(worst.begin(), worst.end(), [](const auto& a, const auto& b) {
    const double pa = double(a.second.second) / double(a.second.first), pb = double(b.second.second) / double(b.second.first);
    return pa < pb || (pa == pb && a.second.first > b.second.first);
  });
  if (worst.size() > 20) worst.resize(20);
  h += "<h2 id=\"worst\">Labels most often wrong at rank 1</h2><p>Among labels given at rank 1 at least 5 times, "
       "the 20 least precise.</p><table><tr><th>label</th><th>at rank 1</th><th>right</th><th>precision</th>"
       "<th>in the truth</th></tr>";
  for (const auto& [label, c] : worst) {
    h += "<tr><td class=\"l\">" + escape(model.label_name(label)) + "</td><td>" + std::to_string(c.first) + "</td><td>" +
         std::to_string(c.second) + "</td><td>" + fmt("%.2f", double(c.second) / double(c.first)) + "</td><td>" +
         std::to_string(label < count.size() ? count[label] : 0) + "</td></tr>";
  }
  h += "</table>\n</body></html>\n";
  return h;
}

}  // namespace xmr::cli
