#!/usr/bin/env bash
# Builds tools/vcsim/vcsim from Debian's govmomi sources, only when the Go sources, this
# script or the govmomi package changed since the last build. Called by scripts/setup,
# the test helper and the benchmark.
#
# One patch is applied at build time through `go build -overlay` (the Debian sources are
# never modified): vcsim's WaitForUpdatesEx looks for changes on a fixed 250 ms ticker;
# we turn that constant into simulator.WaitForUpdatesInterval (flag -update-interval) so
# that the simulator delivers property updates as promptly as a real vCenter does.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="$here/vcsim"
gopath=/usr/share/gocode
sim="$gopath/src/github.com/vmware/govmomi/simulator"
stamp=/var/lib/dpkg/info/golang-github-vmware-govmomi-dev.list

if [ ! -d "$sim" ] || ! command -v go >/dev/null; then
  echo "vcsim: install golang-go and golang-github-vmware-govmomi-dev (scripts/setup does)" >&2
  exit 1
fi

if [ -x "$bin" ] && [ -z "$(find "$here" -maxdepth 1 \( -name '*.go' -o -name build.sh \) -newer "$bin")" ] \
   && { [ ! -e "$stamp" ] || [ "$stamp" -ot "$bin" ]; }; then
  exit 0
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
sed 's/time\.NewTicker(250 \* time\.Millisecond)/time.NewTicker(WaitForUpdatesInterval)/' \
  "$sim/property_collector.go" > "$tmp/property_collector.go"
grep -q 'NewTicker(WaitForUpdatesInterval)' "$tmp/property_collector.go" || {
  echo "vcsim: cannot patch $sim/property_collector.go (govmomi changed?)" >&2; exit 1; }
cat > "$tmp/zz_polyvisor_interval.go" <<'GO'
package simulator

import "time"

// WaitForUpdatesInterval is how often WaitForUpdatesEx looks for changes (added by Polyvisor's build).
var WaitForUpdatesInterval = 250 * time.Millisecond
GO
cat > "$tmp/overlay.json" <<JSON
{"Replace": {
  "$sim/property_collector.go": "$tmp/property_collector.go",
  "$sim/zz_polyvisor_interval.go": "$tmp/zz_polyvisor_interval.go"
}}
JSON
echo "vcsim: building $bin" >&2
cd "$here"
GOPATH="$gopath" GO111MODULE=off GOFLAGS= go build -overlay "$tmp/overlay.json" -o "$bin.tmp" .
mv "$bin.tmp" "$bin"
