#!/bin/sh
# consumer-smoke.sh plays a new user of lbkit: in a throwaway module outside
# the repository it requires go-kit v0.13.0 and lbkit (a replace to this
# checkout), imports every public package, and runs `go mod tidy` and
# `go build`. It fails if tidy needs a manual step (for example the
# "ambiguous import" errors that an old google.golang.org/genproto beside
# the split genproto modules causes). It uses the module proxy as the user
# would; the module cache makes later runs quick.
set -eu
GO=${GO:-go}
repo=$(cd "$(dirname "$0")/.." && pwd)
module=$(cd "$repo" && $GO list -m)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/lbkit-consumer.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

pkgs=$(cd "$repo" && $GO list -f '{{if not (eq .Name "main")}}{{.ImportPath}}{{end}}' ./... | grep -v -e '/internal/' -e '/examples/')

cd "$tmp"
cat >go.mod <<MOD
module example.com/lbkitconsumer

go $(cd "$repo" && $GO list -m -f '{{.GoVersion}}')

require (
	github.com/go-kit/kit v0.13.0
	$module v0.0.0
)

replace $module => $repo
MOD
{
	echo "// Package main imports every public lbkit package beside go-kit."
	echo "package main"
	echo
	echo "import ("
	echo "	_ \"github.com/go-kit/kit/endpoint\""
	echo "	_ \"github.com/go-kit/kit/sd/lb\""
	for p in $pkgs; do echo "	_ \"$p\""; done
	echo ")"
	echo
	echo "func main() {}"
} >main.go

if ! $GO mod tidy >tidy.log 2>&1; then
	echo "consumer-smoke: go mod tidy failed in a new module requiring go-kit v0.13.0 and lbkit:" >&2
	cat tidy.log >&2
	exit 1
fi
if ! $GO build ./... >build.log 2>&1; then
	echo "consumer-smoke: go build failed after go mod tidy:" >&2
	cat build.log >&2
	exit 1
fi
echo "consumer-smoke: go mod tidy and go build clean ($(echo "$pkgs" | wc -l) lbkit packages beside go-kit v0.13.0)"
