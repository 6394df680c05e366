#!/bin/sh
# Lays out /etc/asterisk for a site at each start, then runs Asterisk.
#
# The repository's asterisk_conf/ is mounted read-only at /srv/asterisk_conf and
# asterisk_realtime/ at /srv/asterisk_realtime. Nothing secret is in those files:
#   - asterisk_conf/'s top-level files are copied, less pjsip.conf's lab phones (LAB_PHONES:
#     fixed contacts and no authentication, so anyone reaching SIP could call as them);
#   - asterisk_realtime/render.sh writes the PJSIP realtime files (people's phones from
#     PostgreSQL) from PGHOST, PGPORT, PGDATABASE, PGUSER; libpq reads PGPASSWORD itself;
#   - manager.conf: the AMI secret becomes CTI_AMI_SECRET, AMI listens on AMI_BINDADDR
#     (127.0.0.1 when the CTI server is on this host) and its user 'cti' is permitted
#     from CTI_HOST only (the CTI server's address; everything else is denied);
#   - pjsip.conf: the SIP transport binds SIP_BINDADDR (the address softphones reach);
#   - http.conf (the browser phones' websocket), when the site's certificate is mounted at
#     /srv/tls (fullchain.pem, privkey.pem): TLS on WSS_BINDADDR:8089 with it.
set -eu

SRC="${ASTERISK_CONF_SRC:-/srv/asterisk_conf}"  # the three overridable for the tests
REALTIME="${ASTERISK_REALTIME_SRC:-/srv/asterisk_realtime}"
TLS="${ASTERISK_TLS_SRC:-/srv/tls}"
DST="${ASTERISK_CONF_DST:-/etc/asterisk}"
fail() { echo "asterisk-entrypoint: $*" >&2; exit 2; }

: "${CTI_AMI_SECRET:?set CTI_AMI_SECRET (the AMI secret the CTI server logs in with)}"
CTI_HOST="${CTI_HOST:-127.0.0.1}"
AMI_BINDADDR="${AMI_BINDADDR:-127.0.0.1}"
SIP_BINDADDR="${SIP_BINDADDR:-0.0.0.0}"
LAB_PHONES="${LAB_PHONES-1001 1002 1003 1900}"
for value in "$CTI_AMI_SECRET" "$CTI_HOST" "$AMI_BINDADDR" "$SIP_BINDADDR"; do
    case "$value" in *[\;\"\'[:space:]]*) fail "CTI_AMI_SECRET, CTI_HOST, AMI_BINDADDR, SIP_BINDADDR: no spaces, quotes or ';'";; esac
done

[ -f "$SRC/manager.conf" ] || fail "$SRC/manager.conf missing: mount the repository's asterisk_conf/ there"
cp "$SRC"/*.conf "$DST"/

[ -f "$REALTIME/render.sh" ] || fail "$REALTIME/render.sh missing: mount the repository's asterisk_realtime/ there"
sh "$REALTIME/render.sh" "$DST"

# pjsip.conf without the lab's fixed phones (their endpoint and AOR sections)
export LAB_PHONES
awk '
    BEGIN { n = split(ENVIRON["LAB_PHONES"], names, " "); for (i = 1; i <= n; i++) lab["[" names[i] "]"] = 1 }
    /^\[/ { name = $0; sub(/\].*/, "]", name); skip = (name in lab) }
    !skip { print }' "$SRC/pjsip.conf" > "$DST/pjsip.conf"

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

# The browser phones' secure websocket (wss://host:8089/ws) with the site's certificate.
if [ -f "$DST/http.conf" ] && [ -f "$TLS/fullchain.pem" ] && [ -f "$TLS/privkey.pem" ]; then
    mkdir -p "$DST/keys"
    cp "$TLS/fullchain.pem" "$TLS/privkey.pem" "$DST/keys/"
    chmod 0600 "$DST/keys/privkey.pem"
    WSS_BINDADDR="${WSS_BINDADDR:-0.0.0.0}" KEYS="$DST/keys" awk '
        /^\[/ { section = $0 }
        section == "[general]" && /^(tlsenable|tlsbindaddr|tlscertfile|tlsprivatekey)[ \t]*=/ { next }
        { print }
        $0 == "[general]" {
            print "tlsenable = yes"
            print "tlsbindaddr = " ENVIRON["WSS_BINDADDR"] ":8089"
            print "tlscertfile = " ENVIRON["KEYS"] "/fullchain.pem"
            print "tlsprivatekey = " ENVIRON["KEYS"] "/privkey.pem"
        }' "$SRC/http.conf" > "$DST/http.conf"
fi

if id asterisk >/dev/null 2>&1; then chown -R asterisk:asterisk "$DST"; fi
exec "$@"
