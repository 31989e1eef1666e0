-- Who sees what (roles and store scopes for dashboard users and API tokens), a store's life
-- (paused stores are neither synced nor tracked) and the audit trail of every write.
--
-- A grant covers every store only when it says so (all_stores); otherwise exactly the stores
-- listed, so a grant whose stores are all removed covers nothing, never everything. What was
-- there keeps what it could do: users were the operator's (admin of every store); a token
-- without stores saw every store, a read-only one becomes a viewer, the others admins.

ALTER TABLE dashboard_users ADD COLUMN role TEXT NOT NULL DEFAULT 'admin';
ALTER TABLE dashboard_users ADD COLUMN all_stores BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE dashboard_users ADD COLUMN disabled_at TIMESTAMPTZ;

CREATE TABLE dashboard_user_stores (
    user_name  TEXT    NOT NULL REFERENCES dashboard_users (name) ON DELETE CASCADE,
    store_id   BIGINT NOT NULL REFERENCES stores (id) ON DELETE CASCADE,
    PRIMARY KEY (user_name, store_id)
);

ALTER TABLE api_tokens ADD COLUMN role TEXT NOT NULL DEFAULT 'admin';
UPDATE api_tokens SET role = 'viewer' WHERE read_only <> 0;
ALTER TABLE api_tokens ADD COLUMN all_stores BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE api_tokens SET all_stores = TRUE
    WHERE NOT EXISTS (SELECT 1 FROM api_token_stores s WHERE s.token_id = api_tokens.id);
ALTER TABLE api_tokens DROP COLUMN read_only;

-- A one-time login link signs in as this user; none: as the installation's operator.
ALTER TABLE login_links ADD COLUMN user_name TEXT;

ALTER TABLE stores ADD COLUMN paused_at TIMESTAMPTZ;

-- Who did what. No foreign keys: the trail outlives what it names (a removed store keeps its
-- entries, with the name it had). The action is a code, the words come from the catalogue;
-- detail holds the values changed, as JSON.
CREATE TABLE audit_log (
    id              BIGSERIAL PRIMARY KEY,
    at              TIMESTAMPTZ NOT NULL,
    actor           TEXT    NOT NULL,
    action          TEXT    NOT NULL,
    store_id        BIGINT,
    store_name      TEXT,
    posting_number  TEXT,
    subject         TEXT,
    detail          TEXT
);
CREATE INDEX audit_log_store ON audit_log (store_id, id);
