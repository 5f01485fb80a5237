// The op harness's CUDA half where the binary was built without CUDA: say so, check nothing.
#include "tests/harness.h"

namespace trm::tests {

void check_cuda_ops(Harness& h) {
  h.skip("CUDA ops", "this build has no CUDA backend (TRM_CUDA=ON npm run build:native to build it)");
}

}  // namespace trm::tests
