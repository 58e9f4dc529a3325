#!/usr/bin/env bash
# The Terraform deployment's deploy.sh verbs, as a thin shell over automl-cfn.
#
#   ENV=prod scripts/deploy.sh full      templates, deploy (first time), build and push, deploy the new tag, upload
#   scripts/deploy.sh build              build and push the images (tag: git short SHA)
#   scripts/deploy.sh upload             sync data/ to the bucket (*.pkl excluded, as in the seed)
#   scripts/deploy.sh optimize|train|predict   run that task and wait for it
#   scripts/deploy.sh pipeline           start the Step Functions pipeline and follow it
#   scripts/deploy.sh outputs            outputs and quick-start commands
#   scripts/deploy.sh logs [SERVICE]     tail a service's logs (default: optimize)
#   scripts/deploy.sh destroy            delete the stacks; data is kept
#
# ENV picks config/$ENV.yaml (default dev). Extra arguments go to automl-cfn.
set -euo pipefail
cd "$(dirname "$0")/.."

ENV="${ENV:-dev}"
CLI="${AUTOML_CFN:-}"
if [ -z "$CLI" ]; then
  if [ -x .venv/bin/automl-cfn ]; then CLI=.venv/bin/automl-cfn; else CLI=automl-cfn; fi
fi
verb="${1:-}"
[ $# -gt 0 ] && shift

case "$verb" in
  full)
    make templates
    # The repositories must exist before the first push; after that the one deploy below
    # carries the new tag and any other change (a plain deploy would undo the last tag).
    "$CLI" status --env "$ENV" >/dev/null 2>&1 || "$CLI" deploy --env "$ENV" --yes "$@"
    tag="$(git rev-parse --short HEAD)"
    "$CLI" build --env "$ENV" --tag "$tag" --push
    "$CLI" deploy --env "$ENV" --yes --var "image_tag=$tag" "$@"
    "$CLI" upload --env "$ENV" --source data --exclude '*.pkl'
    ;;
  build)    "$CLI" build --env "$ENV" --push "$@" ;;
  upload)   "$CLI" upload --env "$ENV" --source data --exclude '*.pkl' "$@" ;;
  optimize|train|predict) "$CLI" run "$verb" --env "$ENV" --wait "$@" ;;
  pipeline) "$CLI" pipeline start --env "$ENV" --wait "$@" ;;
  outputs)  "$CLI" outputs --env "$ENV" "$@" ;;
  logs)     "$CLI" logs "${1:-optimize}" --env "$ENV" --follow "${@:2}" ;;
  destroy)  "$CLI" destroy --env "$ENV" "$@" ;;
  ""|-h|--help|help)
    sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
    [ -n "$verb" ] || exit 2
    ;;
  *)
    echo "deploy.sh: unknown verb '$verb'; allowed: full build upload optimize train predict pipeline outputs logs destroy" >&2
    exit 2
    ;;
esac
