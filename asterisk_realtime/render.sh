#!/bin/sh
# Writes sorcery.conf, extconfig.conf and res_pgsql.conf into DEST (default /etc/asterisk) with
# the CTI server's database taken from the environment:
#   PGHOST (required), PGPORT (5432), PGDATABASE (cti), PGUSER (asterisk).
# The password is never written: Asterisk's libpq reads PGPASSWORD from its own environment.
# Each value must be a plain host, number or name (no space, quote or '='), so it cannot add
# anything to the connection string.
set -eu
src=$(cd "$(dirname "$0")" && pwd)
dest=${1:-/etc/asterisk}
: "${PGHOST:?render.sh: set PGHOST (the CTI server's PostgreSQL)}"
PGPORT=${PGPORT:-5432}
PGDATABASE=${PGDATABASE:-cti}
PGUSER=${PGUSER:-asterisk}
for pair in "PGHOST=$PGHOST" "PGPORT=$PGPORT" "PGDATABASE=$PGDATABASE" "PGUSER=$PGUSER"; do
    case "${pair#*=}" in
        ''|*[!A-Za-z0-9._/-]*) echo "render.sh: ${pair%%=*} must be letters, digits, '.', '_', '-', '/'" >&2; exit 2 ;;
    esac
done
case "$PGPORT" in *[!0-9]*) echo "render.sh: PGPORT must be a number" >&2; exit 2 ;; esac
for f in sorcery.conf extconfig.conf res_pgsql.conf; do
    sed -e "s|@PGHOST@|$PGHOST|g" -e "s|@PGPORT@|$PGPORT|g" \
        -e "s|@PGDATABASE@|$PGDATABASE|g" -e "s|@PGUSER@|$PGUSER|g" "$src/$f" > "$dest/$f"
done
echo "render.sh: realtime PJSIP from postgresql://$PGUSER@$PGHOST:$PGPORT/$PGDATABASE into $dest" >&2
