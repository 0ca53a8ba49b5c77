#!/bin/sh
# install-chromium.sh installs Debian's chromium (headless browser for the
# status page integration test) unless it is already on the PATH.
set -eu
if command -v chromium >/dev/null 2>&1; then
	exit 0
fi
SUDO=
if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
fi
echo "install-chromium.sh: installing Debian's chromium" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >&2
$SUDO apt-get install -y -qq chromium >&2
command -v chromium >/dev/null
