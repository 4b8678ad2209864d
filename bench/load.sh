#!/bin/sh
# load.sh URL [SECONDS]: 500 concurrent clients fetching a convene feed,
# in full and then with If-None-Match, as BenchmarkLoad does. Needs wrk.
set -eu
url=${1:?usage: load.sh URL [SECONDS]}
secs=${2:-30}
etag=$(curl -sfI "$url" | tr -d '\r' | sed -n 's/^[Ee][Tt][Aa][Gg]: //p')
echo "== full responses ($url)"
wrk -t"$(nproc)" -c500 -d"${secs}s" --timeout 10s --latency "$url"
echo "== If-None-Match: $etag"
wrk -t"$(nproc)" -c500 -d"${secs}s" --timeout 10s --latency -H "If-None-Match: $etag" "$url"
