// Shared Boost.ProgramOptions plumbing for the subcommands.
#pragma once

#include <boost/program_options.hpp>
#include <optional>
#include <string>

namespace xmr::cli {

namespace po = boost::program_options;

// Parses argv into `vm`. Returns false (after printing usage to stdout) when
// --help was given. Throws xmr::Error with a one-line message on bad options.
bool parse_options(int argc, char** argv, const std::string& usage_line, po::options_description& options,
                   po::variables_map& vm);

// `s` read whole as a number (std::stoi / std::stod syntax), or nullopt when
// it is not one, is out of range, or has anything after the number.
std::optional<int> whole_int(const std::string& s);
std::optional<double> whole_double(const std::string& s);

// `v` as text that reads back as the same float (9 significant digits): for
// settings passed on to a child process's command line.
std::string exact_float(float v);

}  // namespace xmr::cli
