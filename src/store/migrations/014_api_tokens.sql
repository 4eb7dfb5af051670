-- API tokens for the console API (docs/api-tokens.md): automation and remote admins call the
-- API with `Authorization: Bearer pgw_...` instead of holding the store URL and vault key.
-- Only a SHA-256 of the token is kept; the token is shown once, when it is made.
create table api_tokens (
  id uuid primary key,
  name text not null unique,
  -- The console roles the token acts with: admin, auditor (never developer: no person).
  scopes text[] not null check (scopes <@ array['admin', 'auditor']::text[] and cardinality(scopes) > 0),
  token_hash bytea not null unique,
  created_by text not null,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  revoked_at timestamptz,
  revoked_by text,
  last_used_at timestamptz,
  last_used_from text
);
