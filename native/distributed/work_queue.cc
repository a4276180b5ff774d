// WorkQueue (process_group.h): one thread running a group's collectives in submission order.
#include <stdexcept>

#include "process_group.h"

namespace fsnn {
namespace dist {

WorkQueue::WorkQueue() : thread_([this] { loop(); }) {}

WorkQueue::~WorkQueue() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

uint64_t WorkQueue::submit(std::function<void()> job) {
  std::lock_guard<std::mutex> lock(mu_);
  const uint64_t ticket = next_++;
  jobs_.emplace_back(ticket, std::move(job));
  cv_.notify_all();
  return ticket;
}

void WorkQueue::loop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stop_ || !jobs_.empty(); });
    if (jobs_.empty()) return;  // stop_ and nothing left
    auto job = std::move(jobs_.front());
    jobs_.pop_front();
    std::string error = failure_.empty() ? "" : "an earlier collective of this process group failed: " + failure_;
    if (error.empty()) {
      lock.unlock();
      try {
        job.second();
      } catch (const std::exception& e) {
        error = e.what();
      } catch (...) {
        error = "unknown C++ exception";
      }
      lock.lock();
      if (!error.empty() && failure_.empty()) failure_ = error;
    }
    if (!error.empty()) errors_[job.first] = error;
    finished_ = job.first;
    cv_.notify_all();
  }
}

bool WorkQueue::done(uint64_t ticket) {
  std::lock_guard<std::mutex> lock(mu_);
  return finished_ >= ticket;
}

void WorkQueue::wait(uint64_t ticket) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return finished_ >= ticket; });
  auto it = errors_.find(ticket);
  if (it != errors_.end()) {
    const std::string e = it->second;
    errors_.erase(it);
    throw Error(e);
  }
}

std::string WorkQueue::failure() {
  std::lock_guard<std::mutex> lock(mu_);
  return failure_;
}

}  // namespace dist
}  // namespace fsnn
