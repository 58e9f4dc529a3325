#!/usr/bin/env bash
# The suite holds on a loaded machine: ROUNDS times, two `make test` at once in this checkout
# (each starts its own local endpoint on a free port and uses its own pytest temporary directory).
# Exits non-zero on the first failed round.  Usage: scripts/stress-test.sh [ROUNDS]   (default 5)
set -euo pipefail
rounds="${1:-5}"
logs="$(mktemp -d)"
for round in $(seq 1 "$rounds"); do
    make test PYTEST_ARGS="-q -p no:cacheprovider" >"$logs/a$round.log" 2>&1 & first=$!
    make test PYTEST_ARGS="-q -p no:cacheprovider" >"$logs/b$round.log" 2>&1 & second=$!
    status=0
    wait "$first" || status=1
    wait "$second" || status=1
    echo "round $round: $(tail -n 1 "$logs/a$round.log") | $(tail -n 1 "$logs/b$round.log")"
    if [ "$status" -ne 0 ]; then
        echo "round $round failed; logs in $logs" >&2
        exit 1
    fi
done
echo "$rounds rounds of two concurrent 'make test' runs passed (logs in $logs)"
