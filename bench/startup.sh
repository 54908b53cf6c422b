#!/usr/bin/env bash
# Time to RUNNING: docker run vs berth (EC2, Fargate), and docker-compose vs
# berth for a three-container task with dependsOn. Prints a Markdown table.
# Arguments go to bench/startup: -only REGEXP keeps the rows whose names
# match (a baseline only if it matches), so that the docker-compose baseline
# and the dependsOn task alone are measured with
#   ROUNDS=7 ./bench/startup.sh -only 'compose|dependsOn'
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(mktemp -d)/berth
trap 'rm -rf "$(dirname "$bin")"' EXIT
go build -o "$bin" ./cmd/berth
go run ./bench/startup -berth "$bin" -rounds "${ROUNDS:-15}" "$@"
