#include "analyzers/lucene_index.h"

#include <lucene++/LuceneHeaders.h>
#include <lucene++/PerFieldAnalyzerWrapper.h>
#include <lucene++/SerialMergeScheduler.h>
#include <unistd.h>

#include <boost/filesystem.hpp>
#include <fstream>

#include "analyzers/index_record.h"
#include "analyzers/jsonl.h"
#include "analyzers/lucene_analyzers.h"
#include "analyzers/utf8.h"
#include "core/error.h"
#include "core/file_util.h"

namespace xmr {

namespace fs = boost::filesystem;

namespace {

std::string lucene_message(const Lucene::LuceneException& e) { return wide_to_utf8(e.getError()); }

// A JSON string with its full length (embedded NULs included).
std::string json_string(const rapidjson::Value& v) { return std::string(v.GetString(), v.GetStringLength()); }

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

void add_documents(const std::string& path, const Lucene::IndexWriterPtr& writer, const IndexSpec& spec,
                   const std::function<void(size_t)>& progress, size_t& count) {
  check_regular_file(path);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open");
  for_each_jsonl_object(in, path, [&](size_t line_no, const rapidjson::Value& d) {
    Lucene::DocumentPtr doc = Lucene::newLucene<Lucene::Document>();
    for (const auto& f : spec.text_fields) {
      if (!d.HasMember(f.c_str())) continue;
      if (!d[f.c_str()].IsString()) throw InputError(path, line_no, "text field \"" + f + "\" must be a string");
      doc->add(Lucene::newLucene<Lucene::Field>(utf8_to_wide(f), utf8_to_wide(json_string(d[f.c_str()])),
                                                Lucene::Field::STORE_YES, Lucene::Field::INDEX_ANALYZED));
    }
    for (const auto& f : spec.label_fields) {
      if (!d.HasMember(f.c_str())) continue;
      const auto& v = d[f.c_str()];
      auto add = [&](const rapidjson::Value& s) {
        if (!s.IsString()) throw InputError(path, line_no, "label field \"" + f + "\" must be a string or an array of strings");
        doc->add(Lucene::newLucene<Lucene::Field>(utf8_to_wide(f), utf8_to_wide(json_string(s)), Lucene::Field::STORE_YES,
                                                  Lucene::Field::INDEX_NOT_ANALYZED));
      };
      if (v.IsArray()) {
        for (const auto& s : v.GetArray()) add(s);
      } else {
        add(v);
      }
    }
    if (!spec.key_field.empty()) {
      if (!d.HasMember(spec.key_field.c_str()) || !d[spec.key_field.c_str()].IsString()) {
        throw InputError(path, line_no, "key field \"" + spec.key_field + "\" missing or not a string");
      }
      doc->add(Lucene::newLucene<Lucene::Field>(utf8_to_wide(spec.key_field), utf8_to_wide(json_string(d[spec.key_field.c_str()])),
                                                Lucene::Field::STORE_YES, Lucene::Field::INDEX_NOT_ANALYZED));
    }
    writer->addDocument(doc);
    ++count;
    if (progress && count % 1000 == 0) progress(count);
  });
}

}  // namespace

size_t build_lucene_index(const std::string& jsonl_path, const std::string& index_dir, const IndexSpec& spec,
                          const std::function<void(size_t)>& progress) {
  if (spec.text_fields.empty()) throw Error("index: at least one text field is needed");
  for (const auto& f : spec.label_fields) {
    if (contains(spec.text_fields, f)) throw Error("index: field \"" + f + "\" cannot be both text and label");
  }
  const fs::path target(index_dir);
  if (fs::exists(target) && !spec.overwrite) {
    throw Error(index_dir + ": already exists (pass overwrite to replace it)");
  }
  const fs::path tmp = target.string() + ".tmp." + std::to_string(::getpid());
  fs::remove_all(tmp);
  size_t count = 0;
  try {
    Lucene::AnalyzerPtr text_analyzer = make_lucene_analyzer(spec.analyzer);
    Lucene::IndexWriterPtr writer = Lucene::newLucene<Lucene::IndexWriter>(
        Lucene::FSDirectory::open(utf8_to_wide(tmp.string())), text_analyzer, true,
        Lucene::IndexWriter::MaxFieldLengthUNLIMITED);
    writer->setMergeScheduler(Lucene::newLucene<Lucene::SerialMergeScheduler>());
    try {
      add_documents(jsonl_path, writer, spec, progress, count);
      if (count == 0) throw Error(jsonl_path + ": no documents");
      writer->optimize();
      IndexRecord record;
      record.analyzer = spec.analyzer;
      record.text_fields = spec.text_fields;
      record.label_fields = spec.label_fields;
      record.key_field = spec.key_field;
      Lucene::MapStringString user_data = Lucene::MapStringString::newInstance();
      for (const auto& kv : index_record_user_data(record)) user_data.put(utf8_to_wide(kv.first), utf8_to_wide(kv.second));
      writer->commit(user_data);
      writer->close();
    } catch (...) {
      writer->rollback();
      throw;
    }
  } catch (const Lucene::LuceneException& e) {
    fs::remove_all(tmp);
    throw Error(index_dir + ": Lucene++ failed to write the index: " + lucene_message(e));
  } catch (...) {
    fs::remove_all(tmp);
    throw;
  }
  // Swap in: the old index (if any) is moved aside first and removed last.
  const fs::path old = target.string() + ".old." + std::to_string(::getpid());
  boost::system::error_code ec;
  if (fs::exists(target)) fs::rename(target, old, ec);
  if (ec) {
    fs::remove_all(tmp);
    throw Error(index_dir + ": cannot replace the existing index: " + ec.message());
  }
  fs::rename(tmp, target, ec);
  if (ec) {
    if (fs::exists(old)) fs::rename(old, target);
    fs::remove_all(tmp);
    throw Error(index_dir + ": cannot move the new index into place: " + ec.message());
  }
  fs::remove_all(old, ec);
  remove_stale_temp_files(target.string());  // what killed runs of this command left
  return count;
}

TextDataset read_lucene_index(const std::string& index_dir, const std::string& text_field,
                              const std::string& label_field, size_t part, size_t parts) {
  if (parts < 1 || part >= parts) throw Error("read_lucene_index: part out of range");
  if (!fs::is_directory(index_dir)) throw Error(index_dir + ": no such index directory");
  TextDataset data;
  try {
    Lucene::IndexReaderPtr reader = Lucene::IndexReader::open(Lucene::FSDirectory::open(utf8_to_wide(index_dir)), true);
    const Lucene::String tf = utf8_to_wide(text_field), lf = utf8_to_wide(label_field);
    bool seen_text = false, seen_label = false;
    const uint64_t max_doc = uint64_t(reader->maxDoc());
    const int32_t first = int32_t(max_doc * part / parts), end = int32_t(max_doc * (part + 1) / parts);
    for (int32_t id = first; id < end; ++id) {
      if (reader->isDeleted(id)) continue;
      Lucene::DocumentPtr doc = reader->document(id);
      std::string text;
      for (const auto& v : doc->getValues(tf)) {
        if (!text.empty()) text += ' ';
        text += wide_to_utf8(v);
        seen_text = true;
      }
      std::vector<std::string> labels;
      for (const auto& v : doc->getValues(lf)) {
        labels.push_back(wide_to_utf8(v));
        seen_label = true;
      }
      std::sort(labels.begin(), labels.end());
      labels.erase(std::unique(labels.begin(), labels.end()), labels.end());
      data.texts.push_back(std::move(text));
      data.labels.push_back(std::move(labels));
    }
    reader->close();
    if (!data.texts.empty() && !seen_text) {
      throw Error(index_dir + ": field \"" + text_field + "\" is not stored in any document (xmr needs stored text)");
    }
    if (!data.texts.empty() && !seen_label) {
      throw Error(index_dir + ": label field \"" + label_field + "\" is not stored in any document");
    }
  } catch (const Lucene::LuceneException& e) {
    throw Error(index_dir + ": cannot read Lucene++ index: " + lucene_message(e));
  }
  return data;
}

}  // namespace xmr
