// The addon's state for one Node environment (the main thread, and each worker_thread that
// loads the addon): N-API instance data, never a static, so environments load, run and tear
// down independently. The environment's cleanup hook marks it closing; a worker that
// finishes after that drops its result instead of touching a JS heap that is going away.
#pragma once

#include <napi.h>

#include <atomic>
#include <memory>

namespace trm::binding {

class AddonEnv {
 public:
  // Once per environment, from the module's Init.
  static void attach(Napi::Env env) {
    auto* holder = new Holder{std::make_shared<AddonEnv>()};
    env.SetInstanceData<Holder>(holder);
    env.AddCleanupHook([state = holder->state] { state->closing_.store(true); });
  }

  // Shared, so a worker still in flight can ask after the instance data is finalized.
  static std::shared_ptr<const AddonEnv> of(Napi::Env env) {
    Holder* holder = env.GetInstanceData<Holder>();
    if (holder == nullptr) throw Napi::Error::New(env, "trm-node: the addon was not initialised in this environment");
    return holder->state;
  }

  bool closing() const { return closing_.load(); }

 private:
  struct Holder {
    std::shared_ptr<AddonEnv> state;
  };
  std::atomic<bool> closing_{false};
};

}  // namespace trm::binding
