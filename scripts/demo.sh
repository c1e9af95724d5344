#!/usr/bin/env bash
# The README's first command: install, build, make sure a Docker engine and the local image are
# there, then run a local swarm on three test hosts (network namespaces with their own dockerd)
# and drive it with the swarmts CLI. Needs root (namespaces, dockerd).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci
else
  npm run build --silent
fi
bash scripts/ensure-docker.sh

echo
echo "\$ swarmts --version"
npx --no-install swarmts --version
echo
echo "\$ swarmts version"
npx --no-install swarmts version
echo
npx --no-install tsx scripts/demo-cluster.ts
