-- One-time sign-in links for psql sessions that arrive without a token. Only a hash of
-- the link secret is kept: the secret lives in the URL shown to the client.
create table login_links (
  id_hash bytea primary key,
  username text not null,
  client_addr text,
  database text,
  gateway_id text not null,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  approved_at timestamptz,
  approved_groups text[],
  refused_at timestamptz,
  used_at timestamptz
);

-- CLI sign-in: the loopback redirect's one-time code, or a device-flow grant.
create table cli_grants (
  code_hash bytea primary key,
  kind text not null check (kind in ('loopback', 'device')),
  user_code text unique,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  approved_user text,
  approved_groups text[],
  token_sealed bytea,
  redeemed_at timestamptz
);
