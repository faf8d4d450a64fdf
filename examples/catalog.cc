#include "examples/catalog.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <numeric>
#include <random>
#include <sstream>

#include "core/file_util.h"
#include "examples/catalog_words.h"
#include "examples/catalog_taxonomy.h"

namespace xmr {

namespace {

std::string plural(const std::string& w) {
  auto ends = [&](const char* e) { return w.size() >= std::strlen(e) && w.compare(w.size() - std::strlen(e), std::string::npos, e) == 0; };
  if (ends("ss") || ends("x") || ends("ch") || ends("sh")) return w + "es";
  if (ends("s")) return w;  // already plural: jeans, shorts, pliers
  if (w.size() > 1 && w.back() == 'y' && !std::strchr("aeiou", w[w.size() - 2])) return w.substr(0, w.size() - 1) + "ies";
  return w + "s";
}

std::string title_case(const std::string& s) {
  std::string out = s;
  bool start = true;
  for (char& c : out) {
    if (start && std::isalpha((unsigned char)c)) c = (char)std::toupper((unsigned char)c);
    start = c == ' ' || c == '-';
  }
  return out;
}

struct Leaf {
  std::vector<std::string> path;  // names, top first
  std::vector<std::string> noun;  // the product type's words, singular
  std::string facet;              // e.g. "Men's", or empty
  size_t department = 0, sub = 0;
};

class Generator {
 public:
  explicit Generator(const CatalogParams& p) : p_(p), rng_(p.seed) {}

  Catalog run() {
    build_leaves();
    build_brands();
    Catalog c;
    c.num_leaves = leaves_.size();
    // Long-tailed popularity over a random order of leaves.
    std::vector<size_t> rank(leaves_.size());
    std::iota(rank.begin(), rank.end(), 0);
    std::shuffle(rank.begin(), rank.end(), rng_);
    std::vector<double> weight(leaves_.size());
    for (size_t i = 0; i < leaves_.size(); ++i) weight[i] = 1.0 / std::pow(double(rank[i] + 1), p_.popularity_exponent);
    std::discrete_distribution<size_t> popular(weight.begin(), weight.end());

    std::vector<std::vector<size_t>> by_leaf(leaves_.size());
    auto add_product = [&](size_t leaf) {
      by_leaf[leaf].push_back(c.products.size());
      c.products.push_back(make_product(leaf, c.products.size()));
    };
    for (size_t leaf = 0; leaf < leaves_.size(); ++leaf) {
      for (size_t k = 0; k < p_.min_products_per_leaf; ++k) add_product(leaf);
    }
    while (c.products.size() < p_.products) add_product(popular(rng_));
    for (size_t q = 0; q < p_.queries; ++q) {
      const size_t leaf = popular(rng_);
      const auto& ids = by_leaf[leaf];
      c.queries.push_back(make_query(c.products[ids[rng_() % ids.size()]], leaf));
    }
    return c;
  }

 private:
  void build_leaves() {
    const auto& specs = department_specs();
    for (size_t d = 0; d < specs.size(); ++d) {
      for (size_t s = 0; s < specs[d].subs.size(); ++s) {
        for (const auto& type : split_words(specs[d].subs[s].product_types)) {
          std::string words = type;
          std::replace(words.begin(), words.end(), '_', ' ');
          const std::vector<std::string> noun = split_words(words);
          std::string display = words.substr(0, words.rfind(' ') + 1) + plural(noun.back());
          display = title_case(display);
          const std::vector<std::string> base = {specs[d].name, specs[d].subs[s].name, display};
          if (specs[d].facets.empty()) {
            leaves_.push_back({base, noun, "", d, s});
          } else {
            for (const char* f : specs[d].facets) {
              std::vector<std::string> path = base;
              path.push_back(std::string(f) + " " + display);
              leaves_.push_back({path, noun, f, d, s});
            }
          }
        }
      }
    }
  }

  std::string brand_name() {
    static const char* first[] = {"Ka", "Zen", "Lu", "Vo", "Ori", "Sol", "Mar", "Tek", "Bel", "Nor", "Ar", "Qui",
                                  "Del", "Fa", "Gro", "Hal", "Ivo", "Jun", "Kor", "Lin", "Mo", "Nex", "Pal", "Rho"};
    static const char* last[] = {"ra", "vex", "lo", "tek", "mora", "ix", "well", "ton", "via", "sun", "ora", "dex",
                                 "nia", "ford", "line", "co", "ly", "bo", "mar", "tro"};
    std::string b = std::string(first[rng_() % 24]) + last[rng_() % 20];
    return b;
  }

  void build_brands() {
    const auto& specs = department_specs();
    department_brands_.resize(specs.size());
    sub_brands_.resize(specs.size());
    for (size_t d = 0; d < specs.size(); ++d) {
      for (int k = 0; k < 2; ++k) department_brands_[d].push_back(brand_name());
      for (size_t s = 0; s < specs[d].subs.size(); ++s) {
        sub_brands_[d].emplace_back();
        for (int k = 0; k < 6; ++k) sub_brands_[d][s].push_back(brand_name());
      }
    }
  }

  template <class T>
  const T& pick(const std::vector<T>& v) {
    return v[rng_() % v.size()];
  }
  bool chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }

  CatalogProduct make_product(size_t leaf_id, size_t index) {
    const Leaf& leaf = leaves_[leaf_id];
    const DepartmentSpec& dept = department_specs()[leaf.department];
    CatalogProduct p;
    p.id = "P" + std::to_string(100000 + index);
    // Brands are Zipfian too: the first of a sub-department's brands is the biggest.
    const auto& subs = sub_brands_[leaf.department][leaf.sub];
    p.brand = chance(0.2) ? pick(department_brands_[leaf.department])
                          : subs[std::min(subs.size() - 1, size_t(std::floor(std::pow(rng_() % 1000 / 1000.0, 2.0) * subs.size())))];
    std::vector<std::string> words = {p.brand};
    if (!leaf.facet.empty() && chance(0.85)) words.push_back(leaf.facet);
    std::vector<std::string> attrs = split_words(dept.attributes);
    std::shuffle(attrs.begin(), attrs.end(), rng_);  // distinct attributes
    const size_t n_attrs = std::min(attrs.size(), size_t(1 + rng_() % 3));
    for (size_t k = 0; k < n_attrs; ++k) words.push_back(title_case(attrs[k]));
    if (chance(0.1)) {  // an attribute borrowed from another department
      const auto& other = department_specs()[rng_() % department_specs().size()];
      words.push_back(title_case(pick(split_words(other.attributes))));
    }
    for (const auto& w : leaf.noun) words.push_back(title_case(w));
    if (chance(0.5)) {
      const std::vector<std::string> units = split_words(dept.units);
      const std::string unit = pick(units);
      const int n = 1 + int(rng_() % 500);
      words.push_back(unit == "size" ? "Size " + std::to_string(4 + n % 10) : std::to_string(n) + " " + unit);
    }
    for (size_t i = 0; i < words.size(); ++i) p.title += (i ? " " : "") + words[i];
    std::string prefix;
    for (const auto& name : leaf.path) {
      prefix += (prefix.empty() ? "" : " > ") + name;
      p.categories.push_back(prefix);
    }
    return p;
  }

  CatalogQuery make_query(const CatalogProduct& product, size_t leaf_id) {
    const Leaf& leaf = leaves_[leaf_id];
    CatalogQuery q;
    q.categories = product.categories;
    q.product_id = product.id;
    std::vector<std::string> words;
    if (chance(0.05)) {
      q.kind = "brand";
      words.push_back(product.brand);
    } else {
      q.kind = "product";
      words = leaf.noun;
      if (chance(0.4)) words.back() = plural(words.back());
      if (!leaf.facet.empty() && chance(0.6)) {
        std::string f = lower(leaf.facet);
        if (chance(0.3)) f.erase(std::remove(f.begin(), f.end(), '\''), f.end());  // mens, womens
        words.insert(words.begin(), f);
      }
      // Keep a few of the title's other words (the rest are dropped).
      std::vector<std::string> skip = leaf.noun;  // already in the query
      for (const auto& f : split_words(lower(leaf.facet))) skip.push_back(f);
      const std::vector<std::string> title = split_words(product.title);
      for (size_t i = 1; i < title.size(); ++i) {
        if (std::find(skip.begin(), skip.end(), lower(title[i])) == skip.end() && chance(0.2)) words.push_back(title[i]);
      }
      if (chance(0.3)) words.insert(words.begin(), product.brand);
      if (chance(0.3)) std::shuffle(words.begin(), words.end(), rng_);
      if (chance(0.15)) {
        std::string& w = words[rng_() % words.size()];
        w = misspell(w, rng_);
      }
    }
    for (size_t i = 0; i < words.size(); ++i) q.text += (i ? " " : "") + lower(words[i]);
    return q;
  }

  CatalogParams p_;
  std::mt19937_64 rng_;
  std::vector<Leaf> leaves_;
  std::vector<std::vector<std::string>> department_brands_;
  std::vector<std::vector<std::vector<std::string>>> sub_brands_;
};

void write_strings(rapidjson::Writer<rapidjson::StringBuffer>& w, const std::vector<std::string>& v) {
  w.StartArray();
  for (const auto& s : v) w.String(s.data(), (rapidjson::SizeType)s.size());
  w.EndArray();
}

}  // namespace

Catalog generate_catalog(const CatalogParams& params) { return Generator(params).run(); }

const std::string& deepest_category(const std::vector<std::string>& categories) {
  static const std::string none;
  const std::string* best = &none;
  for (const auto& c : categories) {
    if (c.size() > best->size()) best = &c;
  }
  return *best;
}

void write_catalog_products(const Catalog& catalog, const std::string& path) {
  rapidjson::StringBuffer buf;
  for (const auto& p : catalog.products) {
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    w.StartObject();
    w.Key("id");
    w.String(p.id.c_str());
    w.Key("title");
    w.String(p.title.c_str());
    w.Key("brand");
    w.String(p.brand.c_str());
    w.Key("categories");
    write_strings(w, p.categories);
    w.EndObject();
    buf.Put('\n');
  }
  write_output(path, buf.GetString(), buf.GetSize());
}

void write_catalog_queries(const Catalog& catalog, const std::string& path) {
  rapidjson::StringBuffer buf;
  for (const auto& q : catalog.queries) {
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    w.StartObject();
    w.Key("text");
    w.String(q.text.c_str());
    w.Key("labels");
    write_strings(w, q.categories);
    w.Key("kind");
    w.String(q.kind.c_str());
    w.Key("product");
    w.String(q.product_id.c_str());
    w.EndObject();
    buf.Put('\n');
  }
  write_output(path, buf.GetString(), buf.GetSize());
}

}  // namespace xmr
