#!/usr/bin/env bash
# holdfast's main job on the embedded default: the example policy (examples/holdfast.yaml)
# backs up the example data into a local repository under .holdfast/ and copies it to a
# second local repository with its own key, records every step in a SQLite catalog, then
# prints the status of every asset and the data inventory. Safe to run repeatedly.
set -euo pipefail
cd "$(dirname "$0")/.."
state=.holdfast
mkdir -p "$state"
for f in password replica-password; do
  [ -s "$state/$f" ] || node -e "process.stdout.write(require('crypto').randomBytes(24).toString('base64'))" > "$state/$f"
  chmod 600 "$state/$f"
done
hf() { bin/holdfast.js "$@"; } # through its #! line, with its V8 heap options
policy=examples/holdfast.yaml
hf validate --policy "$policy"
hf setup --policy "$policy"
hf run --policy "$policy"
echo
hf status --policy "$policy"
echo
hf inventory --policy "$policy"
