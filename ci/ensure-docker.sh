#!/usr/bin/env bash
# Make a Docker engine available on a Debian machine where none runs.
#   - If `docker info` already answers (DOCKER_HOST or the default socket), do nothing.
#   - Otherwise, as root: install docker.io (and debootstrap, for offline image builds) when missing,
#     start dockerd in the background with its log in a file, and wait until it answers. The dockerd it starts
#     also listens on a loopback TCP port (127.0.0.1 only; MAILHARNESS_DOCKERD_TCP, default 127.0.0.1:2375), so
#     that the tests can reach it as a remote engine (DOCKER_HOST=tcp://...); where an engine already runs
#     without one, those tests put a TCP-to-socket proxy of their own on loopback instead.
# Exit status: 0 when an engine answers, 1 otherwise (with the reason and the log's tail).
set -euo pipefail

log=${MAILHARNESS_DOCKERD_LOG:-/var/log/mailharness-dockerd.log}
tcp=${MAILHARNESS_DOCKERD_TCP:-127.0.0.1:2375}
case "$tcp" in
  127.*:[0-9]*|localhost:[0-9]*) ;;
  *) echo "ensure-docker: MAILHARNESS_DOCKERD_TCP=$tcp: only a loopback address (127.x.x.x:PORT) is allowed" >&2
     exit 1 ;;
esac
wait_s=${MAILHARNESS_DOCKERD_WAIT:-60}

answers() { docker info >/dev/null 2>&1; }

if command -v docker >/dev/null 2>&1 && answers; then
  echo "ensure-docker: engine already answering ($(docker version --format '{{.Server.Version}}' 2>/dev/null))"
  exit 0
fi

if [ "$(id -u)" != 0 ]; then
  echo "ensure-docker: no Docker engine answers and this script is not root." >&2
  echo "  fix: run it as root (sudo $0), or start Docker yourself, or set DOCKER_HOST." >&2
  exit 1
fi

need=()
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
command -v docker >/dev/null 2>&1 || need+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
if [ ${#need[@]} -gt 0 ]; then
  echo "ensure-docker: installing ${need[*]} (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || echo "ensure-docker: apt-get update failed; trying with the lists at hand" >&2
  apt-get install -y -qq "${need[@]}" >/dev/null
fi

if ! pgrep -x dockerd >/dev/null 2>&1; then
  echo "ensure-docker: starting dockerd on the default socket and tcp://$tcp (loopback only; log: $log)"
  mkdir -p "$(dirname "$log")"
  # setsid: dockerd must outlive this script and the shell that called it.
  setsid nohup dockerd -H unix:///var/run/docker.sock -H "tcp://$tcp" >"$log" 2>&1 < /dev/null &
fi

for _ in $(seq 1 $((wait_s * 5))); do
  if answers; then
    echo "ensure-docker: engine answering ($(docker version --format '{{.Server.Version}}'))"
    exit 0
  fi
  sleep 0.2
done
echo "ensure-docker: dockerd did not answer within ${wait_s}s; last lines of $log:" >&2
tail -n 20 "$log" >&2 || true
exit 1
