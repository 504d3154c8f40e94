-- Incoming business events (POST /api/v1/events): what a company's own
-- systems tell kefu about a contact ("order 6610 refunded"), the signing
-- secret for requests signed instead of sent with an API key, and scopes
-- for API keys.

CREATE TABLE contact_events (
    id               TEXT PRIMARY KEY,
    workspace_id     TEXT NOT NULL REFERENCES workspaces(id),
    contact_id       TEXT NOT NULL REFERENCES contacts(id),
    event_type       TEXT NOT NULL,
    title            TEXT NOT NULL,
    data             TEXT NOT NULL,
    -- When it happened in the sender's system (epoch ms); created_at is when kefu stored it.
    occurred_at      INTEGER NOT NULL,
    -- `api_key:<id>` or `signed`.
    source           TEXT NOT NULL,
    -- The body's `id`, the Idempotency-Key header or the webhook-id: a
    -- retried POST is stored once. NULL (no key given) never conflicts.
    idempotency_key  TEXT,
    created_at       INTEGER NOT NULL
);
CREATE UNIQUE INDEX contact_events_idempotency ON contact_events(workspace_id, idempotency_key);
-- A contact's events newest first (the console, GET /contacts/{id}/events).
CREATE INDEX contact_events_contact ON contact_events(contact_id, id);
-- The types of a contact's recent events (routing's customer.recent_events).
CREATE INDEX contact_events_recent ON contact_events(contact_id, occurred_at);

-- Events name their contact by external id or e-mail (any case).
CREATE INDEX contacts_external_id ON contacts(workspace_id, external_id);
CREATE INDEX contacts_email_lower ON contacts(workspace_id, lower(email));

-- One inbound signing secret per workspace (`whsec_…`, Standard Webhooks).
-- Kept as is: verifying an HMAC needs the key itself. After a rotation the
-- previous secret still verifies until previous_until, so senders can switch.
CREATE TABLE inbound_secrets (
    workspace_id     TEXT PRIMARY KEY REFERENCES workspaces(id),
    secret           TEXT NOT NULL,
    prefix           TEXT NOT NULL,
    previous_secret  TEXT,
    previous_until   INTEGER,
    created_at       INTEGER NOT NULL
);

-- API keys gain scopes (a JSON list). Until now a key had an admin's rights
-- in its workspace, so existing keys get every scope that covers what they
-- could do: conversations:read, conversations:write, messages:write,
-- contacts:read, settings:read and admin. Not events:write: posting
-- business events is new, and no existing key gains it silently.
ALTER TABLE api_keys ADD COLUMN scopes TEXT NOT NULL DEFAULT '[]';
UPDATE api_keys SET scopes = '["conversations:read","conversations:write","messages:write","contacts:read","settings:read","admin"]';
