-- A session admitted by an approved access request names it (docs/access-requests.md), so
-- the session list, the timeline and the request's page join on a column rather than on a
-- chain event's payload. Null for sessions admitted by a standing rule.
alter table sessions add column access_request uuid;
create index sessions_by_access_request on sessions (access_request) where access_request is not null;
