#!/usr/bin/env bash
# Everything the tests and the demo need, idempotent and fast when it is all there:
# a Docker engine, the Debian packages the tests use, no containers left from earlier runs, the example images.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-engine.sh

# boto3 and the AWS CLI are the real clients in tests; docker-registry + htpasswd serve images with credentials;
# busybox-static and mmdebstrap build the example images; chromium renders the HTML reports in tests;
# python3-junitparser reads `crml check`'s JUnit XML as a CI system would; wrk (load) and time (peak memory)
# are `npm run bench`'s.
bash scripts/apt-install.sh python3-boto3 awscli docker-registry apache2-utils busybox-static mmdebstrap \
  chromium python3-junitparser wrk time

# Containers and networks left by earlier test runs (label crml.test=1). Training containers (crml.trained-model)
# belong to runs that the runner reconciles itself; they are removed only when CRML_CLEAN_RUNS=1 (CI, where no run
# of a user can be going on). CRML_KEEP_CONTAINERS=1 skips the cleanup.
labels=(crml.test=1)
[ "${CRML_CLEAN_RUNS:-}" != 1 ] || labels+=(crml.trained-model crml.inference-job)
remove_leftovers() {
  local label ids removed=0
  for label in "${labels[@]}"; do
    ids=$(docker ps -aq --filter "label=$label")
    # shellcheck disable=SC2086 # one id per word
    [ -z "$ids" ] || { docker rm -f -v $ids >/dev/null; removed=$((removed + $(wc -w <<<"$ids"))); }
  done
  for label in "${labels[@]}"; do
    ids=$(docker network ls -q --filter "label=$label")
    # shellcheck disable=SC2086
    [ -z "$ids" ] || { docker network rm $ids >/dev/null; removed=$((removed + $(wc -w <<<"$ids"))); }
  done
  [ "$removed" -eq 0 ] || echo "cleanup: removed $removed leftover containers/networks (${labels[*]})"
}
[ "${CRML_KEEP_CONTAINERS:-}" = 1 ] || remove_leftovers

bash scripts/build-images.sh all
echo "setup: ready"
