-- Phones that register: the PJSIP realtime tables Asterisk 22 reads through sorcery
-- (asterisk_realtime/sorcery.conf, extconfig.conf, res_pgsql.conf) and the link from a person
-- to their SIP account. Column names and types follow Asterisk's own alembic schema
-- (contrib/ast-db-manage/config/versions) as of Asterisk 22; only a subset of the endpoint
-- columns is created (Asterisk reads the columns a table has and skips NULLs). The option
-- columns are plain text, not alembic's PostgreSQL enums: the values are Asterisk's
-- ('yes'/'no', 'true'/'false', 'info', ...), which Asterisk parses itself.

CREATE TABLE ps_endpoints (
    id                      varchar(255) PRIMARY KEY,
    transport               varchar(40),
    aors                    varchar(2048),
    auth                    varchar(255),
    context                 varchar(40),
    disallow                varchar(200),
    allow                   varchar(200),
    direct_media            varchar(5),
    force_rport             varchar(5),
    rewrite_contact         varchar(5),
    rtp_symmetric           varchar(5),
    send_connected_line     varchar(5),
    trust_connected_line    varchar(5),
    dtmf_mode               varchar(10),
    language                varchar(40),
    allow_subscribe         varchar(5),
    callerid                varchar(255),
    mailboxes               varchar(40),           -- res_pjsip_mwi looks endpoints up by it at start
    -- a WebRTC phone (webrtc = yes sets ICE, AVPF, DTLS-SRTP, rtcp_mux itself); NULL: a plain SIP phone
    webrtc                  varchar(5),
    media_encryption        varchar(4),
    dtls_auto_generate_cert varchar(5),
    dtls_cert_file          varchar(200),
    dtls_private_key        varchar(200),
    dtls_verify             varchar(40),
    dtls_setup              varchar(7),
    ice_support             varchar(5),
    use_avpf                varchar(5),
    rtcp_mux                varchar(5),
    media_use_received_transport varchar(5)
);

CREATE TABLE ps_auths (
    id              varchar(255) PRIMARY KEY,
    auth_type       varchar(12),           -- 'digest' (Asterisk 22; md5/userpass are its deprecated aliases)
    nonce_lifetime  integer,
    md5_cred        varchar(40),           -- md5(username:realm:secret): the secret itself is never stored
    password        varchar(80),           -- left NULL: never a plain password in the database
    realm           varchar(255),
    username        varchar(255)
);

CREATE TABLE ps_aors (
    id                    varchar(255) PRIMARY KEY,
    contact               varchar(255),
    default_expiration    integer,
    mailboxes             varchar(80),
    max_contacts          integer,
    minimum_expiration    integer,
    maximum_expiration    integer,
    remove_existing       varchar(5),
    remove_unavailable    varchar(5),
    qualify_frequency     integer,
    qualify_timeout       float,
    authenticate_qualify  varchar(5),
    support_path          varchar(5)
);

-- Dynamic contacts: Asterisk writes one row per registration (sorcery contact=realtime) with
-- every field of its contact object, so this table has all of them.
CREATE TABLE ps_contacts (
    id                    varchar(255) PRIMARY KEY,
    uri                   varchar(511),
    expiration_time       bigint,
    qualify_frequency     integer,
    outbound_proxy        varchar(255),
    path                  text,
    user_agent            varchar(255),
    qualify_timeout       float,
    reg_server            varchar(255),
    authenticate_qualify  varchar(5),
    via_addr              varchar(40),
    via_port              integer,
    call_id               varchar(255),
    endpoint              varchar(255),
    prune_on_boot         varchar(5),
    qualify_2xx_only      varchar(5),
    CONSTRAINT ps_contacts_uq UNIQUE (id, reg_server)
);
CREATE INDEX ps_contacts_endpoint ON ps_contacts (endpoint);

-- A person's SIP account: the endpoint (and its auth and AOR, same id) the CTI created for them.
-- A disabled person has none (their endpoint is removed; re-enabling makes a new secret).
CREATE TABLE agent_sip_accounts (
    agent_id        text PRIMARY KEY REFERENCES agents (id),
    endpoint        varchar(255) NOT NULL UNIQUE REFERENCES ps_endpoints (id) ON DELETE CASCADE,
    secret_set_at   timestamptz NOT NULL DEFAULT now()
);

-- Whoever mirrors the endpoints (the PBX simulator) is told when they change, whatever changed them.
CREATE FUNCTION ps_endpoints_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('ps_endpoints_changed', '');
    RETURN NULL;
END $$;
CREATE TRIGGER ps_endpoints_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON ps_endpoints
    FOR EACH STATEMENT EXECUTE FUNCTION ps_endpoints_notify();
