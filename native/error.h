// Errors raised by the native layer. The binding turns every one of them into a JS Error;
// messages name the op, the shapes and devices involved, and what to change.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace fsnn {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Builds a message from any streamable parts: fail("matmul: ", a, " vs ", b).
template <typename... Parts>
[[noreturn]] void fail(const Parts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  throw Error(out.str());
}

template <typename T>
std::string format_shape(const std::vector<T>& shape) {
  std::ostringstream out;
  out << '[';
  for (size_t i = 0; i < shape.size(); ++i) out << (i ? "," : "") << shape[i];
  out << ']';
  return out.str();
}

}  // namespace fsnn
