-- A user moving to another SCRAM salt and iteration count (auth.scramIterations changed while
-- they held live tokens). Tokens issued meanwhile carry a verifier for both; logins are offered
-- the new salt and count once no live token of the user lacks one (docs/scram-iterations.md).
create table scram_moves (
  username text primary key references users (name) on delete cascade,
  salt bytea not null,
  iterations integer not null check (iterations > 0)
);

create table scram_move_verifiers (
  jti uuid primary key references tokens (jti) on delete cascade,
  stored_key bytea not null,
  server_key bytea not null
);
