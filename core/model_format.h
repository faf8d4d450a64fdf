// The xmr model file, format versions 1 to 5 (2: an ensemble, with more
// than one label tree; 3: levels whose entry ranges or child slots are
// narrower than 8 and 2 bytes, as each level's metadata says; 4: a deep
// matcher's encoder; 5: a k-nearest-neighbour vote). A file is written at the
// oldest version that can read it.
//
//   offset 0    FileHeader (128 bytes)
//   offset 128  sections, each starting on a 64-byte boundary
//   ...         metadata: a UTF-8 JSON object
//   ...         section table: SectionEntry[table_count]
//
// Integers are little-endian. Every section carries an XXH3-64 checksum of its
// bytes; the header carries one of itself and one of the metadata + table.
// A reader refuses a file whose magic, version, size, checksums, or structure
// do not match, with an error naming the file and the problem, before any
// array is used. Arrays are read in place from the mapped file (hence the
// alignment), so loading costs a map, a checksum pass and a validation pass.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace xmr {

constexpr char kModelMagic[8] = {'X', 'M', 'R', 'M', 'O', 'D', 'E', 'L'};
constexpr uint32_t kModelFormatVersion = 5;      // the newest this build reads and writes
constexpr uint32_t kMinModelFormatVersion = 1;
constexpr size_t kSectionAlignment = 64;
constexpr size_t kSectionNameSize = 40;

struct FileHeader {
  char magic[8];
  uint32_t format_version;
  uint32_t header_size;
  uint64_t file_size;
  uint64_t metadata_offset;
  uint64_t metadata_size;
  uint64_t table_offset;
  uint64_t table_count;
  uint64_t index_checksum;  // XXH3 of metadata bytes followed by table bytes
  uint8_t reserved[56];
  uint64_t header_checksum;  // XXH3 of the 120 bytes before it
};
static_assert(sizeof(FileHeader) == 128, "FileHeader must be 128 bytes");

struct SectionEntry {
  char name[kSectionNameSize];  // NUL-padded
  uint64_t offset;
  uint64_t size;
  uint64_t checksum;
};
static_assert(sizeof(SectionEntry) == 64, "SectionEntry must be 64 bytes");

// Immutable bytes of a model, either owned (64-byte aligned) or a read-only
// memory map of a file. Thread-safe to read.
class ModelBlob {
 public:
  virtual ~ModelBlob() = default;
  virtual const uint8_t* data() const = 0;
  virtual size_t size() const = 0;

  static std::shared_ptr<const ModelBlob> map_file(const std::string& path);  // throws xmr::Error
  static std::shared_ptr<const ModelBlob> copy_of(const std::string& bytes);
};

// Builds a model file in memory from named sections and a metadata JSON text.
class ModelFileWriter {
 public:
  // Copies `data`.
  void add_section(const std::string& name, const void* data, size_t size);
  // Takes `bytes`.
  void add_section(const std::string& name, std::string&& bytes);
  template <typename T>
  void add_array(const std::string& name, const std::vector<T>& v) {
    add_section(name, v.data(), v.size() * sizeof(T));
  }
  // Refers to `data` instead: it must stay alive and unchanged until
  // finish() or finish_blob() returns (a model's arrays are its largest part,
  // and a copy of them doubled the memory of assembling one).
  void add_section_view(const std::string& name, const void* data, size_t size);
  template <typename T>
  void add_array_view(const std::string& name, const std::vector<T>& v) {
    add_section_view(name, v.data(), v.size() * sizeof(T));
  }
  // Returns the file's bytes.
  std::string finish(const std::string& metadata_json, uint32_t format_version = kMinModelFormatVersion) const;
  // The same bytes, written once into an aligned blob of their exact size.
  std::shared_ptr<const ModelBlob> finish_blob(const std::string& metadata_json,
                                               uint32_t format_version = kMinModelFormatVersion) const;
  // The same bytes handed to `sink` in order, piece by piece (for writing a
  // file without its image in memory); returns the file's size.
  size_t emit(const std::string& metadata_json, uint32_t format_version,
              const std::function<void(const void*, size_t)>& sink) const;

 private:
  struct Section {
    std::string name;
    std::string owned;            // the bytes, when copied
    const void* view = nullptr;   // else where they are
    size_t size = 0;
    const char* bytes() const { return view ? static_cast<const char*>(view) : owned.data(); }
  };
  void check_name(const std::string& name) const;
  size_t file_size(const std::string& metadata_json) const;
  std::vector<Section> sections_;
};

// A parsed, checked model file. Section pointers stay valid while the blob lives.
struct ModelFileReader {
  struct Section {
    const uint8_t* data;
    size_t size;
  };
  std::shared_ptr<const ModelBlob> blob;
  std::string metadata_json;
  std::vector<std::pair<std::string, Section>> sections;

  // Checks header, sizes and checksums. `name` is used in errors. With
  // verify_data = false the per-section checksums are skipped (the header,
  // metadata and table are always checked).
  static ModelFileReader open(std::shared_ptr<const ModelBlob> blob, const std::string& name, bool verify_data);

  // The section called `name`, or nullptr.
  const Section* find(const std::string& name) const;
};

}  // namespace xmr
