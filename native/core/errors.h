// Errors the core reports; the binding turns each kind into its typed JS error. The
// TypeScript layer validates first and gives the friendlier message; these exist so that
// a caller who bypasses it still gets an exception, never undefined behaviour.
#pragma once

#include <stdexcept>
#include <string>

namespace trm {

enum class ErrorKind { kModel, kInput, kOption };

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

}  // namespace trm
