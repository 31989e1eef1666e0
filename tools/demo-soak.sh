#!/usr/bin/env bash
# Leaves the demo running at high speed and prints, once a minute, the simulated time, the
# newest order and alert ozontrack has, and the demo's resident memory: the check that a demo
# left running for a day keeps getting news in bounded memory. A real day at the demo's 3600×
# is ten simulated years; at the default 86400× (a day a second) this reaches that in an hour.
#
#   cargo build --release && tools/demo-soak.sh [MINUTES] [SPEED]
#
# Needs curl and python3; runs in a temporary directory and stops the demo at the end.
set -euo pipefail
minutes="${1:-30}"
speed="${2:-86400}"
bin="$(cd "$(dirname "$0")/.." && pwd)/target/release/ozontrack"
dir="$(mktemp -d)"
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
cd "$dir"
"$bin" --json demo --speed "$speed" --dashboard 127.0.0.1:0 >demo.out 2>demo.err &
pid=$!
for _ in $(seq 1 120); do
    [ -s demo.out ] && break
    sleep 1
done
server="$(python3 -c 'import json,sys; print(json.loads(open("demo.out").readline())["server"])')"
token="$(python3 -c 'import json,sys; print(json.loads(open("demo.out").readline())["api_token"])')"
newest() {
    curl -sf -H "Authorization: Bearer $token" "$server/api/v1/$1" |
        python3 -c "import json,sys; items=json.load(sys.stdin)['items']; print(max((i['$2'] for i in items), default='-'))"
}
echo "minute  newest order (simulated)   newest alert  RSS MiB  database MiB"
for minute in $(seq 1 "$minutes"); do
    sleep 60
    order="$(newest 'postings?limit=200' in_process_at || echo '?')"
    alert="$(newest 'alerts?limit=200' id || echo '?')"
    rss="$(awk '/VmRSS/ {print int($2 / 1024)}' "/proc/$pid/status")"
    db="$(du -m ozontrack-demo.db | cut -f1)"
    printf '%6d  %-25s  %12s  %7s  %12s\n' "$minute" "$order" "$alert" "$rss" "$db"
done
