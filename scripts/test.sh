#!/usr/bin/env bash
# Runs berth's whole test suite on a fresh machine: it makes sure a Docker
# engine is reachable (starting or installing one where needed), installs
# the tools the checks use, then runs the format, vet and staticcheck checks
# and every test with the race detector.
set -euo pipefail
cd "$(dirname "$0")/.."

STATICCHECK_VERSION=v0.8.2

log() { printf '==> %s\n' "$*" >&2; }

as_root() {
	if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

apt_install() {
	local names=()
	for arg in "$@"; do
		case $arg in -*) ;; *) names+=("$arg") ;; esac
	done
	log "installing ${names[*]} from Debian's packages"
	as_root apt-get update -qq
	DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

ensure_docker() {
	if docker info >/dev/null 2>&1; then
		return
	fi
	if ! command -v dockerd >/dev/null 2>&1; then
		apt_install docker.io
	fi
	if ! docker info >/dev/null 2>&1; then
		log "starting dockerd (log: /tmp/berth-dockerd.log)"
		as_root sh -c 'nohup dockerd >/tmp/berth-dockerd.log 2>&1 &'
		for _ in $(seq 1 60); do
			docker info >/dev/null 2>&1 && break
			sleep 1
		done
	fi
	if ! docker info >/dev/null 2>&1; then
		echo "FATAL: cannot reach a Docker engine; berth's tests run real containers." >&2
		echo "dockerd's log:" >&2
		tail -n 30 /tmp/berth-dockerd.log >&2 || true
		exit 1
	fi
}

ensure_tools() {
	export PATH="$PATH:$(go env GOPATH)/bin"
	if ! command -v staticcheck >/dev/null 2>&1; then
		log "installing staticcheck $STATICCHECK_VERSION"
		go install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION"
	fi
}

# keep_service_stopped stops the service a package just started, where the
# init system let it start one, and keeps it from starting at boot.
keep_service_stopped() {
	if [ -d /run/systemd/system ]; then
		as_root systemctl disable --now "$1.service" >/dev/null 2>&1 || true
	elif [ -x "/etc/init.d/$1" ]; then
		as_root "/etc/init.d/$1" stop >/dev/null 2>&1 || true
		as_root update-rc.d "$1" disable >/dev/null 2>&1 || true
	fi
}

# A test scrapes a real server with Debian's Prometheus and queries it
# (examples/monitoring); it skips, saying why, only where none installs.
# The package alone, without what it recommends (node-exporter and its
# collectors, which run services of their own). The test runs a Prometheus
# of its own: the one the package starts as a service (on port 9090) is
# stopped and kept from starting again.
ensure_prometheus() {
	if command -v prometheus >/dev/null 2>&1; then
		return
	fi
	if ! apt_install --no-install-recommends prometheus; then
		log "prometheus could not be installed: the Prometheus test will skip"
		return
	fi
	keep_service_stopped prometheus
}

ensure_docker
ensure_tools
ensure_prometheus

log "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './vendor/*'))
if [ -n "$unformatted" ]; then
	echo "gofmt would change:" >&2
	echo "$unformatted" >&2
	exit 1
fi

log "go vet"
go vet ./...

log "staticcheck"
staticcheck ./...

log "go test -race"
go test -race -timeout 30m "$@" ./...
