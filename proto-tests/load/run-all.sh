#!/usr/bin/env bash
# Runs every scenario in turn (one build first), one summary line each; fails if any failed.
# Shorten the long ones with DURATION / DOWN / COUNT, e.g. DURATION=60 ./run-all.sh
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
(cd "$here/../.." && cargo build --profile dist --quiet) || exit 2
failed=0
for s in "$here"/[1-7]-*.sh; do
    SKIP_BUILD=1 bash "$s" || failed=$((failed + 1))
done
echo "run-all: $failed scenario(s) failed"
exit $((failed > 0))
