#!/usr/bin/env bash
# Run HERE (the development machine), before a GPU session's `run` call: the GPU machine has
# no Node.js and no network, so this packs what run.sh needs into .gpu/ (git-ignored, carried
# with `carry: [".gpu"]`): the node binary, Node's headers (cmake-js's nodedir), node_modules
# without onnxruntime-node/typescript (not needed there), and dist/ (compiled here).
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v node >/dev/null || { echo "pack.sh: node not found" >&2; exit 1; }
npm run build:ts >/dev/null
rm -rf .gpu
mkdir -p .gpu
node_bin="$(readlink -f "$(command -v node)")"
prefix="$(cd "$(dirname "$node_bin")/.." && pwd)"
[ -f "$prefix/include/node/node_api.h" ] || { echo "pack.sh: no $prefix/include/node/node_api.h" >&2; exit 1; }
xz -T0 -6 -c "$node_bin" > .gpu/node.xz
# Only the top-level headers: N-API needs node_api.h and what it includes, not v8/uv/openssl.
(cd "$prefix" && find include/node -maxdepth 1 -type f -name '*.h' -print0 | tar --null -T - -cJf "$OLDPWD/.gpu/node-include.tar.xz")
tar --exclude='node_modules/onnxruntime-node' --exclude='node_modules/typescript' --exclude='node_modules/.cache' \
  -cJf .gpu/node_modules.tar.xz node_modules
tar -cJf .gpu/dist.tar.xz dist
du -ch .gpu/* | tail -n 5
echo "pack.sh: carry .gpu with the run call (the working tree and .gpu together must stay under 64 MiB)"
