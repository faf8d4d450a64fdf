#include "core/mpi_communicator.h"

#include <mpi.h>

#include <algorithm>
#include <cstdlib>

#include "core/error.h"

namespace xmr {

namespace {

// MPI counts are ints: messages go in pieces of at most this many bytes.
constexpr size_t kMaxPiece = size_t(1) << 30;

void check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  throw Error(std::string("MPI ") + what + ": " + std::string(text, size_t(len)));
}

}  // namespace

MpiSession::MpiSession(int* argc, char*** argv) {
  int provided = 0;
  check(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided), "init");
  // Failures come back as return codes, so they become errors naming the call.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
}

MpiSession::~MpiSession() { MPI_Finalize(); }

MpiCommunicator::MpiCommunicator() {
  check(MPI_Comm_rank(MPI_COMM_WORLD, &rank_), "rank");
  check(MPI_Comm_size(MPI_COMM_WORLD, &size_), "size");
}

std::vector<std::string> MpiCommunicator::alltoall(std::vector<std::string> to_each) {
  if (to_each.size() != size_t(size_)) throw Error("alltoall: one message per rank expected");
  const size_t n = static_cast<size_t>(size_);
  std::vector<uint64_t> send_sizes(n), recv_sizes(n);
  for (int q = 0; q < size_; ++q) send_sizes[size_t(q)] = to_each[size_t(q)].size();
  check(MPI_Alltoall(send_sizes.data(), 1, MPI_UINT64_T, recv_sizes.data(), 1, MPI_UINT64_T, MPI_COMM_WORLD),
        "alltoall (sizes)");
  std::vector<std::string> got(n);
  got[size_t(rank_)] = std::move(to_each[size_t(rank_)]);
  std::vector<MPI_Request> requests;
  for (int q = 0; q < size_; ++q) {
    if (q == rank_) continue;
    got[size_t(q)].resize(recv_sizes[size_t(q)]);
    for (size_t at = 0; at < recv_sizes[size_t(q)]; at += kMaxPiece) {
      const int n = int(std::min(kMaxPiece, recv_sizes[size_t(q)] - at));
      requests.emplace_back();
      check(MPI_Irecv(&got[size_t(q)][at], n, MPI_BYTE, q, 0, MPI_COMM_WORLD, &requests.back()), "receive");
    }
  }
  for (int q = 0; q < size_; ++q) {
    if (q == rank_) continue;
    const std::string& out = to_each[size_t(q)];
    for (size_t at = 0; at < out.size(); at += kMaxPiece) {
      const int n = int(std::min(kMaxPiece, out.size() - at));
      requests.emplace_back();
      check(MPI_Isend(out.data() + at, n, MPI_BYTE, q, 0, MPI_COMM_WORLD, &requests.back()), "send");
    }
    bytes_sent_ += out.size();
  }
  // Pieces between two ranks are matched in order (MPI's non-overtaking rule).
  check(MPI_Waitall(int(requests.size()), requests.data(), MPI_STATUSES_IGNORE), "wait");
  return got;
}

std::string MpiCommunicator::broadcast(std::string data, int root) {
  uint64_t size = data.size();
  check(MPI_Bcast(&size, 1, MPI_UINT64_T, root, MPI_COMM_WORLD), "broadcast (size)");
  data.resize(size);
  for (size_t at = 0; at < size; at += kMaxPiece) {
    const int n = int(std::min<uint64_t>(kMaxPiece, size - at));
    check(MPI_Bcast(&data[at], n, MPI_BYTE, root, MPI_COMM_WORLD), "broadcast");
  }
  if (rank_ == root) bytes_sent_ += size * uint64_t(size_ - 1);
  return data;
}

void MpiCommunicator::allreduce_sum(std::vector<uint64_t>& values) {
  check(MPI_Allreduce(MPI_IN_PLACE, values.data(), int(values.size()), MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD),
        "allreduce");
  bytes_sent_ += values.size() * sizeof(uint64_t);
}

void abort_job(int exit_code) {
  MPI_Abort(MPI_COMM_WORLD, exit_code);
  std::_Exit(exit_code);
}

}  // namespace xmr
