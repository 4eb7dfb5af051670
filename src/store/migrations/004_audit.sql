-- Everything that happened in a session, in order, hash-chained per session: each event
-- carries the hash of the one before, so a removed, changed or reordered event shows.
create table session_events (
  session_id uuid not null,
  seq integer not null,
  at timestamptz not null,
  kind text not null,
  username text,
  payload jsonb not null,
  prev_hash bytea not null,
  hash bytea not null,
  primary key (session_id, seq)
);
create index session_events_by_time on session_events (at);
create index session_events_by_user_time on session_events (username, at);

alter table sessions
  add column statements bigint not null default 0,
  add column anomalies integer not null default 0,
  add column chain_head bytea,
  add column chain_length integer not null default 0;

-- Per-identity behaviour, so baselines survive restarts and are shared by gateways.
create table baselines (
  username text primary key,
  updated_at timestamptz not null default now(),
  state jsonb not null
);

-- Changes made to the record itself (retention deletes), kept where auditors look.
create table admin_events (
  id bigserial primary key,
  at timestamptz not null default now(),
  actor text not null,
  action text not null,
  detail jsonb not null default '{}'
);

-- Anomalies, for alerting and the console; each also appears in its session's chain.
create table anomalies (
  id bigserial primary key,
  at timestamptz not null default now(),
  session_id uuid,
  username text,
  kind text not null,
  severity text not null,
  action text not null,
  detail jsonb not null default '{}'
);
create index anomalies_by_time on anomalies (at desc);
