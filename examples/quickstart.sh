#!/usr/bin/env bash
# The embedded default: a local repository under .holdfast/, a generated password file,
# a backup of the example data, and the list of snapshots. Safe to run repeatedly.
set -euo pipefail
cd "$(dirname "$0")/.."
state=.holdfast
mkdir -p "$state"
[ -s "$state/password" ] || node -e "process.stdout.write(require('crypto').randomBytes(24).toString('base64'))" > "$state/password"
chmod 600 "$state/password"
export HOLDFAST_REPOSITORY="$state/repo" HOLDFAST_PASSWORD_FILE="$state/password"
hf() { node bin/holdfast.js "$@"; }
[ -f "$state/repo/config" ] || hf init
hf backup examples/data --tag example
hf snapshots
hf restore latest --target "$state/restore-check" --verify
