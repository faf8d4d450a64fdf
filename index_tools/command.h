// The `xmr` command's subcommands. Each takes its own arguments (argv[0] is
// the subcommand name), returns the process exit code and reports failures by
// throwing; main() prints the one-line error.
#pragma once

#include <string>
#include <vector>

namespace xmr::cli {

struct Command {
  const char* name;
  const char* summary;
  int (*run)(int argc, char** argv);
};

int run_index(int argc, char** argv);
int run_train(int argc, char** argv);
int run_predict(int argc, char** argv);
int run_eval(int argc, char** argv);
int run_calibrate(int argc, char** argv);
int run_inspect(int argc, char** argv);
int run_synth(int argc, char** argv);
int run_search(int argc, char** argv);
int run_catalog(int argc, char** argv);
int run_bench(int argc, char** argv);

}  // namespace xmr::cli
