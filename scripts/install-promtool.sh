#!/bin/sh
# install-promtool.sh installs Debian's prometheus package for its promtool
# (lbmetrics' exposition test runs `promtool check metrics` on a scrape)
# unless promtool is already on the PATH. The package's server is not
# started by the tests. It exits 0 without promtool when apt cannot install
# it; the test then says it skipped the promtool check.
set -u
if command -v promtool >/dev/null 2>&1; then
	exit 0
fi
SUDO=
if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
fi
echo "install-promtool.sh: installing Debian's prometheus (for promtool)" >&2
export DEBIAN_FRONTEND=noninteractive
if ! { $SUDO apt-get update -qq >&2 && $SUDO apt-get install -y -qq --no-install-recommends prometheus >&2; }; then
	echo "install-promtool.sh: could not install prometheus; the promtool check will be skipped" >&2
fi
exit 0
