// The few collective operations distributed training needs, over byte
// strings, so the engine (core/distributed_trainer.h) does not depend on MPI.
// core/mpi_communicator.h implements them over Open MPI; LocalCommunicator
// is the one-rank group (a distributed run on one process, and the tests of
// a build without MPI).
//
// Contract: every rank of the group calls the same operations in the same
// order (as with MPI collectives); a call blocks until the group has made it.
// Messages may be of any size (an implementation splits what its transport
// cannot carry at once). Errors of the transport throw xmr::Error. An object
// is used by one thread at a time.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace xmr {

class Communicator {
 public:
  virtual ~Communicator() = default;

  virtual int rank() const = 0;
  virtual int size() const = 0;

  // Rank r sends to_each[q] to rank q (to_each.size() == size()); returns
  // what each rank sent to this one, indexed by the sender.
  virtual std::vector<std::string> alltoall(std::vector<std::string> to_each) = 0;
  // `data` of rank `root`, on every rank (other ranks' `data` is ignored).
  virtual std::string broadcast(std::string data, int root) = 0;
  // Element-wise sums of every rank's `values` (same length on each), on every rank.
  virtual void allreduce_sum(std::vector<uint64_t>& values) = 0;

  // Payload bytes this rank has sent to other ranks so far.
  virtual uint64_t bytes_sent() const = 0;

  // Built on the above: every rank's `mine`, in rank order, on every rank;
  // and on `root` only (others get an empty vector).
  std::vector<std::string> allgather(const std::string& mine);
  std::vector<std::string> gather(const std::string& mine, int root);
};

// A group of one: every operation hands the data back.
class LocalCommunicator final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::vector<std::string> alltoall(std::vector<std::string> to_each) override { return to_each; }
  std::string broadcast(std::string data, int) override { return data; }
  void allreduce_sum(std::vector<uint64_t>&) override {}
  uint64_t bytes_sent() const override { return 0; }
};

inline std::vector<std::string> Communicator::allgather(const std::string& mine) {
  return alltoall(std::vector<std::string>(size_t(size()), mine));
}

inline std::vector<std::string> Communicator::gather(const std::string& mine, int root) {
  std::vector<std::string> out(static_cast<size_t>(size()));
  out[size_t(root)] = mine;
  std::vector<std::string> got = alltoall(std::move(out));
  if (rank() != root) got.clear();
  return got;
}

}  // namespace xmr
