// A TCP key-value store for rendezvous, in the manner of PyTorch's TCPStore: rank 0 hosts the server
// (a thread listening on MASTER_ADDR:MASTER_PORT), every rank (rank 0 included) is a blocking client.
// Keys are strings, values bytes. get() and wait() block until the keys are set or the timeout passes;
// add() is an atomic counter. Gloo's rendezvous and NCCL's unique id travel through it.
#pragma once
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace fsnn {
namespace dist {

class TcpStoreServer;

class TcpStore {
 public:
  // is_server: also start the server (rank 0); a port already in use is an error naming it.
  // timeout: for connecting and for every blocking call without an explicit timeout.
  TcpStore(const std::string& host, int port, bool is_server, std::chrono::milliseconds timeout);
  ~TcpStore();
  TcpStore(const TcpStore&) = delete;
  TcpStore& operator=(const TcpStore&) = delete;

  void set(const std::string& key, const std::vector<char>& value);
  std::vector<char> get(const std::string& key);  // waits until the key is set
  std::vector<char> get(const std::string& key, std::chrono::milliseconds timeout);
  void wait(const std::vector<std::string>& keys, std::chrono::milliseconds timeout);
  int64_t add(const std::string& key, int64_t delta);
  bool check(const std::string& key);  // set already? (does not wait)
  std::chrono::milliseconds timeout() const { return timeout_; }
  const std::string& address() const { return address_; }

 private:
  std::vector<char> request(char cmd, const std::vector<std::string>& keys, const std::vector<char>& value,
                            std::chrono::milliseconds timeout, const std::string& what);
  std::unique_ptr<TcpStoreServer> server_;
  std::mutex mu_;  // one request at a time on the connection
  int fd_ = -1;
  bool broken_ = false;  // a timed-out request leaves an answer in flight: the connection is not reused
  std::chrono::milliseconds timeout_;
  std::string address_;
};

}  // namespace dist
}  // namespace fsnn
