-- A signed-in person opened a sign-in link's page: the connection waiting on it may then wait
-- the link's whole lifetime (auth.linkTtl) instead of the normal authentication timeout.
alter table login_links add column opened_at timestamptz;

-- `pgward token revoke --user NAME` also covers what no token row backs: JWTs of external
-- issuers (workload identity) issued at or before revoked_at are refused from then on.
create table user_revocations (
  username text primary key,
  revoked_at timestamptz not null,
  reason text
);
