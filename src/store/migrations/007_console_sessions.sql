-- Console sign-ins, held on the server. The browser's cookie carries a random id (and the
-- token for the connect page, sealed with the vault key); only the id's SHA-256 is kept here,
-- so a reader of the store cannot present a session. A session is live while it has not
-- ended, has not expired and its token is neither revoked nor expired: every gateway reads
-- this row on each console request, so a sign-out or a revocation ends it everywhere at once.
create table console_sessions (
  id_hash bytea primary key,
  username text not null,
  email text,
  -- The groups read from the identity provider at sign-in (or at the last re-sign-in).
  groups text[] not null,
  groups_read_at timestamptz not null default now(),
  token_jti uuid not null references tokens (jti) on delete cascade,
  csrf text not null,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  ended_at timestamptz,
  ended_reason text
);
create index console_sessions_by_token on console_sessions (token_jti);
create index console_sessions_live_by_user on console_sessions (username) where ended_at is null;
