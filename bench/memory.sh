#!/usr/bin/env bash
# Resident memory of berth server with 10,000 tasks stored beside the same
# server with an empty store, in one run. Prints a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(mktemp -d)/berth
trap 'rm -rf "$(dirname "$bin")"' EXIT
go build -o "$bin" ./cmd/berth
go run ./bench/memory -berth "$bin" -tasks "${TASKS:-10000}" "$@"
