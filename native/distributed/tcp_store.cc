// The TCP key-value store (see tcp_store.h). Wire format, both directions little-endian:
//   request:  u8 command, u32 key count, keys (u32 length + bytes), u32 value length + bytes
//   answer:   u8 status (0 ok, 1 error), u32 length + bytes (the value, or the error message)
// Commands: 'S' set, 'G' get (answered once the key is set), 'W' wait (answered once all keys are set),
// 'A' add (the value is an int64 delta; answers the new int64), 'C' check (answers one byte 0/1).
// The server is one thread polling the listening socket, its clients and a wake-up pipe; a get or wait
// whose keys are missing is parked and answered by the set that completes it.
#include "tcp_store.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <thread>

#include "../error.h"

namespace fsnn {
namespace dist {

namespace {
using Clock = std::chrono::steady_clock;

std::string errno_text(int e) { return std::strerror(e); }
// The peer closed or reset the connection: its process exited (a reset instead of an orderly close
// depends only on timing, so both read as "closed").
bool peer_gone(int e) { return e == ECONNRESET || e == EPIPE; }

void put_u32(std::vector<char>& b, uint32_t v) {
  for (int i = 0; i < 4; ++i) b.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
uint32_t get_u32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}
void put_bytes(std::vector<char>& b, const char* p, size_t n) {
  put_u32(b, static_cast<uint32_t>(n));
  b.insert(b.end(), p, p + n);
}
std::vector<char> int64_bytes(int64_t v) {
  std::vector<char> b(8);
  std::memcpy(b.data(), &v, 8);
  return b;
}
int64_t bytes_int64(const std::vector<char>& b) {
  int64_t v = 0;
  if (b.size() == 8) std::memcpy(&v, b.data(), 8);
  return v;
}

// A parsed request; `complete` reports how many bytes of buf it used (0: not all there yet).
struct Request {
  char cmd = 0;
  std::vector<std::string> keys;
  std::vector<char> value;
};
size_t parse_request(const std::vector<char>& buf, Request& r) {
  size_t p = 0;
  auto need = [&](size_t n) { return buf.size() >= p + n; };
  if (!need(5)) return 0;
  r.cmd = buf[0];
  const uint32_t nkeys = get_u32(&buf[1]);
  p = 5;
  r.keys.clear();
  for (uint32_t k = 0; k < nkeys; ++k) {
    if (!need(4)) return 0;
    const uint32_t len = get_u32(&buf[p]);
    p += 4;
    if (!need(len)) return 0;
    r.keys.emplace_back(&buf[p], len);
    p += len;
  }
  if (!need(4)) return 0;
  const uint32_t vlen = get_u32(&buf[p]);
  p += 4;
  if (!need(vlen)) return 0;
  r.value.assign(buf.begin() + p, buf.begin() + p + vlen);
  return p + vlen;
}

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

// Writes all of b, waiting for the socket at most until `deadline`.
bool send_all(int fd, const std::vector<char>& b, Clock::time_point deadline, std::string* why) {
  size_t off = 0;
  while (off < b.size()) {
    const ssize_t n = ::send(fd, b.data() + off, b.size() - off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      off += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) {
        *why = "timed out";
        return false;
      }
      pollfd p{fd, POLLOUT, 0};
      ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left, 1000)));
      continue;
    }
    *why = peer_gone(errno) ? "closed" : errno_text(errno);
    return false;
  }
  return true;
}

// Reads exactly n bytes before `deadline`; why = "timed out", "closed" or the socket error.
bool recv_exact(int fd, char* out, size_t n, Clock::time_point deadline, std::string* why) {
  size_t off = 0;
  while (off < n) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      *why = "timed out";
      return false;
    }
    pollfd p{fd, POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left, 1000)));
    if (r < 0 && errno != EINTR) {
      *why = errno_text(errno);
      return false;
    }
    if (r <= 0) continue;
    const ssize_t got = ::recv(fd, out + off, n - off, 0);
    if (got == 0) {
      *why = "closed";
      return false;
    }
    if (got < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      *why = peer_gone(errno) ? "closed" : errno_text(errno);
      return false;
    }
    off += static_cast<size_t>(got);
  }
  return true;
}
}  // namespace

// ---- the server (rank 0) ----
class TcpStoreServer {
 public:
  TcpStoreServer(int port) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    addrinfo* res = nullptr;
    const std::string service = std::to_string(port);
    if (const int rc = getaddrinfo(nullptr, service.c_str(), &hints, &res))
      fail("rendezvous store: cannot resolve the listening address for port ", port, ": ", gai_strerror(rc));
    std::string last;
    int last_errno = 0;
    // IPv6 first (dual stack also takes IPv4 clients), then IPv4.
    for (int family : {AF_INET6, AF_INET}) {
      for (addrinfo* a = res; a && listen_fd_ < 0; a = a->ai_next) {
        if (a->ai_family != family) continue;
        int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) continue;
        int one = 1, zero = 0;
        ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (a->ai_family == AF_INET6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
        if (::bind(fd, a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd, 512) == 0) {
          listen_fd_ = fd;
          break;
        }
        last_errno = errno;
        last = errno_text(errno);
        ::close(fd);
      }
      if (listen_fd_ >= 0 || last_errno == EADDRINUSE) break;
    }
    freeaddrinfo(res);
    if (listen_fd_ < 0) {
      if (last_errno == EADDRINUSE)
        fail("rendezvous store: port ", port, " is already in use (EADDRINUSE), so rank 0 cannot host the store there; "
             "set MASTER_PORT (or --master-port) to a free port, or stop the process that holds it");
      fail("rendezvous store: cannot listen on port ", port, ": ", last.empty() ? "no usable address" : last);
    }
    if (::pipe2(wake_, O_CLOEXEC) != 0) {
      close_fd(listen_fd_);
      fail("rendezvous store: pipe(): ", errno_text(errno));
    }
    thread_ = std::thread([this] { loop(); });
  }
  ~TcpStoreServer() {
    stop_ = true;
    const char c = 1;
    if (::write(wake_[1], &c, 1) < 0) {
    }
    if (thread_.joinable()) thread_.join();
    for (auto& kv : clients_) ::close(kv.first);
    close_fd(listen_fd_);
    close_fd(wake_[0]);
    close_fd(wake_[1]);
  }

 private:
  struct Parked {
    int fd;
    Request req;
  };

  void answer(int fd, char status, const std::vector<char>& payload) {
    std::vector<char> b;
    b.push_back(status);
    put_bytes(b, payload.data(), payload.size());
    std::string why;
    // A client that went away is dropped by the poll loop; the answer is then lost, which is fine.
    send_all(fd, b, Clock::now() + std::chrono::seconds(10), &why);
  }
  bool ready(const Request& r) const {
    for (const auto& k : r.keys)
      if (!data_.count(k)) return false;
    return true;
  }
  void serve(int fd, Request& r) {
    switch (r.cmd) {
      case 'S':
        if (r.keys.size() != 1) return answer(fd, 1, std::vector<char>{'b', 'a', 'd'});
        data_[r.keys[0]] = r.value;
        answer(fd, 0, {});
        wake_parked();
        return;
      case 'A': {
        if (r.keys.size() != 1) return answer(fd, 1, std::vector<char>{'b', 'a', 'd'});
        const int64_t now = bytes_int64(data_.count(r.keys[0]) ? data_[r.keys[0]] : std::vector<char>()) + bytes_int64(r.value);
        data_[r.keys[0]] = int64_bytes(now);
        answer(fd, 0, int64_bytes(now));
        wake_parked();
        return;
      }
      case 'C':
        answer(fd, 0, std::vector<char>{static_cast<char>(ready(r) ? 1 : 0)});
        return;
      case 'G':
      case 'W':
        if (ready(r)) return finish(fd, r);
        parked_.push_back({fd, r});
        return;
      default: {
        const std::string m = std::string("unknown store command '") + r.cmd + "'";
        answer(fd, 1, std::vector<char>(m.begin(), m.end()));
      }
    }
  }
  void finish(int fd, const Request& r) {
    if (r.cmd == 'G') answer(fd, 0, data_.at(r.keys[0]));
    else answer(fd, 0, {});
  }
  void wake_parked() {
    for (size_t i = 0; i < parked_.size();) {
      if (ready(parked_[i].req)) {
        Parked p = std::move(parked_[i]);
        parked_.erase(parked_.begin() + static_cast<long>(i));
        finish(p.fd, p.req);
      } else {
        ++i;
      }
    }
  }
  void drop(int fd) {
    ::close(fd);
    clients_.erase(fd);
    for (size_t i = 0; i < parked_.size();)
      if (parked_[i].fd == fd) parked_.erase(parked_.begin() + static_cast<long>(i));
      else ++i;
  }
  void loop() {
    while (!stop_) {
      std::vector<pollfd> fds;
      fds.push_back({wake_[0], POLLIN, 0});
      fds.push_back({listen_fd_, POLLIN, 0});
      for (auto& kv : clients_) fds.push_back({kv.first, POLLIN, 0});
      if (::poll(fds.data(), fds.size(), 1000) <= 0) continue;
      if (fds[0].revents) break;
      if (fds[1].revents & POLLIN) {
        const int c = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (c >= 0) {
          int one = 1;
          ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          clients_[c];
        }
      }
      for (size_t i = 2; i < fds.size(); ++i) {
        if (!fds[i].revents) continue;
        const int fd = fds[i].fd;
        char tmp[65536];
        const ssize_t n = ::recv(fd, tmp, sizeof tmp, MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
          drop(fd);
          continue;
        }
        if (n < 0) continue;
        std::vector<char>& buf = clients_[fd];
        buf.insert(buf.end(), tmp, tmp + n);
        Request r;
        while (size_t used = parse_request(buf, r)) {
          buf.erase(buf.begin(), buf.begin() + static_cast<long>(used));
          serve(fd, r);
        }
      }
    }
  }

  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::map<int, std::vector<char>> clients_;  // fd -> bytes received but not yet parsed
  std::map<std::string, std::vector<char>> data_;
  std::vector<Parked> parked_;
};

// ---- the client ----
TcpStore::TcpStore(const std::string& host, int port, bool is_server, std::chrono::milliseconds timeout)
    : timeout_(timeout), address_(host + ":" + std::to_string(port)) {
  if (port < 1 || port > 65535) fail("rendezvous store: MASTER_PORT ", port, " is not a TCP port (1 to 65535)");
  if (is_server) server_ = std::make_unique<TcpStoreServer>(port);
  const auto deadline = Clock::now() + timeout;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  std::string last = "no address";
  while (fd_ < 0) {
    addrinfo* res = nullptr;
    const std::string service = std::to_string(port);
    const int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &res);
    if (rc != 0) fail("rendezvous store: cannot resolve MASTER_ADDR '", host, "': ", gai_strerror(rc));
    for (addrinfo* a = res; a && fd_ < 0; a = a->ai_next) {
      int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
      if (fd < 0) continue;
      if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
        int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        fd_ = fd;
      } else {
        last = errno_text(errno);
        ::close(fd);
      }
    }
    freeaddrinfo(res);
    if (fd_ >= 0) break;
    if (Clock::now() >= deadline)
      fail("rendezvous store: could not connect to ", address_, " within ", timeout.count(), " ms (", last,
           "); rank 0 hosts the store there: check MASTER_ADDR and MASTER_PORT, and that rank 0 has started");
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

TcpStore::~TcpStore() {
  close_fd(fd_);
  server_.reset();
}

std::vector<char> TcpStore::request(char cmd, const std::vector<std::string>& keys, const std::vector<char>& value,
                                    std::chrono::milliseconds timeout, const std::string& what) {
  std::lock_guard<std::mutex> lock(mu_);
  if (broken_ || fd_ < 0)
    fail("rendezvous store: the connection to ", address_, " is unusable after an earlier timeout or failure");
  std::vector<char> b;
  b.push_back(cmd);
  put_u32(b, static_cast<uint32_t>(keys.size()));
  for (const auto& k : keys) put_bytes(b, k.data(), k.size());
  put_bytes(b, value.data(), value.size());
  const auto deadline = Clock::now() + timeout;
  std::string why;
  char head[5];
  if (!send_all(fd_, b, deadline, &why) || !recv_exact(fd_, head, 5, deadline, &why)) {
    broken_ = true;
    if (why == "timed out")
      fail("rendezvous store: timed out after ", timeout.count(), " ms ", what);
    if (why == "closed")
      fail("rendezvous store: the store at ", address_, " closed the connection ", what,
           ": rank 0 (which hosts it) exited or failed");
    fail("rendezvous store: ", why, " ", what);
  }
  std::vector<char> payload(get_u32(head + 1));
  if (!payload.empty() && !recv_exact(fd_, payload.data(), payload.size(), deadline, &why)) {
    broken_ = true;
    fail("rendezvous store: ", why, " ", what);
  }
  if (head[0] != 0) fail("rendezvous store: ", std::string(payload.begin(), payload.end()));
  return payload;
}

void TcpStore::set(const std::string& key, const std::vector<char>& value) {
  request('S', {key}, value, timeout_, "setting key '" + key + "'");
}
std::vector<char> TcpStore::get(const std::string& key) { return get(key, timeout_); }
std::vector<char> TcpStore::get(const std::string& key, std::chrono::milliseconds timeout) {
  return request('G', {key}, {}, timeout, "waiting for key '" + key + "'");
}
void TcpStore::wait(const std::vector<std::string>& keys, std::chrono::milliseconds timeout) {
  std::string names;
  for (const auto& k : keys) names += (names.empty() ? "'" : ", '") + k + "'";
  request('W', keys, {}, timeout, "waiting for keys " + names);
}
int64_t TcpStore::add(const std::string& key, int64_t delta) {
  return bytes_int64(request('A', {key}, int64_bytes(delta), timeout_, "adding to key '" + key + "'"));
}
bool TcpStore::check(const std::string& key) {
  const auto r = request('C', {key}, {}, timeout_, "checking key '" + key + "'");
  return !r.empty() && r[0] == 1;
}

}  // namespace dist
}  // namespace fsnn
