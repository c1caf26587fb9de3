#!/bin/sh
# Feeds an exported snippet through a real shell into an env var, then runs a command.
# usage: feed.sh FORMAT SNIPPET_FILE VAR PYTHON -- COMMAND...
# The deployment CLIs the snippets call (aws, gcloud, gh) are stubbed as shell
# functions that capture the value exactly as the real tool would receive it.
set -eu
format=$1 snippet=$2 var=$3 python=$4
shift 5
captured=$(mktemp)
trap 'rm -f "$captured"' EXIT

aws() {
  while [ $# -gt 0 ]; do
    if [ "$1" = --environment ]; then printf '%s' "$2" >"$captured"; fi
    shift
  done
}
gcloud() { if [ "$1" = secrets ]; then cat >"$captured"; fi; }
gh() { cat >"$captured"; }

yaml_value() {
  "$python" - "$snippet" "$var" "$1" <<'PY'
import sys, yaml
path, var, kind = sys.argv[1:]
docs = [d for d in yaml.safe_load_all(open(path)) if d]
if kind == "compose":
    (service,) = docs[0]["services"].values()
    value = service["environment"][var]
else:
    (secret,) = [d for d in docs if d.get("kind") == "Secret" and d.get("apiVersion") == "v1"]
    value = secret["stringData"][var]
sys.stdout.write(value)
PY
}

case $format in
  env) set -a; . "$snippet"; set +a ;;
  jwk | pem) value=$(cat "$snippet"); export "$var=$value" ;;
  compose | k8s) value=$(yaml_value "$format"); export "$var=$value" ;;
  lambda)
    . "$snippet"
    value=$("$python" -c 'import json,sys; sys.stdout.write(json.load(open(sys.argv[1]))["Variables"][sys.argv[2]])' "$captured" "$var")
    export "$var=$value"
    ;;
  cloudrun | github) . "$snippet"; value=$(cat "$captured"); export "$var=$value" ;;
  *) echo "unknown format $format" >&2; exit 2 ;;
esac
exec "$@"
