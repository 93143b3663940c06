#!/usr/bin/env bash
# The full test suite: set up, lint, build the offline hub fixture, run unit and integration tests.
set -Eeuo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
npx biome lint src test bench scripts bin
export SLIPWAY_HUB_DIR
SLIPWAY_HUB_DIR=$(bash fixtures/hub/build.sh | tail -n 1)
node scripts/test.mjs unit integration
