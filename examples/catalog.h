// A seeded synthetic product catalog for the demo: a category taxonomy of
// 1,000+ leaves (depth 3-4) with long-tailed popularity, product titles built
// from per-category brands, product types, attributes and units, and shopper
// queries derived from products with the noise real queries have (dropped
// words, shuffled order, typos, plural/singular, brand-only queries).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace xmr {

struct CatalogParams {
  size_t products = 40000;
  size_t queries = 2000;
  double popularity_exponent = 1.0;  // Zipf exponent of leaf popularity (products and queries)
  size_t min_products_per_leaf = 3;  // so every leaf can be learnt
  uint64_t seed = 1;
};

struct CatalogProduct {
  std::string id;
  std::string title;
  std::string brand;
  std::vector<std::string> categories;  // the path's prefixes, top level first ("A", "A > B", ...)
};

struct CatalogQuery {
  std::string text;
  std::string kind;                     // "brand" (brand only) or "product" (derived from a title)
  std::vector<std::string> categories;  // of the product it came from
  std::string product_id;
};

struct Catalog {
  size_t num_leaves = 0;
  std::vector<CatalogProduct> products;
  std::vector<CatalogQuery> queries;
};

// Deterministic for a given params (and platform).
Catalog generate_catalog(const CatalogParams& params);

// JSONL, one object per line: products {"id", "title", "brand", "categories"};
// queries {"text", "labels", "kind", "product"} (labels = the categories, so
// the file is also a training/eval set). Each file is written atomically.
void write_catalog_products(const Catalog& catalog, const std::string& path);
void write_catalog_queries(const Catalog& catalog, const std::string& path);

// The deepest category of a path's prefixes (the longest one).
const std::string& deepest_category(const std::vector<std::string>& categories);

}  // namespace xmr
