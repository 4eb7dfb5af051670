-- Tamper evidence against those who can write to this store (issue 14, finding 3): each event
-- carries an HMAC-SHA-256 of its hash under a key derived from the vault key, which the store
-- never holds (null for events written before this migration; its applied_at in
-- pgward_migrations is when keyed chains began). Checkpoints of every chain's head are signed
-- and kept outside the store.
alter table session_events add column mac bytea;

-- The event exactly as hashed (its canonical JSON body), kept only when the payload or the
-- username holds what jsonb and text cannot (U+0000, an unpaired surrogate): the payload and
-- username columns then hold a searchable copy with those characters replaced (finding 2).
alter table session_events add column exact_body text;
