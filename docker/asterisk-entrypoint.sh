#!/bin/sh
# Lays out /etc/asterisk for a site at each start, then runs Asterisk.
#
# The repository's asterisk_conf/ is mounted read-only at /srv/asterisk_conf: its
# top-level files are copied as they are, then the realtime overlay (asterisk_conf/realtime/,
# the PJSIP accounts in PostgreSQL) on top of them. Nothing secret is in those files:
#   - in the realtime overlay, every ${CTI_...} or ${PG...} placeholder is replaced from the
#     environment (a placeholder left unset stops the start, naming it);
#   - manager.conf: the AMI secret becomes CTI_AMI_SECRET, AMI listens on AMI_BINDADDR
#     (127.0.0.1 when the CTI server is on this host) and its user 'cti' is permitted
#     from CTI_HOST only (the CTI server's address; everything else is denied);
#   - pjsip.conf: the SIP transport binds SIP_BINDADDR (the address softphones reach).
set -eu

SRC="${ASTERISK_CONF_SRC:-/srv/asterisk_conf}"  # both overridable for the tests
DST="${ASTERISK_CONF_DST:-/etc/asterisk}"
fail() { echo "asterisk-entrypoint: $*" >&2; exit 2; }

: "${CTI_AMI_SECRET:?set CTI_AMI_SECRET (the AMI secret the CTI server logs in with)}"
CTI_HOST="${CTI_HOST:-127.0.0.1}"
AMI_BINDADDR="${AMI_BINDADDR:-127.0.0.1}"
SIP_BINDADDR="${SIP_BINDADDR:-0.0.0.0}"
for value in "$CTI_AMI_SECRET" "$CTI_HOST" "$AMI_BINDADDR" "$SIP_BINDADDR"; do
    case "$value" in *[\;\"\'[:space:]]*) fail "CTI_AMI_SECRET, CTI_HOST, AMI_BINDADDR, SIP_BINDADDR: no spaces, quotes or ';'";; esac
done

[ -f "$SRC/manager.conf" ] || fail "$SRC/manager.conf missing: mount the repository's asterisk_conf/ there"
cp "$SRC"/*.conf "$DST"/

# ${CTI_*} / ${PG*} placeholders from the environment; any other ${...} is Asterisk's own.
render() {
    awk '
    {
        out = ""; rest = $0
        while (match(rest, /\$\{(CTI_|PG)[A-Z0-9_]*\}/)) {
            name = substr(rest, RSTART + 2, RLENGTH - 3)
            if (!(name in ENVIRON) || ENVIRON[name] == "") {
                printf "asterisk-entrypoint: %s needs %s set\n", FILENAME, name > "/dev/stderr"; failed = 1; exit 2
            }
            out = out substr(rest, 1, RSTART - 1) ENVIRON[name]
            rest = substr(rest, RSTART + RLENGTH)
        }
        print out rest
    }
    END { if (failed) exit 2 }' "$1"
}
if [ -d "$SRC/realtime" ]; then
    for f in "$SRC"/realtime/*.conf; do
        [ -f "$f" ] || continue
        render "$f" > "$DST/$(basename "$f")"
    done
fi

# The AMI user: the site's secret, reachable from the CTI server's host only.
export CTI_HOST AMI_BINDADDR  # read through ENVIRON: awk -v would undo backslashes in a secret
awk '
    /^\[/ { section = $0 }
    section == "[general]" && /^bindaddr[ \t]*=/ { print "bindaddr = " ENVIRON["AMI_BINDADDR"]; next }
    section == "[cti]" && /^secret[ \t]*=/ { print "secret = " ENVIRON["CTI_AMI_SECRET"]; next }
    section == "[cti]" && /^permit[ \t]*=/ { print "permit = " ENVIRON["CTI_HOST"] "/255.255.255.255"; next }
    { print }' "$SRC/manager.conf" > "$DST/manager.conf"
chmod 0640 "$DST/manager.conf"

# The SIP transport on the address softphones and the carrier reach.
sed -i "s|^bind = 127\.0\.0\.1:5060\$|bind = $SIP_BINDADDR:5060|" "$DST/pjsip.conf"

if id asterisk >/dev/null 2>&1; then chown -R asterisk:asterisk "$DST"; fi
exec "$@"
