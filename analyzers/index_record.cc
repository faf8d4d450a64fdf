#include "analyzers/index_record.h"

#include <lucene++/LuceneHeaders.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "analyzers/utf8.h"
#include "core/error.h"
#include "core/json_parse.h"

namespace xmr {

namespace {

constexpr wchar_t kRecordKey[] = L"xmr.index";

void write_strings(rapidjson::Writer<rapidjson::StringBuffer>& w, const char* key, const std::vector<std::string>& v) {
  w.Key(key);
  w.StartArray();
  for (const auto& s : v) w.String(s.data(), rapidjson::SizeType(s.size()));
  w.EndArray();
}

std::vector<std::string> read_strings(const rapidjson::Value& o, const char* key) {
  std::vector<std::string> out;
  if (!o.HasMember(key)) return out;
  if (!o[key].IsArray()) throw Error(std::string("\"") + key + "\" is not an array");
  for (const auto& s : o[key].GetArray()) {
    if (!s.IsString()) throw Error(std::string("\"") + key + "\" holds a non-string");
    out.emplace_back(s.GetString(), s.GetStringLength());
  }
  return out;
}

}  // namespace

std::map<std::string, std::string> index_record_user_data(const IndexRecord& record) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("analyzer");
  w.String(record.analyzer.data(), rapidjson::SizeType(record.analyzer.size()));
  write_strings(w, "text_fields", record.text_fields);
  write_strings(w, "label_fields", record.label_fields);
  w.Key("key_field");
  w.String(record.key_field.data(), rapidjson::SizeType(record.key_field.size()));
  w.EndObject();
  return {{wide_to_utf8(kRecordKey), buf.GetString()}};
}

IndexRecord read_index_record(const Lucene::IndexReaderPtr& reader) {
  IndexRecord record;
  const Lucene::MapStringString data = reader->getCommitUserData();
  if (!data || !data.contains(kRecordKey)) return record;
  const std::string json = wide_to_utf8(data.get(kRecordKey));
  try {
    rapidjson::Document d;
    std::string error;
    if (!parse_json(json, d, error)) throw Error(error);
    if (!d.IsObject()) throw Error("not a JSON object");
    if (!d.HasMember("analyzer") || !d["analyzer"].IsString()) throw Error("\"analyzer\" missing");
    record.analyzer = d["analyzer"].GetString();
    record.text_fields = read_strings(d, "text_fields");
    record.label_fields = read_strings(d, "label_fields");
    if (d.HasMember("key_field") && d["key_field"].IsString()) record.key_field = d["key_field"].GetString();
  } catch (const Error& e) {
    throw Error("the index's xmr record (commit user data) is malformed: " + std::string(e.what()));
  }
  record.present = true;
  return record;
}

std::vector<std::string> exact_value_fields(const IndexRecord& record) {
  std::vector<std::string> fields = record.label_fields;
  if (!record.key_field.empty()) fields.push_back(record.key_field);
  return fields;
}

}  // namespace xmr
