// xmr catalog: the demo's synthetic product catalog and shopper queries.
#include <cstdio>

#include "core/error.h"
#include "examples/catalog.h"
#include "examples/shopper_queries.h"
#include "index_tools/command.h"
#include "index_tools/options.h"

namespace xmr::cli {

int run_catalog(int argc, char** argv) {
  CatalogParams p;
  std::string products_path, queries_path, log_path, retrieval_test_path;
  ShopperQueryParams sq;
  po::options_description o("xmr catalog options");
  o.add_options()
      ("products-out", po::value(&products_path)->required(), "products JSONL to write")
      ("queries-out", po::value(&queries_path)->required(), "queries JSONL to write")
      ("products", po::value(&p.products)->default_value(p.products), "number of products")
      ("queries", po::value(&p.queries)->default_value(p.queries), "number of shopper queries")
      ("popularity", po::value(&p.popularity_exponent)->default_value(p.popularity_exponent),
       "Zipf exponent of category popularity")
      ("seed", po::value(&p.seed)->default_value(p.seed), "random seed")
      ("log-out", po::value(&log_path),
       "documents as labels: a click log of shopper queries ({\"query\", \"keys\"} JSONL) to train on")
      ("retrieval-test-out", po::value(&retrieval_test_path),
       "documents as labels: test queries, other texts than the log's, with every relevant product's key")
      ("intents", po::value(&sq.intents)->default_value(sq.intents),
       "shopper intents (a leaf category, maybe an attribute) behind the log and test queries");
  po::variables_map vm;
  if (!parse_options(argc, argv, "xmr catalog --products-out FILE --queries-out FILE [options]", o, vm)) return 0;
  if (p.products == 0) throw Error("--products must be > 0");
  const Catalog c = generate_catalog(p);
  write_catalog_products(c, products_path);
  write_catalog_queries(c, queries_path);
  std::fprintf(stderr, "xmr catalog: %zu products in %zu leaf categories -> %s; %zu queries -> %s\n",
               c.products.size(), c.num_leaves, products_path.c_str(), c.queries.size(), queries_path.c_str());
  if (!log_path.empty() || !retrieval_test_path.empty()) {
    if (log_path.empty() || retrieval_test_path.empty()) throw Error("give both --log-out and --retrieval-test-out");
    sq.seed = p.seed + 6;
    const ShopperQueries q = make_shopper_queries(c, sq);
    write_shopper_queries(q.log, log_path);
    write_shopper_queries(q.test, retrieval_test_path);
    std::fprintf(stderr, "xmr catalog: %zu logged shopper queries -> %s; %zu test queries -> %s\n", q.log.size(),
                 log_path.c_str(), q.test.size(), retrieval_test_path.c_str());
  }
  return 0;
}

}  // namespace xmr::cli
