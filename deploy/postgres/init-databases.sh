#!/usr/bin/env bash
# Réseau COOP — PostgreSQL roles and databases, one per service, plus a read-only BI role.
#
# The official postgres image runs this once, on an empty data directory, from
# /docker-entrypoint-initdb.d/ (docker-compose.yml mounts it there). It can also be run by
# hand against any server as a superuser: set PGHOST/PGPORT/PGPASSWORD as for psql.
#
# Environment (passwords come from .env, see .env.example — never write them here):
#   COOP_MEMBERSHIP_DB_PASSWORD, COOP_EVENTS_DB_PASSWORD, COOP_AMBASSADORS_DB_PASSWORD,
#   COOP_REPORTING_DB_PASSWORD   each service's role
#   COOP_PARTNERSHIPS_DB_PASSWORD
#   COOP_CONSOLE_DB_PASSWORD     (the console keeps its sign-in sessions only)
#   COOP_BI_DB_PASSWORD          the read-only role for BI tools (Grafana, Metabase, Superset)
#   COOP_DB_NAME_PREFIX          prefix of every role and database (default: coop)
#   POSTGRES_USER, POSTGRES_DB   the superuser and its database (set by the postgres image)
#
# What it creates (with the default prefix):
#   roles coop_membership, coop_events, coop_ambassadors, coop_reporting (LOGIN, no superuser),
#   each owning its database of the same name, which nobody else may connect to;
#   role coop_bi (LOGIN, read-only transactions) that may connect to coop_reporting only and
#   SELECT what coop_reporting creates in its public schema. The reporting service creates its
#   tables and re-creates its BI views (reporting_v_*) at every start, so the grant is a
#   default privilege on coop_reporting's future tables and views, not a one-off GRANT.
#   The reporting database holds no personal information (contract §6).
set -eo pipefail  # no -u: the postgres image may source this file instead of running it

prefix="${COOP_DB_NAME_PREFIX:-coop}"
if [[ ! "$prefix" =~ ^[a-z_][a-z0-9_]*$ ]]; then
  echo "COOP_DB_NAME_PREFIX must be a lowercase SQL identifier, not '$prefix'" >&2
  exit 1
fi

psql_admin=(psql -v ON_ERROR_STOP=1 -X -q --username "${POSTGRES_USER:-postgres}")
admin_db="${POSTGRES_DB:-postgres}"

create_service_database() {
  local service="$1" password="$2"
  local name="${prefix}_${service}"
  # Role and database, created only when missing (the script may run again by hand).
  "${psql_admin[@]}" --dbname "$admin_db" -v name="$name" -v password="$password" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD %L',
              :'name', :'password')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'name') \gexec
SELECT format('ALTER ROLE %I PASSWORD %L', :'name', :'password') \gexec
SELECT format('CREATE DATABASE %I OWNER %I ENCODING %L TEMPLATE template0',
              :'name', :'name', 'UTF8')
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'name') \gexec
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'name') \gexec
SELECT format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO %I', :'name', :'name') \gexec
SQL
  # PostgreSQL 15+ already keeps the public schema to its database's owner; older servers
  # let every role create there, which the owner is the only one that should.
  "${psql_admin[@]}" --dbname "$name" -v name="$name" <<'SQL'
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
SELECT format('GRANT ALL ON SCHEMA public TO %I', :'name') \gexec
SQL
}

create_service_database membership "${COOP_MEMBERSHIP_DB_PASSWORD:?COOP_MEMBERSHIP_DB_PASSWORD is required}"
create_service_database events "${COOP_EVENTS_DB_PASSWORD:?COOP_EVENTS_DB_PASSWORD is required}"
create_service_database ambassadors "${COOP_AMBASSADORS_DB_PASSWORD:?COOP_AMBASSADORS_DB_PASSWORD is required}"
create_service_database reporting "${COOP_REPORTING_DB_PASSWORD:?COOP_REPORTING_DB_PASSWORD is required}"
create_service_database partnerships "${COOP_PARTNERSHIPS_DB_PASSWORD:?COOP_PARTNERSHIPS_DB_PASSWORD is required}"
create_service_database console "${COOP_CONSOLE_DB_PASSWORD:?COOP_CONSOLE_DB_PASSWORD is required}"

bi="${prefix}_bi"
reporting="${prefix}_reporting"
"${psql_admin[@]}" --dbname "$admin_db" -v name="$bi" -v reporting="$reporting" \
  -v password="${COOP_BI_DB_PASSWORD:?COOP_BI_DB_PASSWORD is required}" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT PASSWORD %L',
              :'name', :'password')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'name') \gexec
SELECT format('ALTER ROLE %I PASSWORD %L', :'name', :'password') \gexec
SELECT format('ALTER ROLE %I SET default_transaction_read_only = on', :'name') \gexec
SELECT format('ALTER ROLE %I CONNECTION LIMIT 20', :'name') \gexec
SELECT format('GRANT CONNECT ON DATABASE %I TO %I', :'reporting', :'name') \gexec
SQL
"${psql_admin[@]}" --dbname "$reporting" -v name="$bi" -v reporting="$reporting" <<'SQL'
SELECT format('GRANT USAGE ON SCHEMA public TO %I', :'name') \gexec
-- Whatever the reporting service has created already (a re-run on a live server) ...
SELECT format('GRANT SELECT ON ALL TABLES IN SCHEMA public TO %I', :'name') \gexec
-- ... and every table and view it creates from now on, its BI views included.
SELECT format('ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA public GRANT SELECT ON TABLES TO %I',
              :'reporting', :'name') \gexec
SQL

echo "Réseau COOP: databases ${prefix}_{membership,events,ambassadors,reporting} and role ${bi} are ready"
