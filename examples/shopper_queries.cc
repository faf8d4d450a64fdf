#include "examples/shopper_queries.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <unordered_set>

#include "core/file_util.h"
#include "examples/catalog_words.h"

namespace xmr {

namespace {

// What shoppers call some product types (the catalog's singular nouns), in
// words the titles do not use. Written for this project.
const std::map<std::string, std::vector<std::string>>& shopper_words() {
  static const std::map<std::string, std::vector<std::string>> words = {
      {"headphone", {"over ear cans", "headset"}}, {"earbud", {"in ear buds", "airpods"}},
      {"speaker", {"boombox", "sound box"}}, {"soundbar", {"tv sound system"}},
      {"laptop", {"notebook pc", "portable computer"}}, {"monitor", {"computer screen", "display"}},
      {"keyboard", {"typing keys"}}, {"router", {"wifi box", "modem"}},
      {"smartphone", {"cell phone", "mobile"}}, {"charger", {"power adapter", "plug"}},
      {"power bank", {"portable battery"}}, {"television", {"telly", "flat screen"}},
      {"projector", {"beamer"}}, {"skillet", {"frying pan", "fry pan"}}, {"saucepan", {"sauce pot"}},
      {"wok", {"stir fry pan"}}, {"blender", {"smoothie maker"}}, {"kettle", {"water boiler"}},
      {"coffee maker", {"espresso machine", "brewer"}}, {"air fryer", {"oil free cooker"}},
      {"pillow", {"bed cushion"}}, {"duvet", {"doona"}}, {"blanket", {"throw"}},
      {"towel", {"bath sheet"}}, {"t-shirt", {"tee", "tees"}}, {"jeans", {"denims"}},
      {"trousers", {"pants", "slacks"}}, {"sweatshirt", {"hoodie", "jumper"}},
      {"jacket", {"windbreaker"}}, {"coat", {"overcoat"}}, {"pajama set", {"pjs", "nightwear"}},
      {"running shoe", {"jogging sneakers", "runners"}}, {"sneaker", {"kicks", "trainers"}},
      {"flip-flop", {"thongs"}}, {"hiking boot", {"trekking boots"}}, {"rain boot", {"wellies"}},
      {"sandal", {"open toe"}}, {"moisturizer", {"face lotion"}}, {"sunscreen", {"sunblock", "spf lotion"}},
      {"perfume", {"scent"}}, {"lipstick", {"lip colour"}}, {"shampoo", {"hair wash"}},
      {"dumbbell", {"hand weights"}}, {"yoga mat", {"exercise pad"}}, {"tent", {"shelter"}},
      {"sleeping bag", {"sleep sack"}}, {"bicycle", {"cycle"}}, {"backpack", {"rucksack", "daypack"}},
      {"stroller", {"pram", "buggy"}}, {"diaper", {"nappies"}}, {"crib", {"cot"}},
      {"baby bottle", {"feeder"}}, {"sofa", {"couch", "settee"}}, {"wardrobe", {"armoire"}},
      {"rug", {"carpet"}}, {"novel", {"fiction"}}, {"cookbook", {"recipe book"}},
      {"lawn mower", {"grass cutter"}}, {"drill", {"power driver"}}, {"flashlight", {"torch"}},
      {"faucet", {"tap", "mixer tap"}}, {"pen", {"ballpoint", "biro"}}, {"printer", {"inkjet"}},
      {"multivitamin", {"daily vitamins"}}, {"razor", {"shaver"}}, {"smartwatch", {"fitness tracker"}},
      {"chip", {"crisps"}}, {"cookie", {"biscuits"}}, {"cereal", {"cornflakes"}},
      {"leash", {"lead"}}, {"pet bed", {"dog basket"}}, {"dash cam", {"car camera"}},
      {"office chair", {"desk seat"}}, {"standing desk", {"sit stand table"}}, {"hammer", {"mallet"}},
      {"garden hose", {"water pipe"}}, {"gas grill", {"bbq", "barbecue"}}, {"thermometer", {"fever gauge"}},
      {"scooter", {"kick board"}}, {"puzzle", {"jigsaw puzzle"}}, {"doll", {"baby doll toy"}},
  };
  return words;
}

// "Women's Running Shoes" -> "running shoe": the leaf's product type, singular.
std::string product_type(const std::string& display) {
  std::string t = lower(display);
  if (t.size() > 3 && t.compare(t.size() - 3, 3, "ies") == 0) return t.substr(0, t.size() - 3) + "y";
  for (const char* e : {"ches", "shes", "sses", "xes"}) {
    const size_t n = std::strlen(e);
    if (t.size() > n && t.compare(t.size() - n, n, e) == 0) return t.substr(0, t.size() - 2);
  }
  if (!t.empty() && t.back() == 's' && t.compare(t.size() - 2, 2, "ss") != 0) t.pop_back();
  return t;
}

class QueryGenerator {
 public:
  QueryGenerator(const Catalog& c, const ShopperQueryParams& p) : c_(c), p_(p), rng_(p.seed) {
    for (size_t i = 0; i < c.products.size(); ++i) by_leaf_[deepest_category(c.products[i].categories)].push_back(i);
  }

  ShopperQueries run() {
    ShopperQueries out;
    std::unordered_set<std::string> seen;
    for (size_t n = 0; n < p_.intents; ++n) {
      // A product picked at random makes popular leaves come up more often.
      const CatalogProduct& seed_product = c_.products[rng_() % c_.products.size()];
      const std::vector<std::string>& path = seed_product.categories;
      const std::vector<size_t>& leaf = by_leaf_[deepest_category(path)];
      const std::string attribute = chance(0.5) ? attribute_of(seed_product) : "";
      std::vector<std::string> relevant;
      for (size_t i : leaf) {
        if (attribute.empty() || has_word(c_.products[i].title, attribute)) relevant.push_back(c_.products[i].id);
      }
      const std::string display = path.size() >= 3 ? path[2].substr(path[2].rfind(" > ") + 3) : path.back();
      const std::string facet = path.size() >= 4 ? facet_of(path[3]) : "";
      for (size_t t = 0; t < p_.texts_per_intent; ++t) {
        const std::string text = compose(product_type(display), facet, attribute);
        if (!seen.insert(text).second) continue;
        const bool test = double(rng_() % 1000) < p_.test_fraction * 1000;
        if (test) {
          out.test.push_back({text, relevant});
        } else {
          out.log.push_back({text, clicks(relevant)});
        }
      }
    }
    return out;
  }

 private:
  bool chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }

  static bool has_word(const std::string& title, const std::string& word) {
    for (const auto& w : split_words(lower(title))) {
      if (w == word) return true;
    }
    return false;
  }

  // A title word that is neither the brand, a number, a unit nor the product type.
  std::string attribute_of(const CatalogProduct& p) {
    const std::vector<std::string> words = split_words(lower(p.title));
    const std::string type = product_type(deepest_category(p.categories));
    std::vector<std::string> candidates;
    for (size_t i = 1; i < words.size(); ++i) {
      const std::string& w = words[i];
      const bool names_the_type = type.find(w) != std::string::npos || w.rfind(split_words(type).back(), 0) == 0;
      if (w.size() < 3 || std::isdigit((unsigned char)w[0]) || names_the_type) continue;
      if (w.find('\'') != std::string::npos || w == "size") continue;  // facets ("men's")
      candidates.push_back(w);
    }
    return candidates.empty() ? "" : candidates[rng_() % candidates.size()];
  }

  // "Women's T-Shirts" -> "womens"
  static std::string facet_of(const std::string& leaf_name) {
    std::string f = lower(split_words(leaf_name.substr(leaf_name.rfind(" > ") + 3)).front());
    f.erase(std::remove(f.begin(), f.end(), '\''), f.end());
    return f;
  }

  std::string compose(const std::string& type, const std::string& facet, const std::string& attribute) {
    std::vector<std::string> words;
    auto synonyms = shopper_words().find(type);
    if (synonyms == shopper_words().end()) synonyms = shopper_words().find(type + "s");  // jeans, trousers
    if (synonyms != shopper_words().end() && chance(0.8)) {
      words = split_words(synonyms->second[rng_() % synonyms->second.size()]);
    } else {
      words = split_words(type);
      if (chance(0.5)) words.back() = misspell(words.back(), rng_);
    }
    if (!facet.empty() && chance(0.5)) words.insert(words.begin(), facet);
    if (!attribute.empty()) words.insert(words.begin(), chance(0.2) ? misspell(attribute, rng_) : attribute);
    std::string text;
    for (const auto& w : words) text += (text.empty() ? "" : " ") + w;
    return text;
  }

  // Clicks favour the first relevant products (a Zipf-like pick), as
  // shoppers favour what ranks and sells well.
  std::vector<std::string> clicks(const std::vector<std::string>& relevant) {
    std::vector<std::string> out;
    const size_t n = 1 + rng_() % p_.max_clicks;
    for (size_t k = 0; k < n && !relevant.empty(); ++k) {
      const double u = std::uniform_real_distribution<double>(0, 1)(rng_);
      const std::string& key = relevant[std::min(relevant.size() - 1, size_t(u * u * double(relevant.size())))];
      if (std::find(out.begin(), out.end(), key) == out.end()) out.push_back(key);
    }
    return out;
  }

  const Catalog& c_;
  ShopperQueryParams p_;
  std::mt19937_64 rng_;
  std::map<std::string, std::vector<size_t>> by_leaf_;
};

}  // namespace

ShopperQueries make_shopper_queries(const Catalog& catalog, const ShopperQueryParams& params) {
  return QueryGenerator(catalog, params).run();
}

void write_shopper_queries(const std::vector<ShopperQuery>& queries, const std::string& path) {
  rapidjson::StringBuffer buf;
  for (const auto& q : queries) {
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    w.StartObject();
    w.Key("query");
    w.String(q.text.c_str(), (rapidjson::SizeType)q.text.size());
    w.Key("keys");
    w.StartArray();
    for (const auto& k : q.keys) w.String(k.c_str(), (rapidjson::SizeType)k.size());
    w.EndArray();
    w.EndObject();
    buf.Put('\n');
  }
  write_output(path, buf.GetString(), buf.GetSize());
}

}  // namespace xmr
