#!/bin/sh
# The full SIGKILL acceptance run for campaigns: 20 trials on each path, 2,000 recipients on the
# local path (CI runs 3 trials x 300 recipients). Prints the seed, kills in flight, uncertain rows.
# Runs with the uv on PATH, else the repository's ./uv script (as the README's commands do).
set -e
cd "$(dirname "$0")/.."
if command -v uv >/dev/null 2>&1; then UV=uv; else UV="python3 ./uv"; fi
PARTWORK_CRASH_TRIALS=${PARTWORK_CRASH_TRIALS:-20} PARTWORK_CRASH_RECIPIENTS=${PARTWORK_CRASH_RECIPIENTS:-2000} \
    exec $UV run --frozen pytest tests/campaigns/test_sigkill.py -s -q -p no:logging "$@"
