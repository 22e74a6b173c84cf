#!/bin/sh
# leadrouter SERVICE [migrate]: serve one service, or apply its migrations.
set -eu
service="${1:-${SERVICE:-intake}}"
case "$service" in
  intake) module=intake ;;
  router) module=lead_router ;;
  sla-monitor) module=sla_monitor ;;
  *) echo "Unknown service '$service'; use intake, router or sla-monitor." >&2; exit 2 ;;
esac
shift || true
export SERVICE="$service"
exec python -m "$module" "$@"
