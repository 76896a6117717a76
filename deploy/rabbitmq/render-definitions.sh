#!/bin/sh
# Entrypoint wrapper of the rabbitmq container: fills the passwords from the environment into
# definitions.json (they never live in the repository), then starts the broker as usual.
set -eu
template=${YLH_DEFINITIONS_TEMPLATE:-/etc/yuelihui/definitions.template.json}
target=${YLH_DEFINITIONS_TARGET:-/tmp/yuelihui-definitions.json}
umask 077
cp "$template" "$target.new"
for user in REGISTRY MEETINGS PETITIONS SUPERVISION NOTIFY GATEWAY OPS; do
    eval "password=\${${user}_AMQP_PASSWORD:-}"
    if [ -z "$password" ]; then
        echo "render-definitions: ${user}_AMQP_PASSWORD is not set" >&2
        exit 1
    fi
    case "$password" in
        *[!A-Za-z0-9_-]*) echo "render-definitions: ${user}_AMQP_PASSWORD: use letters, digits, - and _ only" >&2
                          exit 1 ;;
    esac
    sed -i "s/@${user}_AMQP_PASSWORD@/${password}/" "$target.new"
done
mv "$target.new" "$target"
if [ "$(id -u)" = 0 ] && id rabbitmq >/dev/null 2>&1; then chown rabbitmq:rabbitmq "$target"; fi
exec docker-entrypoint.sh "$@"
