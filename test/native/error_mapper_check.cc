// Throws every kind of exception the binding can meet and prints what the binding's one
// error mapper (native/binding/failure.h) makes of each, one "label<TAB>code<TAB>message"
// line per kind. Built and run by test/native/error-mapper.test.ts; plain C++, no Node.
#include <cstdio>
#include <functional>
#include <new>
#include <stdexcept>
#include <vector>

#include "binding/failure.h"

namespace {

void report(const char* label, const std::function<void()>& thrower) {
  try {
    thrower();
    std::printf("%s\tnone\t\n", label);
  } catch (...) {
    const trm::binding::JsFailure f = trm::binding::describe_current_exception("checking the mapper");
    std::printf("%s\t%s\t%s\n", label, f.code, f.message.c_str());
  }
}

}  // namespace

int main() {
  using trm::Error;
  using trm::ErrorKind;
  report("model", [] { throw Error(ErrorKind::kModel, "bad tensor"); });
  report("input", [] { throw Error(ErrorKind::kInput, "bad token"); });
  report("option", [] { throw Error(ErrorKind::kOption, "bad option"); });
  report("backend", [] { throw trm::binding::BackendFailure("no device"); });
  report("bad_alloc", [] { throw std::bad_alloc(); });
  report("real_bad_alloc", [] { std::vector<char> v(static_cast<size_t>(-1) / 2); });
  report("invalid_argument", [] { throw std::invalid_argument("negative size"); });
  report("out_of_range", [] { throw std::out_of_range("index 9"); });
  report("runtime_error", [] { throw std::runtime_error("something broke"); });
  report("int", [] { throw 42; });
  return 0;
}
