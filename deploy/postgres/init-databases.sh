#!/bin/sh
# PostgreSQL init script (runs once, on an empty data directory, as the postgres superuser):
# one login role and one database per Yuelihui process; each role owns only its database and
# no other role may connect to it. Passwords come from <NAME>_DB_PASSWORD.
set -eu
for name in ${YLH_DATABASES:-registry meetings petitions supervision notify gateway}; do
    upper=$(echo "$name" | tr '[:lower:]' '[:upper:]')
    eval "password=\${${upper}_DB_PASSWORD:-}"
    if [ -z "$password" ]; then
        echo "init-databases: ${upper}_DB_PASSWORD is not set" >&2
        exit 1
    fi
    psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname postgres \
         -v name="$name" -v password="$password" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', :'name', :'password')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'name') \gexec
SELECT format('CREATE DATABASE %I OWNER %I ENCODING %L TEMPLATE template0', :'name', :'name', 'UTF8')
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'name') \gexec
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'name') \gexec
SELECT format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO %I', :'name', :'name') \gexec
SQL
    # PostgreSQL 15+: the public schema belongs to the database owner only
    psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname "$name" \
         -v name="$name" <<'SQL'
SELECT format('ALTER SCHEMA public OWNER TO %I', :'name') \gexec
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
SQL
    echo "init-databases: database $name ready"
done
