// JS <-> core conversions for the binding: typed arrays in, typed arrays out. A bad
// argument throws TRM_ARGUMENT through the error mapper's make_error (js_errors.h).
#pragma once

#include <napi.h>

#include <cstring>
#include <string>
#include <vector>

#include "binding/js_errors.h"

namespace trm::binding {

inline Napi::Value required(const Napi::Object& obj, const char* key) {
  Napi::Value v = obj.Get(key);
  if (v.IsUndefined() || v.IsNull()) throw_argument(obj.Env(), std::string("missing field ") + key);
  return v;
}

inline int get_int(const Napi::Object& obj, const char* key) {
  Napi::Value v = required(obj, key);
  if (!v.IsNumber()) throw_argument(obj.Env(), std::string(key) + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= -2147483648.0 && d <= 2147483647.0) || d != static_cast<int>(d)) {
    throw_argument(obj.Env(), std::string(key) + " must be a 32-bit integer");
  }
  return static_cast<int>(d);
}

inline double get_number(const Napi::Object& obj, const char* key) {
  Napi::Value v = required(obj, key);
  if (!v.IsNumber()) throw_argument(obj.Env(), std::string(key) + " must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

inline bool get_bool(const Napi::Object& obj, const char* key, bool fallback) {
  Napi::Value v = obj.Get(key);
  if (v.IsUndefined() || v.IsNull()) return fallback;
  if (!v.IsBoolean()) throw_argument(obj.Env(), std::string(key) + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

template <typename T>
struct TypedArrayKind;
template <>
struct TypedArrayKind<float> {
  static constexpr napi_typedarray_type value = napi_float32_array;
  static constexpr const char* name = "Float32Array";
};
template <>
struct TypedArrayKind<int32_t> {
  static constexpr napi_typedarray_type value = napi_int32_array;
  static constexpr const char* name = "Int32Array";
};

// Copies a typed array field; an absent field gives an empty vector when optional.
template <typename T>
std::vector<T> get_array(const Napi::Object& obj, const char* key, bool optional) {
  Napi::Value v = obj.Get(key);
  if (v.IsUndefined() || v.IsNull()) {
    if (optional) return {};
    throw_argument(obj.Env(), std::string("missing field ") + key);
  }
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != TypedArrayKind<T>::value) {
    throw_argument(obj.Env(), std::string(key) + " must be a " + TypedArrayKind<T>::name);
  }
  Napi::TypedArrayOf<T> array = v.As<Napi::TypedArrayOf<T>>();
  return std::vector<T>(array.Data(), array.Data() + array.ElementLength());
}

template <typename T>
Napi::TypedArrayOf<T> to_js(Napi::Env env, const std::vector<T>& values) {
  Napi::TypedArrayOf<T> array = Napi::TypedArrayOf<T>::New(env, values.size());
  if (!values.empty()) std::memcpy(array.Data(), values.data(), values.size() * sizeof(T));
  return array;
}

}  // namespace trm::binding
