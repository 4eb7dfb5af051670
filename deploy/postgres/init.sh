#!/bin/sh
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" <<SQL
create role demo_app login password '${DEMO_APP_PASSWORD}';
create role demo_ro login password '${DEMO_RO_PASSWORD}';
alter database demo owner to demo_app;
grant connect on database demo to demo_ro;
grant pg_read_all_data to demo_ro;
SQL
