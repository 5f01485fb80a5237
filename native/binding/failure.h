// What a C++ exception becomes in JS, as plain data (no N-API), so a worker thread can hold
// it and a C++ test can check the table (test/native/error-mapper.test.ts):
//
//   trm::Error (core)          -> TRM_MODEL / TRM_INPUT / TRM_OPTION, by its kind
//   BackendFailure (a device)  -> TRM_BACKEND
//   std::bad_alloc             -> TRM_OUT_OF_MEMORY
//   std::invalid_argument      -> TRM_ARGUMENT (a caller broke a precondition the core checks)
//   any other std::exception   -> TRM_INTERNAL, with its what()
//   anything else (...)        -> TRM_INTERNAL
#pragma once

#include <new>
#include <stdexcept>
#include <string>

#include "core/errors.h"

namespace trm::binding {

// A backend's own failure (a CUDA error, no device): reported as TRM_BACKEND (BackendError).
class BackendFailure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct JsFailure {
  const char* code = "TRM_INTERNAL";
  std::string message;
};

inline const char* error_code(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kModel: return "TRM_MODEL";
    case ErrorKind::kInput: return "TRM_INPUT";
    case ErrorKind::kOption: return "TRM_OPTION";
  }
  return "TRM_INTERNAL";
}

// Call only inside a catch block: classifies the exception being handled. `doing` finishes
// the out-of-memory message ("out of memory while " + doing). Never throws.
inline JsFailure describe_current_exception(const char* doing) noexcept {
  try {
    try {
      throw;
    } catch (const Error& e) {
      return {error_code(e.kind()), e.what()};
    } catch (const BackendFailure& e) {
      return {"TRM_BACKEND", e.what()};
    } catch (const std::bad_alloc&) {
      return {"TRM_OUT_OF_MEMORY", std::string("out of memory while ") + doing};
    } catch (const std::invalid_argument& e) {
      return {"TRM_ARGUMENT", e.what()};
    } catch (const std::exception& e) {
      return {"TRM_INTERNAL", std::string("internal error while ") + doing + ": " + e.what()};
    } catch (...) {
      return {"TRM_INTERNAL", std::string("internal error while ") + doing + ": an unknown native exception"};
    }
  } catch (...) {
    // Building the message itself failed (no memory for a string).
    JsFailure f;
    f.code = "TRM_OUT_OF_MEMORY";
    f.message = "out of memory";  // short enough for the small-string buffer: no allocation
    return f;
  }
}

}  // namespace trm::binding
