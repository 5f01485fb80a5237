// AddonWrap<T>: the base of every Addon* class (the JS handles of core objects). Methods
// and getters are registered through Method<>/Getter<>, which run them under the binding's
// one error mapper (js_errors.h): an exception a method did not expect (std::bad_alloc from
// a vector, a std::exception from the core) becomes a typed JS error instead of escaping
// into Node, where node-addon-api would let it abort the process.
#pragma once

#include <napi.h>

#include "binding/js_errors.h"

namespace trm::binding {

template <typename T>
class AddonWrap : public Napi::ObjectWrap<T> {
 public:
  using Napi::ObjectWrap<T>::ObjectWrap;

 protected:
  using Callback = Napi::Value (T::*)(const Napi::CallbackInfo&);

  template <Callback M>
  static Napi::ClassPropertyDescriptor<T> Method(const char* name) {
    return Napi::ObjectWrap<T>::InstanceMethod(name, static_cast<Callback>(&AddonWrap::template Guarded<M>));
  }

  template <Callback M>
  static Napi::ClassPropertyDescriptor<T> Getter(const char* name) {
    return Napi::ObjectWrap<T>::InstanceAccessor(name, static_cast<Callback>(&AddonWrap::template Guarded<M>), nullptr);
  }

 private:
  template <Callback M>
  Napi::Value Guarded(const Napi::CallbackInfo& info) {
    return with_js_errors(info.Env(), "running a native call", [&] { return (static_cast<T*>(this)->*M)(info); });
  }
};

}  // namespace trm::binding
