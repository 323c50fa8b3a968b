#!/bin/sh
# The full SIGKILL acceptance run for campaigns: 20 trials on each path, 2,000 recipients on the
# local path (CI runs 3 trials x 300 recipients). Prints the seed, kills in flight, uncertain rows.
set -e
cd "$(dirname "$0")/.."
PARTWORK_CRASH_TRIALS=${PARTWORK_CRASH_TRIALS:-20} PARTWORK_CRASH_RECIPIENTS=${PARTWORK_CRASH_RECIPIENTS:-2000} \
    exec uv run pytest tests/campaigns/test_sigkill.py -s -q -p no:logging "$@"
