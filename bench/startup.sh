#!/usr/bin/env bash
# Time to RUNNING: docker run vs berth (EC2, Fargate), and docker-compose vs
# berth for a three-container task with dependsOn. Prints a Markdown table.
# Arguments go to bench/startup: -only REGEXP runs only the rows it matches
# (the baselines too only if they match), and -compare NAME=BINARY adds the
# berth run rows and the server's Fargate row for another build of berth,
# measured in the same run (each round starts one row further down, so no
# row always follows the same one):
#   ROUNDS=7 ./bench/startup.sh -only 'compose|dependsOn'
#   git archive main | tar -x -C /tmp/main && (cd /tmp/main && go build -o /tmp/berth-main ./cmd/berth)
#   ROUNDS=9 ./bench/startup.sh -only 'docker run -d \(|CLI' -compare main=/tmp/berth-main
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(mktemp -d)/berth
trap 'rm -rf "$(dirname "$bin")"' EXIT
go build -o "$bin" ./cmd/berth
go run ./bench/startup -berth "$bin" -rounds "${ROUNDS:-15}" "$@"
