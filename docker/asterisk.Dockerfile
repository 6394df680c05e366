# Asterisk 22 for a site: Alpine's packages, with the PostgreSQL realtime driver
# (res_config_pgsql: agents' PJSIP accounts read from the CTI's database) and SRTP
# (DTLS-SRTP of the panel's browser phones). The configuration is not baked in: the
# repository's asterisk_conf/ is mounted read-only and laid out at each start by
# asterisk-entrypoint.sh, which fills in the site's secrets and addresses from the
# environment (see docker-compose.yml).
FROM alpine:3.24

RUN apk add --no-cache asterisk asterisk-pgsql asterisk-srtp asterisk-sounds-en asterisk-sounds-moh tini \
    && mkdir -p /var/spool/asterisk/monitor /var/spool/asterisk/voicemail \
    && chown -R asterisk:asterisk /var/spool/asterisk /var/lib/asterisk /var/log/asterisk /var/run/asterisk /etc/asterisk

COPY docker/asterisk-entrypoint.sh /usr/local/bin/asterisk-entrypoint.sh

# recordings (monitor/) and voicemail (voicemail/): a named volume the CTI server reads too
VOLUME ["/var/spool/asterisk"]

ENTRYPOINT ["/sbin/tini", "--", "/usr/local/bin/asterisk-entrypoint.sh"]
# foreground, as the asterisk user, console-less
CMD ["asterisk", "-f", "-U", "asterisk", "-G", "asterisk"]
