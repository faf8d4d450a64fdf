// xmr: extreme multi-label ranking for Lucene++ — the command-line tool.
#include <cstdio>
#include <cstring>
#include <exception>

#include <xmr/version.h>

#include "core/file_util.h"
#include "core/model_format.h"
#include "index_tools/command.h"
#include "plugin/abi.h"
#include "plugin/plugin_loader.h"

namespace {

const xmr::cli::Command kCommands[] = {
    {"index", "index JSONL documents into a Lucene++ index", xmr::cli::run_index},
    {"train", "train a model from labelled data", xmr::cli::run_train},
    {"predict", "top-k labels for each input line, as JSONL", xmr::cli::run_predict},
    {"eval", "P@k, R@k, nDCG@k of a model on a test set", xmr::cli::run_eval},
    {"calibrate", "fit calibrated probabilities on held-out data into a model", xmr::cli::run_calibrate},
    {"search", "run queries through the plugin pipeline over an index", xmr::cli::run_search},
    {"inspect", "describe a model file", xmr::cli::run_inspect},
    {"synth", "write a seeded synthetic XC data set", xmr::cli::run_synth},
    {"catalog", "write the demo's synthetic product catalog and queries", xmr::cli::run_catalog},
    {"bench", "benchmark training, loading and inference from 10^3 to 10^6 labels", xmr::cli::run_bench},
};

void usage(FILE* out) {
  std::fprintf(out,
               "usage: xmr <command> [options]   (xmr <command> --help for its options)\n"
               "       xmr --version\n\ncommands:\n");
  for (const auto& c : kCommands) std::fprintf(out, "  %-10s %s\n", c.name, c.summary);
}

// What a bug report needs: versions of everything that must match.
void print_version() {
  std::string search_path;
  for (const auto& dir : xmr::plugin_search_path()) search_path += (search_path.empty() ? "" : ":") + dir;
  std::printf("xmr %s\nmodel format %u\nplugin ABI %u\nbuild %s\nplugin search path %s\n", XMR_VERSION_STRING,
              unsigned(xmr::kModelFormatVersion), unsigned(XMR_PLUGIN_ABI_VERSION), xmr::build_fingerprint().c_str(),
              search_path.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  if (!std::strcmp(argv[1], "--version") || !std::strcmp(argv[1], "-V")) {
    try {
      print_version();
      xmr::finish_stdout();
      return 0;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "xmr: error: %s\n", e.what());
      return 1;
    }
  }
  for (const auto& c : kCommands) {
    if (std::strcmp(argv[1], c.name) == 0) {
      try {
        const int code = c.run(argc - 1, argv + 1);
        xmr::finish_stdout();  // a failed write to stdout (a full disk, a closed pipe) is a failure
        return code;
      } catch (const std::exception& e) {
        std::fprintf(stderr, "xmr %s: error: %s\n", c.name, e.what());
        return 1;
      }
    }
  }
  std::fprintf(stderr, "xmr: unknown command '%s'\n", argv[1]);
  usage(stderr);
  return 2;
}
