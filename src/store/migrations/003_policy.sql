-- Every version of the access policies: the documents as written, who changed them, when,
-- and the diff from the version before. The newest version is the one in force.
create table policy_versions (
  id bigserial primary key,
  created_at timestamptz not null default now(),
  author text not null,
  source text not null check (source in ('files', 'console', 'rollback', 'cli')),
  documents jsonb not null,
  digest text not null,
  diff text not null default '',
  comment text
);

-- Which rule and version let each session in, and the session rules that applied.
alter table sessions
  add column policy_rule text,
  add column policy_version bigint,
  add column read_only boolean not null default false;
