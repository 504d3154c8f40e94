-- Web Push: the browsers an agent enabled notifications in. Each row is a
-- browser's PushSubscription: the push service URL kefu POSTs to (a
-- capability: whoever knows it can push to that browser, so it is unique
-- and never shown to anyone but its owner) and the keys the payload is
-- encrypted to (RFC 8291).
CREATE TABLE push_subscriptions (
    id               TEXT PRIMARY KEY,
    workspace_id     TEXT NOT NULL REFERENCES workspaces(id),
    user_id          TEXT NOT NULL REFERENCES users(id),
    endpoint         TEXT NOT NULL UNIQUE,
    -- base64url: the browser's P-256 public key (65 bytes) and auth secret (16 bytes).
    p256dh           TEXT NOT NULL,
    auth             TEXT NOT NULL,
    user_agent       TEXT,
    -- The login session of the browser that subscribed: once it ends
    -- (logout, password reset, expiry), that browser gets no more pushes.
    session_id       TEXT,
    created_at       BIGINT NOT NULL,
    last_success_at  BIGINT,
    -- Failed notifications in a row; many means the browser is gone.
    failures         BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX push_subscriptions_user ON push_subscriptions(workspace_id, user_id, created_at);
