#include "tests/fuzz/fuzz_fixture.h"

#include <lucene++/LuceneHeaders.h>
#include <stdlib.h>

#include "analyzers/lucene_analyzers.h"
#include "analyzers/lucene_index.h"
#include "analyzers/text_model.h"
#include "analyzers/utf8.h"
#include "examples/catalog.h"

namespace xmr::fuzz {

const Fixture& fixture() {
  static const Fixture f = [] {
    Fixture fx;
    char tmpl[] = "/tmp/xmr-fuzz-XXXXXX";
    if (!::mkdtemp(tmpl)) std::abort();
    fx.dir = tmpl;
    fx.plugin_path = XMR_PLUGIN_PATH;
    CatalogParams cp;
    cp.products = 1500;
    cp.queries = 10;
    cp.seed = 5;
    write_catalog_products(generate_catalog(cp), fx.dir + "/products.jsonl");
    IndexSpec spec;
    spec.text_fields = {"title"};
    spec.label_fields = {"categories"};
    spec.key_field = "id";
    build_lucene_index(fx.dir + "/products.jsonl", fx.dir + "/index", spec);
    const TextDataset data = read_lucene_index(fx.dir + "/index", "title", "categories");
    TextModel::train(data, default_vectorizer_config(), default_text_train_params()).save(fx.dir + "/products.xmr");
    Lucene::DirectoryPtr d = Lucene::FSDirectory::open(utf8_to_wide(fx.dir + "/index"));
    fx.searcher = Lucene::newLucene<Lucene::IndexSearcher>(Lucene::IndexReader::open(d, true));
    fx.analyzer = make_lucene_analyzer("standard");
    return fx;
  }();
  return f;
}

}  // namespace xmr::fuzz
