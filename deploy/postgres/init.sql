-- The compose Postgres: the control-plane database and the demo upstream with its roles.
-- Role passwords are set from the environment by init.sh; pgward keeps them in its vault.
create database pgward;
create database demo;
