// Communicator over Open MPI's MPI_COMM_WORLD (built with -DXMR_MPI=ON).
//
// MpiSession initialises MPI (threads: funneled, as only the main thread
// communicates) and finalises it; one per process, before any
// MpiCommunicator. abort_job() ends every rank of the job at once: the way a
// rank that failed stops the others, which may be waiting on it.
#pragma once

#include <string>

#include "core/communicator.h"

namespace xmr {

class MpiSession {
 public:
  MpiSession(int* argc, char*** argv);  // throws xmr::Error when MPI cannot start
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;
};

class MpiCommunicator final : public Communicator {
 public:
  MpiCommunicator();
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::vector<std::string> alltoall(std::vector<std::string> to_each) override;
  std::string broadcast(std::string data, int root) override;
  void allreduce_sum(std::vector<uint64_t>& values) override;
  uint64_t bytes_sent() const override { return bytes_sent_; }

 private:
  int rank_ = 0, size_ = 1;
  uint64_t bytes_sent_ = 0;
};

// Ends the whole job with `exit_code` (MPI_Abort); does not return.
[[noreturn]] void abort_job(int exit_code);

}  // namespace xmr
