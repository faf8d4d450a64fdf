#include <cstdio>

#include "analyzers/analyzer_registry.h"
#include "analyzers/lucene_index.h"
#include "index_tools/command.h"
#include "index_tools/options.h"

namespace xmr::cli {

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
  const size_t n = build_lucene_index(input, index_dir, spec, [&](size_t done) {
    if (!quiet) std::fprintf(stderr, "xmr index: %zu documents\n", done);
  });
  if (!quiet) std::fprintf(stderr, "xmr index: wrote %zu documents to %s\n", n, index_dir.c_str());
  return 0;
}

}  // namespace xmr::cli
