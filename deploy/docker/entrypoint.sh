#!/bin/sh
# The image's entrypoint: one argument chooses the process.
set -eu

# the installed package holds each service's config.yaml; nameko reads it by relative path
site=$(python -c 'import pathlib, services; print(pathlib.Path(services.__file__).resolve().parent.parent)')

run() {  # run <config.yaml path> <module:Class>
    cd "$site"
    exec nameko run --config "$1" "$2"
}

case "${1:-}" in
    registry)    run services/registry/config.yaml services.registry.service:RegistryService ;;
    meetings)    run services/meetings/config.yaml services.meetings.service:MeetingsService ;;
    petitions)   run services/petitions/config.yaml services.petitions.service:PetitionsService ;;
    supervision) run services/supervision/config.yaml services.supervision.service:SupervisionService ;;
    notify)      run services/notify/config.yaml services.notify.service:NotifyService ;;
    gateway)     run gateway/config.yaml gateway.service:GatewayService ;;
    migrate)
        # before any service starts: every schema at head, then every subscription queue
        yuelihui check-broker
        yuelihui migrate
        exec yuelihui declare ;;
    yuelihui)    shift; exec yuelihui "$@" ;;
    *)
        echo "usage: registry|meetings|petitions|supervision|notify|gateway|migrate|yuelihui ARGS" >&2
        exit 64 ;;
esac
