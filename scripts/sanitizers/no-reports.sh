#!/bin/sh
# Fails, printing them, when the sanitizer reports folder given holds any report (`make sanitize`).
set -eu
folder="$1"
if [ -n "$(ls -A "$folder")" ]; then
  for report in "$folder"/*; do echo "== $report"; cat "$report"; done
  echo "sanitizer reports in $folder (above)" >&2
  exit 1
fi
echo "no sanitizer report in $folder"
