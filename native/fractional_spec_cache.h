// A small most-recently-used cache of what is built from a layer's kernel spec (the kernel K and its
// derivatives, the fast history's SOE tables), so that steps with unchanged orders do not rebuild.
// Keys compare bit-exactly (same_fractional_spec); the build runs outside the lock; safe from any thread.
#pragma once
#include <cstddef>
#include <list>
#include <memory>
#include <mutex>
#include <utility>

#include "fractional_kernel.h"

namespace fsnn {

template <class Value, size_t Capacity>
class FractionalSpecCache {
 public:
  // The cached value for key, or build() stored as the most recent entry (the oldest beyond Capacity dropped).
  template <class Build>
  std::shared_ptr<const Value> get(const FractionalKernelSpec& key, Build&& build) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto it = entries_.begin(); it != entries_.end(); ++it)
        if (same_fractional_spec(it->first, key)) {
          entries_.splice(entries_.begin(), entries_, it);
          return entries_.front().second;
        }
    }
    auto built = std::make_shared<const Value>(build());
    std::lock_guard<std::mutex> lock(mu_);
    entries_.emplace_front(key, built);
    while (entries_.size() > Capacity) entries_.pop_back();
    return built;
  }

 private:
  std::mutex mu_;
  std::list<std::pair<FractionalKernelSpec, std::shared_ptr<const Value>>> entries_;  // most recent first
};

}  // namespace fsnn
