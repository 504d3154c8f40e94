-- Contacts agents can work with: a phone number, notes, and the custom
-- attributes a workspace defines (shared by the pre-chat form and the panel).
ALTER TABLE contacts ADD COLUMN phone TEXT;

CREATE TABLE contact_notes (
    id            TEXT PRIMARY KEY,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id),
    contact_id    TEXT NOT NULL REFERENCES contacts(id),
    author_id     TEXT NOT NULL REFERENCES users(id),
    body          TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX contact_notes_contact ON contact_notes(contact_id, id);

CREATE TABLE attribute_definitions (
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id),
    key           TEXT NOT NULL,
    label         TEXT NOT NULL,
    kind          TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, key)
);
