-- The search tokens changed (docs/search.md): a Chinese run next to a word
-- also has its edge character alone at that edge, and a gap token stands
-- between the parts of a document that are not adjacent. Every existing row
-- is indexed again by the store right after migrating, newest first, in
-- batches that replace their rows in place (as `kefu search reindex` does):
-- a row is found by its old tokens until its batch is done.
INSERT INTO search_backfill (name, below, inclusive)
SELECT 'messages', MAX(id), 1 FROM messages HAVING COUNT(*) > 0
ON CONFLICT (name) DO UPDATE SET below = EXCLUDED.below, inclusive = 1;
INSERT INTO search_backfill (name, below, inclusive)
SELECT 'contacts', MAX(id), 1 FROM contacts HAVING COUNT(*) > 0
ON CONFLICT (name) DO UPDATE SET below = EXCLUDED.below, inclusive = 1;
