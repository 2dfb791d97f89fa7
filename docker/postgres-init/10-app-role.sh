#!/bin/sh
# Run once by the postgres image, when it initialises an empty data directory: the role that the
# web server and celery beat connect as. It owns nothing; its rights on the tables are set by
# `manage.py grant_app_role portal_app` after every migrate (the compose file's migrate service).
# On an existing database run the same CREATE ROLE once by hand (README.md, Running in production).
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v app_password="${PORTAL_APP_PASSWORD:?set PORTAL_APP_PASSWORD}" <<'SQL'
CREATE ROLE portal_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'app_password';
SQL
