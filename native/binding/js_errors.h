// The binding's one error mapper: every C++ exception that reaches the binding, from an
// async worker, a sync call or a constructor, becomes the same JS error with a `code` the
// TypeScript layer maps to its typed errors (lib/native/addon.ts translateNativeError); the
// table is failure.h's describe_current_exception.
//
// A Napi::Error thrown by the binding itself (an argument check) already carries its code
// and passes through unchanged.
#pragma once

#include <napi.h>

#include <string>

#include "binding/failure.h"

namespace trm::binding {

inline Napi::Error make_error(Napi::Env env, const std::string& message, const char* code) {
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, code));
  return error;
}

inline Napi::Error make_error(Napi::Env env, const JsFailure& failure) {
  return make_error(env, failure.message, failure.code);
}

[[noreturn]] inline void throw_argument(Napi::Env env, const std::string& message) {
  throw make_error(env, message, "TRM_ARGUMENT");
}

// Call only inside a catch block of a sync method or constructor: rethrows the exception
// being handled as a JS error (a Napi::Error unchanged, anything else through the table).
[[noreturn]] inline void rethrow_as_js(Napi::Env env, const char* doing) {
  try {
    throw;
  } catch (const Napi::Error&) {
    throw;
  } catch (...) {
    throw make_error(env, describe_current_exception(doing));
  }
}

// Runs `body` (a sync method's or constructor's work) with every exception mapped to JS.
template <typename Body>
auto with_js_errors(Napi::Env env, const char* doing, Body&& body) -> decltype(body()) {
  try {
    return body();
  } catch (...) {
    rethrow_as_js(env, doing);
  }
}

}  // namespace trm::binding
