#include "analyzers/query_log.h"

namespace xmr {

QueryLogStats append_query_log(const std::string& path, const std::unordered_set<std::string>& known_keys,
                               TextDataset& data) {
  TextDataset log = read_jsonl_dataset(path, JsonlFields{"query", "keys"});
  QueryLogStats st;
  st.queries = log.size();
  for (size_t i = 0; i < log.size(); ++i) {
    std::vector<std::string> keys;
    for (auto& k : log.labels[i]) {
      if (known_keys.count(k)) {
        keys.push_back(std::move(k));
      } else {
        ++st.unknown_keys;
      }
    }
    if (keys.empty()) {
      ++st.without_known_key;
      continue;
    }
    data.texts.push_back(std::move(log.texts[i]));
    data.labels.push_back(std::move(keys));
    ++st.added;
  }
  return st;
}

}  // namespace xmr
