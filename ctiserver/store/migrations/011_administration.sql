-- Administration of people and queues: a person is never deleted (work orders keep their
-- people), only disabled; each row carries a version for optimistic concurrency; every
-- change an admin makes is audited (before/after, never a password).

ALTER TABLE agents DROP CONSTRAINT IF EXISTS agents_role_check;
ALTER TABLE agents ADD CONSTRAINT agents_role_check
    CHECK (role IN ('agent', 'supervisor', 'admin', 'handler'));
ALTER TABLE agents
    ADD COLUMN disabled              boolean NOT NULL DEFAULT false,
    ADD COLUMN department            text NOT NULL DEFAULT '',     -- back-office handlers' department
    ADD COLUMN must_change_password  boolean NOT NULL DEFAULT false,
    ADD COLUMN version               integer NOT NULL DEFAULT 1,
    ADD COLUMN updated_at            timestamptz NOT NULL DEFAULT now();

-- One active person per phone endpoint (a disabled one frees it).
CREATE UNIQUE INDEX agents_interface_active ON agents (interface) WHERE interface <> '' AND NOT disabled;

-- Queues the CTI owns and their settings.
CREATE TABLE admin_queues (
    name                   text PRIMARY KEY,
    wrapup_seconds         integer NOT NULL CHECK (wrapup_seconds BETWEEN 0 AND 3600),
    service_level_seconds  integer NOT NULL CHECK (service_level_seconds BETWEEN 1 AND 3600),
    recording              boolean NOT NULL DEFAULT false,
    version                integer NOT NULL DEFAULT 1,
    updated_at             timestamptz NOT NULL DEFAULT now()
);

-- Busy (pause) reasons agents pick from.
CREATE TABLE admin_busy_reasons (
    reason      text PRIMARY KEY,
    disabled    boolean NOT NULL DEFAULT false,
    version     integer NOT NULL DEFAULT 1
);

CREATE TABLE admin_audit (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    actor       text NOT NULL,             -- the admin's agent id, or 'cli'
    action      text NOT NULL,             -- person.create, person.update, person.disable, ...
    target      text NOT NULL,             -- login, queue name or busy reason
    before      jsonb,
    after       jsonb
);
CREATE INDEX admin_audit_at ON admin_audit (at DESC);
