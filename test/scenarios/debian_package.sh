#!/usr/bin/env bash
# debian_package: the Debian package builds with Debian's own tooling
# (dpkg-buildpackage, dh --with pgxs_loop, pg_buildext) from the files git
# tracks, and holds the extension's library, control file, every released
# SQL script and the expand-contract client. Needs no server (the package's
# own installcheck is left out: the suite runs every test against the same
# build); exits non-zero on failure.
set -euo pipefail
cd "$(dirname "$0")/../.."

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir "$work/src"
git ls-files -z | tar --null -T - -cf - | tar -xf - -C "$work/src"
(cd "$work/src" && DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" dpkg-buildpackage -us -uc -b >"$work/build.log" 2>&1) \
    || { tail -30 "$work/build.log"; echo "debian_package: dpkg-buildpackage failed"; exit 1; }

deb="$(ls "$work"/postgresql-15-expand-contract_*.deb)"
contents="$(dpkg-deb -c "$deb" | awk '{print $6}')"
for file in usr/lib/postgresql/15/lib/expand_contract.so usr/lib/postgresql/15/bin/expand-contract \
            usr/share/postgresql/15/extension/expand_contract.control; do
    grep -qx "./$file" <<<"$contents" || { echo "debian_package: $file is not in the package"; exit 1; }
done
for script in extension/*.sql; do
    grep -qx "./usr/share/postgresql/15/extension/$(basename "$script")" <<<"$contents" \
        || { echo "debian_package: $(basename "$script") is not in the package"; exit 1; }
done
[ "$(dpkg-deb -f "$deb" Depends | grep -c 'postgresql-15')" = 1 ] || { echo "debian_package: no dependency on postgresql-15"; exit 1; }
echo "debian_package: $(basename "$deb") built, with the library, the client and every SQL script"
