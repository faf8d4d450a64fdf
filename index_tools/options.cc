#include "index_tools/options.h"

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

}  // namespace xmr::cli
