#!/usr/bin/env bash
# The README's first command. `bash scripts/demo.sh` installs and builds swarmts, makes sure a
# Docker engine and the local image are there, then starts a local swarm on three test hosts
# (network namespaces with their own dockerd) running a replicated web service, and leaves it
# running. `bash scripts/demo.sh down` removes it. Needs root (namespaces, dockerd).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-up}" = down ]; then
  exec npx --no-install tsx scripts/demo-cluster.ts down
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci
else
  npm run build --silent
fi
bash scripts/ensure-docker.sh

echo
echo "\$ swarmts --version"
npx --no-install swarmts --version
npx --no-install tsx scripts/demo-cluster.ts up
