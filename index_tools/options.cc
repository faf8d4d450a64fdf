#include "index_tools/options.h"

#include <cstdio>
#include <exception>
#include <iostream>

#include "core/error.h"

namespace xmr::cli {

bool parse_options(int argc, char** argv, const std::string& usage_line, po::options_description& options,
                   po::variables_map& vm) {
  options.add_options()("help,h", "show this help");
  try {
    po::store(po::command_line_parser(argc, argv).options(options).run(), vm);
    if (vm.count("help")) {
      std::cout << "usage: " << usage_line << "\n\n" << options << "\n";
      return false;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    throw Error(std::string(e.what()) + " (see --help)");
  }
  return true;
}

namespace {
template <typename T, typename Parse>
std::optional<T> whole(const std::string& s, Parse parse) {
  try {
    size_t used = 0;
    const T v = parse(s, &used);
    if (used == s.size()) return v;
  } catch (const std::exception&) {
  }
  return std::nullopt;
}
}  // namespace

std::optional<int> whole_int(const std::string& s) {
  return whole<int>(s, [](const std::string& t, size_t* used) { return std::stoi(t, used); });
}

std::optional<double> whole_double(const std::string& s) {
  return whole<double>(s, [](const std::string& t, size_t* used) { return std::stod(t, used); });
}

std::string exact_float(float v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.9g", double(v));
  return b;
}

}  // namespace xmr::cli
