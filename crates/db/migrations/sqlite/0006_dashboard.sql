-- The dashboard's people and sessions, and the buyers' tracking links.
-- Passwords are argon2id PHC strings; sessions and one-time login links are random secrets
-- kept only as their SHA-256 (looked up by it, like API tokens).

CREATE TABLE dashboard_users (
    name           TEXT NOT NULL PRIMARY KEY,
    password_hash  TEXT NOT NULL,
    created_at     TEXT NOT NULL
);

CREATE TABLE sessions (
    hash        BLOB NOT NULL PRIMARY KEY,
    user_name   TEXT NOT NULL,
    -- Sent back with every form and htmx POST of this session.
    csrf        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);

CREATE TABLE login_links (
    hash        BLOB NOT NULL PRIMARY KEY,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    used_at     TEXT
);

-- Made when a posting's buyer page is first shared; unguessable, never reused.
ALTER TABLE postings ADD COLUMN buyer_token TEXT;
CREATE UNIQUE INDEX postings_buyer_token ON postings (buyer_token);
