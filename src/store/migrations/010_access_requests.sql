-- Just-in-time access (docs/access-requests.md): a person asks for a requestable rule on one
-- target and database for a while; approvers decide; once approved it is a temporary grant
-- from decided_at to expires_at. Each request's steps are also a hash chain in
-- session_events (session_id = the request's id), whose head is kept here so that whichever
-- process takes the next step (CLI, console, a gateway at expiry) continues it under the
-- row's lock.
create table access_requests (
  id uuid primary key,
  created_at timestamptz not null default now(),
  requester text not null,
  requester_groups text[] not null default '{}',
  target text not null,
  database text not null,
  rule text not null,
  role text not null,
  duration_ms bigint not null check (duration_ms > 0),
  reason text,
  state text not null default 'pending'
    check (state in ('pending', 'approved', 'denied', 'cancelled', 'expired', 'revoked')),
  -- [{by, at, reason, breakGlass}], in order.
  approvals jsonb not null default '[]',
  needed integer not null check (needed > 0),
  decided_at timestamptz,
  decided_by text,
  decision_reason text,
  expires_at timestamptz,
  chain_head bytea,
  chain_length integer not null default 0
);
create index access_requests_open on access_requests (state, expires_at) where state in ('pending', 'approved');
create index access_requests_by_requester on access_requests (requester, created_at desc);

