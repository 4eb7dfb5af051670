-- Identities known to the gateway. One SCRAM salt per user lets every live token of
-- that user share one exchange (the proof is checked against each token's verifier).
create table users (
  name text primary key,
  scram_salt bytea not null,
  scram_iterations integer not null check (scram_iterations > 0),
  created_at timestamptz not null default now()
);

create table tokens (
  jti uuid primary key,
  username text not null references users (name) on delete cascade,
  groups text[] not null default '{}',
  issued_at timestamptz not null default now(),
  expires_at timestamptz not null,
  revoked_at timestamptz,
  revoked_reason text,
  issued_by text not null,
  -- SCRAM-SHA-256 StoredKey and ServerKey for this token; the token itself is never stored.
  stored_key bytea not null,
  server_key bytea not null
);
create index tokens_live_by_user on tokens (username, expires_at) where revoked_at is null;

-- The gateway's JWT signing keys; the private half is sealed with the vault key.
create table signing_keys (
  kid text primary key,
  alg text not null,
  public_jwk jsonb not null,
  private_jwk_sealed bytea not null,
  created_at timestamptz not null default now(),
  retired_at timestamptz
);

-- Upstream credentials, envelope-encrypted; only sealed bytes ever reach this table.
create table vault_entries (
  target text not null,
  role text not null,
  sealed bytea not null,
  kek_id text not null,
  created_at timestamptz not null default now(),
  rotated_at timestamptz not null default now(),
  primary key (target, role)
);

create table sessions (
  id uuid primary key,
  gateway_id text not null,
  username text,
  groups text[] not null default '{}',
  token_jti uuid,
  client_addr text not null,
  client_port integer,
  target text,
  database text,
  upstream_role text,
  application_name text,
  tls_version text,
  tls_cipher text,
  alpn text,
  auth_method text,
  channel_binding boolean not null default false,
  started_at timestamptz not null,
  ready_at timestamptz,
  ended_at timestamptz,
  end_reason text,
  bytes_from_client bigint not null default 0,
  bytes_to_client bigint not null default 0,
  messages_from_client bigint not null default 0,
  rows_to_client bigint not null default 0,
  stage_ms jsonb not null default '{}'
);
create index sessions_by_user_time on sessions (username, started_at desc);
create index sessions_open on sessions (gateway_id) where ended_at is null;

-- Authentication outcomes with the real reason (the client only ever sees the generic text).
create table auth_events (
  id bigserial primary key,
  at timestamptz not null default now(),
  gateway_id text not null,
  session_id uuid,
  username text,
  client_addr text,
  method text,
  outcome text not null check (outcome in ('success', 'failure')),
  reason text
);
create index auth_events_by_time on auth_events (at desc);
