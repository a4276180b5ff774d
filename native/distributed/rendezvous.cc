// Rendezvous checks (rendezvous.h). Keys: fsnn/join/<r> counts the processes claiming rank r, and
// fsnn/size/<r> holds the world size rank r was started with.
#include "rendezvous.h"

#include <cstring>
#include <thread>
#include <string>
#include <vector>

#include "../error.h"

namespace fsnn {
namespace dist {

namespace {
std::vector<char> int_bytes(int64_t v) {
  std::vector<char> b(8);
  std::memcpy(b.data(), &v, 8);
  return b;
}
int64_t bytes_int(const std::vector<char>& b) {
  int64_t v = -1;
  if (b.size() == 8) std::memcpy(&v, b.data(), 8);
  return v;
}
}  // namespace

void rendezvous(TcpStore& store, int rank, int size, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const std::string r = std::to_string(rank);
  if (store.add("fsnn/join/" + r, 1) > 1)
    fail("initProcessGroup: rank ", rank, " joined twice: two processes were started with RANK=", rank,
         "; give each process its own rank in 0..", size - 1);
  // Rank 0 is always there first (it hosts the store): compare with it at once, before announcing
  // this rank's size, so that rank 0 cannot fail (and take the store down) before this rank knows why.
  int64_t size0 = size;
  if (rank != 0) size0 = bytes_int(store.get("fsnn/size/0", timeout));
  store.set("fsnn/size/" + r, int_bytes(size));
  if (size0 != size)
    fail("initProcessGroup: world size mismatch: this process (rank ", rank, ") has WORLD_SIZE=", size,
         " but rank 0 has WORLD_SIZE=", size0, "; start every process with the same WORLD_SIZE");
  std::vector<std::string> keys;
  for (int i = 0; i < size; ++i) keys.push_back("fsnn/size/" + std::to_string(i));
  // Poll (rather than one blocking wait) so that a timeout can name the ranks still missing.
  for (;;) {
    std::string missing;
    int count = 0;
    for (int i = 0; i < size; ++i)
      if (!store.check(keys[i])) missing += (count++ ? ", " : "") + std::to_string(i);
    if (count == 0) break;
    if (std::chrono::steady_clock::now() >= deadline)
      fail("initProcessGroup: timed out after ", timeout.count(), " ms waiting for all ", size,
           " ranks to join (missing: ", missing, "); check that WORLD_SIZE=", size,
           " processes were started with the same MASTER_ADDR:MASTER_PORT (", store.address(),
           "), or raise timeoutMs");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (int i = 1; i < size; ++i) {
    const int64_t s = bytes_int(store.get(keys[i], timeout));
    if (s != size)
      fail("initProcessGroup: world size mismatch: rank ", i, " has WORLD_SIZE=", s, " but this process (rank ", rank,
           ") has WORLD_SIZE=", size, "; start every process with the same WORLD_SIZE");
  }
}

void farewell(TcpStore& store, int rank, int size, std::chrono::milliseconds timeout) {
  try {
    store.set("fsnn/exit/" + std::to_string(rank), int_bytes(1));
    if (rank != 0) return;
    std::vector<std::string> keys;
    for (int i = 0; i < size; ++i) keys.push_back("fsnn/exit/" + std::to_string(i));
    store.wait(keys, timeout);
  } catch (const Error&) {
    // a rank that failed does not say goodbye; nothing to do
  }
}

}  // namespace dist
}  // namespace fsnn
