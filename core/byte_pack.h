// Packing plain values and arrays into a byte string and back, for messages
// between ranks of one job (same binary, same byte order: no versioning).
// ByteReader throws xmr::Error when a message is shorter than its reader
// expects, so a truncated message is an error, not a read past its end.
#pragma once

#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "core/error.h"

namespace xmr {

class ByteWriter {
 public:
  template <typename T>
  void put(const T& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    out_.append(reinterpret_cast<const char*>(&v), sizeof v);
  }
  template <typename T>
  void put_array(const T* data, size_t n) {
    static_assert(std::is_trivially_copyable_v<T>);
    put(uint64_t(n));
    out_.append(reinterpret_cast<const char*>(data), n * sizeof(T));
  }
  template <typename T>
  void put_vector(const std::vector<T>& v) { put_array(v.data(), v.size()); }
  void put_string(const std::string& s) { put_array(s.data(), s.size()); }

  std::string& bytes() { return out_; }

 private:
  std::string out_;
};

class ByteReader {
 public:
  explicit ByteReader(const std::string& in) : p_(in.data()), end_(in.data() + in.size()) {}
  template <typename T>
  T get() {
    T v;
    take(&v, sizeof v);
    return v;
  }
  template <typename T>
  std::vector<T> get_vector() {
    const uint64_t n = get<uint64_t>();
    if (n > uint64_t(end_ - p_) / sizeof(T)) throw Error("message truncated");
    std::vector<T> v(n);
    take(v.data(), n * sizeof(T));
    return v;
  }
  std::string get_string() {
    const uint64_t n = get<uint64_t>();
    if (n > uint64_t(end_ - p_)) throw Error("message truncated");
    std::string s(p_, n);
    p_ += n;
    return s;
  }
  bool done() const { return p_ == end_; }

 private:
  void take(void* out, size_t n) {
    if (size_t(end_ - p_) < n) throw Error("message truncated");
    if (n) std::memcpy(out, p_, n);
    p_ += n;
  }
  const char* p_;
  const char* end_;
};

}  // namespace xmr
