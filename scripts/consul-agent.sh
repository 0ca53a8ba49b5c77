#!/bin/sh
# consul-agent.sh prints the path of a Consul binary for lbkit's integration
# tests, building it first only when the cache does not hold it yet.
#
# Consul is not packaged by Debian and `go install` refuses it (its go.mod has
# replace directives), so integration/consulagent is a tiny main of ours that
# requires github.com/hashicorp/consul at a pinned tag. A cold build takes
# 5-9 minutes on 2 cores, hence the cache outside the clone, keyed by the
# pinned version:
#
#   ${XDG_CACHE_HOME:-$HOME/.cache}/lbkit/consul-<version>/consul
#
# Consul is BUSL-1.1 licensed: the binary is for local tests only. It never
# lives in the clone; never commit or ship it.
#
# Usage: LBKIT_CONSUL_BIN=$(scripts/consul-agent.sh) go test ./consul/...
# Build progress goes to stderr; stdout carries only the path.
set -eu

root=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)
src="$root/integration/consulagent"

version=$(awk '$1 == "github.com/hashicorp/consul" { print $2; exit }' "$src/go.mod")
if [ -z "$version" ]; then
	echo "consul-agent.sh: no github.com/hashicorp/consul requirement in $src/go.mod" >&2
	exit 1
fi

dir="${XDG_CACHE_HOME:-$HOME/.cache}/lbkit/consul-$version"
bin="$dir/consul"
if [ -x "$bin" ]; then
	echo "$bin"
	exit 0
fi

mkdir -p "$dir"
# Two concurrent `make test` runs must not both spend minutes building, nor
# see a half-written binary: serialise on a lock and re-check under it.
exec 9>"$dir/.lock"
if command -v flock >/dev/null 2>&1; then
	flock 9
fi
if [ -x "$bin" ]; then
	echo "$bin"
	exit 0
fi

echo "consul-agent.sh: building Consul $version into $bin (5-9 minutes on 2 cores, once)" >&2
start=$(date +%s)
tmp="$dir/consul.tmp.$$"
trap 'rm -f "$tmp"' EXIT
# The build runs in the background so that an interrupt can stop it too,
# rather than leave a compiler running for minutes with no one waiting.
(cd "$src" && exec go build -mod=readonly -trimpath -o "$tmp" .) >&2 &
build=$!
trap 'kill "$build" 2>/dev/null; rm -f "$tmp"; exit 130' INT TERM
wait "$build"
mv -f "$tmp" "$bin"
echo "consul-agent.sh: built in $(( $(date +%s) - start ))s" >&2
echo "$bin"
