// Shopper queries for document retrieval on the demo catalog (examples/
// catalog.h): queries whose words differ from the titles they should find
// (synonyms shoppers use, misspellings, attribute words), each with the set
// of products relevant to it, and a click log to train on.
//
// An intent is a leaf category, and half the time one attribute word of it
// ("waterproof"); its relevant products are the leaf's products whose title
// has that word. Each intent gets a few query texts: the product type as a
// shopper calls it (a synonym, when the type has one, else the title's noun,
// misspelt half the time), sometimes the facet ("womens") and the attribute.
// Texts are split by query into a click log (train) and test queries, so no
// test text is in the log.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "examples/catalog.h"

namespace xmr {

struct ShopperQueryParams {
  size_t intents = 3000;
  size_t texts_per_intent = 3;
  double test_fraction = 0.2;   // of the distinct texts
  size_t max_clicks = 3;        // clicked products per logged query (the first relevant ones weigh most)
  uint64_t seed = 7;
};

struct ShopperQuery {
  std::string text;
  std::vector<std::string> keys;  // log: the clicked products; test: every relevant product
};

struct ShopperQueries {
  std::vector<ShopperQuery> log;   // train
  std::vector<ShopperQuery> test;
};

// Deterministic for a catalog and params.
ShopperQueries make_shopper_queries(const Catalog& catalog, const ShopperQueryParams& params);

// JSONL {"query": "...", "keys": [...]} per line, written atomically.
void write_shopper_queries(const std::vector<ShopperQuery>& queries, const std::string& path);

}  // namespace xmr
