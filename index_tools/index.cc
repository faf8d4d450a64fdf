#include <csignal>
#include <cstdio>

#include "analyzers/analyzer_registry.h"
#include "analyzers/lucene_index.h"
#include "core/error.h"
#include "index_tools/command.h"
#include "index_tools/options.h"
#include "index_tools/progress.h"

namespace xmr::cli {

namespace {

// Lines in `path` (the progress total), or 0 if it cannot be read; the
// indexer reports the real problem.
size_t count_lines(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return 0;
  char buf[1 << 16];
  size_t lines = 0, n = 0;
  char last = '\n';
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
    for (size_t i = 0; i < n; ++i) lines += buf[i] == '\n';
    last = buf[n - 1];
  }
  std::fclose(f);
  return lines + (last != '\n');
}

// Ctrl-C or a termination request stops indexing at the next progress step,
// so the temporary index directory is removed rather than left behind.
volatile std::sig_atomic_t interrupted = 0;
extern "C" void on_interrupt(int) { interrupted = 1; }

}  // namespace

int run_index(int argc, char** argv) {
  std::string input, index_dir;
  IndexSpec spec;
  po::options_description o("xmr index options");
  o.add_options()
      ("input", po::value(&input)->required(), "JSONL file, one document per line")
      ("index", po::value(&index_dir)->required(), "index directory to create")
      ("text-field", po::value(&spec.text_fields)->multitoken()->default_value({"text"}, "text"), "analyzed, stored fields")
      ("label-field", po::value(&spec.label_fields)->multitoken()->default_value({"labels"}, "labels"), "stored label fields (string or array)")
      ("key-field", po::value(&spec.key_field), "stored unique key field")
      ("analyzer", po::value(&spec.analyzer)->default_value("standard"), "Lucene++ analyzer for the text fields")
      ("overwrite", po::bool_switch(&spec.overwrite), "replace an existing index")
      ("quiet,q", po::bool_switch(), "no progress output");
  po::variables_map vm;
  if (!parse_options(argc, argv, "xmr index --input FILE.jsonl --index DIR [options]", o, vm)) return 0;
  check_analyzer_name(spec.analyzer);
  const bool quiet = vm["quiet"].as<bool>();
  Progress progress("xmr index", quiet);
  const size_t lines = quiet ? 0 : count_lines(input);
  struct sigaction action {};
  action.sa_handler = on_interrupt;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  const size_t n = build_lucene_index(input, index_dir, spec, [&](size_t done) {
    if (interrupted) throw Error(index_dir + ": interrupted; no index written");
    progress.update("documents", done, lines);
  });
  progress.update("documents", n, lines);
  progress.finish();
  if (!quiet) std::fprintf(stderr, "xmr index: wrote %zu documents to %s\n", n, index_dir.c_str());
  return 0;
}

}  // namespace xmr::cli
