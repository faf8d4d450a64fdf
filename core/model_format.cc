#include "core/model_format.h"

#include <xxhash.h>

#include <algorithm>
#include <boost/iostreams/device/mapped_file.hpp>
#include <cstdlib>
#include <cstring>
#include <sys/stat.h>

#include "core/error.h"

namespace xmr {

namespace {

class OwnedBlob : public ModelBlob {
 public:
  explicit OwnedBlob(size_t size) : size_(size) {
    const size_t alloc = (size_ + kSectionAlignment - 1) / kSectionAlignment * kSectionAlignment;
    data_ = static_cast<uint8_t*>(std::aligned_alloc(kSectionAlignment, alloc ? alloc : kSectionAlignment));
    if (!data_) throw Error("out of memory for a model of " + std::to_string(size_) + " bytes");
  }
  explicit OwnedBlob(const std::string& bytes) : OwnedBlob(bytes.size()) { std::memcpy(data_, bytes.data(), size_); }
  ~OwnedBlob() override { std::free(data_); }
  const uint8_t* data() const override { return data_; }
  uint8_t* mutable_data() { return data_; }
  size_t size() const override { return size_; }

 private:
  uint8_t* data_ = nullptr;
  size_t size_;
};

class MappedBlob : public ModelBlob {
 public:
  explicit MappedBlob(const std::string& path) {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) throw Error(path + ": cannot open model file: " + std::strerror(errno));
    if (!S_ISREG(st.st_mode)) throw Error(path + ": not a regular file");
    if (st.st_size < off_t(sizeof(FileHeader))) {
      throw Error(path + ": not an xmr model (file is " + std::to_string(st.st_size) + " bytes, shorter than the header)");
    }
    try {
      file_.open(path);
    } catch (const std::exception& e) {
      throw Error(path + ": cannot map model file: " + e.what());
    }
    if (!file_.is_open()) throw Error(path + ": cannot map model file");
  }
  const uint8_t* data() const override { return reinterpret_cast<const uint8_t*>(file_.data()); }
  size_t size() const override { return file_.size(); }

 private:
  boost::iostreams::mapped_file_source file_;
};

uint64_t checksum(const void* data, size_t size) { return XXH3_64bits(data, size); }

}  // namespace

std::shared_ptr<const ModelBlob> ModelBlob::map_file(const std::string& path) {
  return std::make_shared<MappedBlob>(path);
}

std::shared_ptr<const ModelBlob> ModelBlob::copy_of(const std::string& bytes) {
  return std::make_shared<OwnedBlob>(bytes);
}

void ModelFileWriter::check_name(const std::string& name) const {
  if (name.empty() || name.size() >= kSectionNameSize) throw Error("model section name '" + name + "' is empty or too long");
  for (const auto& s : sections_) {
    if (s.name == name) throw Error("model section '" + name + "' added twice");
  }
}

void ModelFileWriter::add_section(const std::string& name, const void* data, size_t size) {
  check_name(name);
  Section s;
  s.name = name;
  s.owned.assign(static_cast<const char*>(data), size);
  s.size = size;
  sections_.push_back(std::move(s));
}

void ModelFileWriter::add_section(const std::string& name, std::string&& bytes) {
  check_name(name);
  Section s;
  s.name = name;
  s.size = bytes.size();
  s.owned = std::move(bytes);
  sections_.push_back(std::move(s));
}

void ModelFileWriter::add_section_view(const std::string& name, const void* data, size_t size) {
  check_name(name);
  Section s;
  s.name = name;
  s.view = size ? data : "";
  s.size = size;
  sections_.push_back(std::move(s));
}

namespace {
size_t align_up(size_t x) { return (x + kSectionAlignment - 1) / kSectionAlignment * kSectionAlignment; }
}  // namespace

size_t ModelFileWriter::file_size(const std::string& metadata_json) const {
  size_t at = sizeof(FileHeader);
  for (const Section& s : sections_) at = align_up(at) + s.size;
  at = align_up(at + metadata_json.size());
  return at + sections_.size() * sizeof(SectionEntry);
}

// Layout: header, sections (each 64-byte aligned), metadata, section table;
// the gaps are zeros. The header's checksums cover the metadata and the
// table, so they are computed before the first byte goes out.
size_t ModelFileWriter::emit(const std::string& metadata_json, uint32_t format_version,
                             const std::function<void(const void*, size_t)>& sink) const {
  size_t at = sizeof(FileHeader);
  std::vector<SectionEntry> table(sections_.size());
  for (size_t i = 0; i < sections_.size(); ++i) {
    at = align_up(at);
    SectionEntry& e = table[i];
    std::memset(&e, 0, sizeof e);
    std::memcpy(e.name, sections_[i].name.data(), sections_[i].name.size());
    e.offset = at;
    e.size = sections_[i].size;
    e.checksum = checksum(sections_[i].bytes(), e.size);
    at += e.size;
  }
  FileHeader h;
  std::memset(&h, 0, sizeof h);
  std::memcpy(h.magic, kModelMagic, sizeof h.magic);
  h.format_version = format_version;
  h.header_size = sizeof(FileHeader);
  h.metadata_offset = at;
  h.metadata_size = metadata_json.size();
  h.table_offset = align_up(at + metadata_json.size());
  h.table_count = table.size();
  h.file_size = h.table_offset + table.size() * sizeof(SectionEntry);
  XXH3_state_t* st = XXH3_createState();
  XXH3_64bits_reset(st);
  XXH3_64bits_update(st, metadata_json.data(), metadata_json.size());
  XXH3_64bits_update(st, table.data(), table.size() * sizeof(SectionEntry));
  h.index_checksum = XXH3_64bits_digest(st);
  XXH3_freeState(st);
  h.header_checksum = checksum(&h, offsetof(FileHeader, header_checksum));

  static const char kZeros[kSectionAlignment] = {};
  size_t out = 0;
  auto put = [&](const void* data, size_t size) {
    if (size) sink(data, size);
    out += size;
  };
  auto pad_to = [&](size_t offset) { put(kZeros, offset - out); };
  put(&h, sizeof h);
  for (size_t i = 0; i < sections_.size(); ++i) {
    pad_to(table[i].offset);
    put(sections_[i].bytes(), sections_[i].size);
  }
  put(metadata_json.data(), metadata_json.size());
  pad_to(h.table_offset);
  put(table.data(), table.size() * sizeof(SectionEntry));
  if (out != h.file_size) throw Error("model writer: layout size mismatch");
  return out;
}

std::string ModelFileWriter::finish(const std::string& metadata_json, uint32_t format_version) const {
  std::string out;
  out.reserve(file_size(metadata_json));
  emit(metadata_json, format_version, [&](const void* data, size_t size) { out.append(static_cast<const char*>(data), size); });
  return out;
}

std::shared_ptr<const ModelBlob> ModelFileWriter::finish_blob(const std::string& metadata_json,
                                                              uint32_t format_version) const {
  auto blob = std::make_shared<OwnedBlob>(file_size(metadata_json));
  uint8_t* at = blob->mutable_data();
  emit(metadata_json, format_version, [&](const void* data, size_t size) {
    std::memcpy(at, data, size);
    at += size;
  });
  return blob;
}

ModelFileReader ModelFileReader::open(std::shared_ptr<const ModelBlob> blob, const std::string& name, bool verify_data) {
  auto fail = [&](const std::string& what) { return Error(name + ": " + what); };
  const uint8_t* base = blob->data();
  const size_t size = blob->size();
  if (size < sizeof(FileHeader)) throw fail("not an xmr model (shorter than the header)");
  FileHeader h;
  std::memcpy(&h, base, sizeof h);
  if (std::memcmp(h.magic, kModelMagic, sizeof h.magic) != 0) throw fail("not an xmr model (bad magic bytes)");
  if (h.format_version < kMinModelFormatVersion || h.format_version > kModelFormatVersion) {
    throw fail("model format version " + std::to_string(h.format_version) + " is not supported (this build reads versions " +
               std::to_string(kMinModelFormatVersion) + " to " + std::to_string(kModelFormatVersion) + ")");
  }
  if (h.header_checksum != checksum(&h, offsetof(FileHeader, header_checksum))) throw fail("corrupt model: header checksum mismatch");
  if (h.header_size != sizeof(FileHeader)) throw fail("corrupt model: unexpected header size");
  if (h.file_size != size) {
    throw fail("truncated or extended model: header says " + std::to_string(h.file_size) + " bytes, file has " +
               std::to_string(size));
  }
  auto in_file = [&](uint64_t off, uint64_t len) { return off <= size && len <= size - off; };
  if (!in_file(h.metadata_offset, h.metadata_size)) throw fail("corrupt model: metadata outside the file");
  if (h.table_count > size / sizeof(SectionEntry) || !in_file(h.table_offset, h.table_count * sizeof(SectionEntry))) {
    throw fail("corrupt model: section table outside the file");
  }
  XXH3_state_t* st = XXH3_createState();
  XXH3_64bits_reset(st);
  XXH3_64bits_update(st, base + h.metadata_offset, h.metadata_size);
  XXH3_64bits_update(st, base + h.table_offset, h.table_count * sizeof(SectionEntry));
  const uint64_t index_sum = XXH3_64bits_digest(st);
  XXH3_freeState(st);
  if (index_sum != h.index_checksum) throw fail("corrupt model: metadata or section table checksum mismatch");

  ModelFileReader r;
  r.metadata_json.assign(reinterpret_cast<const char*>(base + h.metadata_offset), h.metadata_size);
  for (uint64_t i = 0; i < h.table_count; ++i) {
    SectionEntry e;
    std::memcpy(&e, base + h.table_offset + i * sizeof(SectionEntry), sizeof e);
    if (e.name[kSectionNameSize - 1] != '\0') throw fail("corrupt model: section name not terminated");
    const std::string sname(e.name);
    if (!in_file(e.offset, e.size) || e.offset % kSectionAlignment != 0) {
      throw fail("corrupt model: section '" + sname + "' outside the file or misaligned");
    }
    if (verify_data && checksum(base + e.offset, e.size) != e.checksum) {
      throw fail("corrupt model: checksum mismatch in section '" + sname + "'");
    }
    r.sections.emplace_back(sname, Section{base + e.offset, size_t(e.size)});
  }
  // Every byte outside the header, sections, metadata and table is alignment
  // padding and must be zero, so no byte of the file goes unchecked.
  std::vector<std::pair<uint64_t, uint64_t>> used = {{0, sizeof(FileHeader)},
                                                     {h.metadata_offset, h.metadata_size},
                                                     {h.table_offset, h.table_count * sizeof(SectionEntry)}};
  for (const auto& s : r.sections) used.emplace_back(uint64_t(s.second.data - base), s.second.size);
  std::sort(used.begin(), used.end());
  uint64_t covered = 0;
  for (const auto& [off, len] : used) {
    if (off < covered) throw fail("corrupt model: overlapping sections");
    for (uint64_t i = covered; i < off; ++i) {
      if (base[i] != 0) throw fail("corrupt model: non-zero padding at byte " + std::to_string(i));
    }
    covered = off + len;
  }
  for (uint64_t i = covered; i < size; ++i) {
    if (base[i] != 0) throw fail("corrupt model: non-zero padding at byte " + std::to_string(i));
  }
  r.blob = std::move(blob);
  return r;
}

const ModelFileReader::Section* ModelFileReader::find(const std::string& name) const {
  for (const auto& s : sections) {
    if (s.first == name) return &s.second;
  }
  return nullptr;
}

}  // namespace xmr
