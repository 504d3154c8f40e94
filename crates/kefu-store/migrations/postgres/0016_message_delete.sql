-- An agent may take back their own message for a short while: the text is
-- gone for everyone, the audit (the message_deleted event) keeps it.
ALTER TABLE messages ADD COLUMN deleted_at BIGINT;
