-- A person locked out of pgward for a while (docs/login.md: locks): new logins, sign-ins
-- and link approvals are refused on every gateway until locked_until, with the reason shown.
-- One row per person; an expired row is simply no lock. Unlock sets locked_until to now.
create table user_locks (
  username text primary key,
  locked_until timestamptz not null,
  reason text not null,
  locked_by text not null,
  locked_at timestamptz not null default now()
);
