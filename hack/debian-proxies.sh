#!/usr/bin/env bash
# Unpacks NGINX and Apache httpd from the machine's Debian release into a
# per-user cache folder, without installing them: no service starts, no
# system file changes, and the chain tests run them as plain processes.
# Prints the folder; a second run finds it and returns at once.
set -euo pipefail

OUT=${1:?usage: $0 OUTPUT_DIR}
# The packages and what they need beyond a base system (libssl, zlib, pcre2
# and the like are on every Debian machine).
PACKAGES=(nginx nginx-common apache2 apache2-bin apache2-data apache2-utils
	libapr1 libaprutil1 libaprutil1-dbd-sqlite3 libaprutil1-ldap liblua5.3-0)
# The versions the tests were written against; Debian's security updates
# within a release keep these.
NGINX_SERIES=1.22.
APACHE_SERIES=2.4.

current() {
	[[ -x $OUT/root/usr/sbin/nginx && -x $OUT/root/usr/sbin/apache2 ]] &&
		"$OUT/root/usr/sbin/nginx" -v 2>&1 | grep -q "nginx/$NGINX_SERIES" &&
		LD_LIBRARY_PATH=$OUT/root/usr/lib/x86_64-linux-gnu "$OUT/root/usr/sbin/apache2" -v | grep -q "Apache/$APACHE_SERIES"
}

if current; then
	echo "$OUT"
	exit 0
fi
command -v apt-get >/dev/null || { echo "the chain tests need NGINX and Apache from Debian packages: apt-get not found" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo ">> unpacking ${PACKAGES[*]} from Debian packages into $OUT" >&2
if ! (cd "$work" && apt-get download "${PACKAGES[@]}" >/dev/null 2>&1); then
	# A fresh machine has no package lists yet.
	[[ $(id -u) == 0 ]] || { echo "apt-get download failed and only root can run apt-get update: run it once, then make again" >&2; exit 1; }
	apt-get update >/dev/null
	(cd "$work" && apt-get download "${PACKAGES[@]}" >/dev/null)
fi
rm -rf "$OUT"
mkdir -p "$OUT/root"
for deb in "$work"/*.deb; do
	dpkg-deb -x "$deb" "$OUT/root"
	dpkg-deb -f "$deb" Package Version | paste -sd' ' >>"$OUT/versions.txt"
done
current || { echo "the unpacked NGINX or Apache is not $NGINX_SERIES* / $APACHE_SERIES*, or does not run: see $OUT/versions.txt" >&2; exit 1; }
echo "$OUT"
