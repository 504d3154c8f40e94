-- The closing message per language, like the CSAT question: `closing_message`
-- is now the English text (also what a visitor of another language gets) and
-- `closing_message_zh` the Chinese one. An inbox that still had the old
-- bilingual default gets each half in its own language; a custom message
-- (or an empty one, "say nothing") is kept as it was, in both languages, so
-- no visitor is told something other than what the admin wrote.
ALTER TABLE inboxes ADD COLUMN closing_message_zh TEXT NOT NULL DEFAULT '本次会话已结束，如需帮助请随时留言。';
UPDATE inboxes SET closing_message_zh = closing_message
    WHERE closing_message <> 'This conversation has been resolved. Write again any time if you need more help. 本次会话已结束，如需帮助请随时留言。';
UPDATE inboxes SET closing_message = 'This conversation has been resolved. Write again any time if you need more help.'
    WHERE closing_message = 'This conversation has been resolved. Write again any time if you need more help. 本次会话已结束，如需帮助请随时留言。';
