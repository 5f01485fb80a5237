// AddonPromiseWorker: the one AsyncWorker shape of the binding. Run() does the work on a
// libuv thread (no N-API there); its result, or the failure it threw mapped by js_errors.h,
// settles a Promise on the JS thread.
//
// Settling never lets an exception escape into Node. That matters when a worker_thread is
// terminated while a call is in flight: Node still runs this completion while it stops the
// thread, every N-API call that touches JS then fails, and a C++ exception thrown out of
// the callback would abort the whole process ("terminate called after throwing an instance
// of 'Napi::Error'"). A completion in a closing environment drops the result: nobody can
// await it any more.
#pragma once

#include <napi.h>

#include "binding/addon_env.h"
#include "binding/js_errors.h"

namespace trm::binding {

template <typename Result>
class AddonPromiseWorker : public Napi::AsyncWorker {
 public:
  // Queues the work; the worker deletes itself once it has settled the returned Promise.
  Napi::Promise Start() {
    Napi::Promise promise = deferred_.Promise();
    try {
      Queue();
    } catch (...) {
      delete this;
      throw;
    }
    return promise;
  }

 protected:
  // `doing` finishes the out-of-memory message: "out of memory while <doing>".
  AddonPromiseWorker(Napi::Env env, const char* resource_name, const char* doing)
      : Napi::AsyncWorker(env, resource_name),
        env_state_(AddonEnv::of(env)),
        doing_(doing),
        deferred_(Napi::Promise::Deferred::New(env)) {}

  // The work, on a libuv thread. May throw anything.
  virtual Result Run() = 0;
  // The result as a JS value, on the JS thread.
  virtual Napi::Value ToJs(Napi::Env env, const Result& result) = 0;

 private:
  void Execute() final {
    try {
      result_ = Run();
    } catch (...) {
      failed_ = true;
      failure_ = describe_current_exception(doing_);
    }
  }

  // Unused: OnWorkComplete settles the Promise itself.
  void OnOK() final {}
  void OnError(const Napi::Error&) final {}

  void OnWorkComplete(Napi::Env env, napi_status status) final {
    if (status != napi_cancelled && !env_state_->closing()) Settle(env);
    Destroy();
  }

  void Settle(Napi::Env env) noexcept {
    try {
      Napi::HandleScope scope(env);
      try {
        if (failed_) {
          deferred_.Reject(make_error(env, failure_).Value());
        } else {
          deferred_.Resolve(ToJs(env, result_));
        }
      } catch (...) {
        // Building the result failed (no memory on the JS heap, or JS can no longer run):
        // reject with what happened, after clearing any exception the failure left pending.
        const JsFailure failure = describe_current_exception(doing_);
        bool pending = false;
        napi_value ignored;
        if (napi_is_exception_pending(env, &pending) == napi_ok && pending) napi_get_and_clear_last_exception(env, &ignored);
        deferred_.Reject(make_error(env, failure).Value());
      }
    } catch (...) {
      // Even the rejection failed: the environment is being torn down (a worker_thread
      // terminated mid-call). Nothing can run JS there and nobody awaits this Promise.
    }
  }

  std::shared_ptr<const AddonEnv> env_state_;
  const char* doing_;
  Napi::Promise::Deferred deferred_;
  Result result_{};
  bool failed_ = false;
  JsFailure failure_;
};

}  // namespace trm::binding
