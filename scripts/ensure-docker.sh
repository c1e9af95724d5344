#!/usr/bin/env bash
# Make sure a Docker engine answers and the local test image exists.
# Idempotent: an engine that already answers (DOCKER_HOST or the default socket) is used as is.
# Otherwise, as root on Debian, install docker.io, busybox-static and iptables, start dockerd in
# the background (no init system on these machines) and wait until it answers. There is no
# container registry here, so the test image is made from busybox-static with `docker import`.
set -euo pipefail

IMAGE=${SWARMTS_TEST_IMAGE:-swarmts/busybox:latest}
DEFAULT_SOCKET=/var/run/docker.sock
PIDFILE=${SWARMTS_DOCKERD_PIDFILE:-/var/run/swarmts-dockerd.pid}
LOGFILE=${SWARMTS_DOCKERD_LOG:-/var/log/swarmts-dockerd.log}
WAIT_SECONDS=${SWARMTS_DOCKERD_WAIT:-60}

say() { printf 'ensure-docker: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

engine_answers() {
  command -v docker >/dev/null 2>&1 || return 1
  timeout 10 docker version --format '{{.Server.Version}}' >/dev/null 2>&1
}

install_packages() {
  local missing=()
  command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
  dpkg -s busybox-static >/dev/null 2>&1 || missing+=(busybox-static)
  command -v iptables >/dev/null 2>&1 || missing+=(iptables)
  # The test hosts (cluster/) need ip(8) and nsenter(1) as well.
  command -v ip >/dev/null 2>&1 || missing+=(iproute2)
  command -v nsenter >/dev/null 2>&1 || missing+=(util-linux)
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing ${missing[*]} from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}

start_dockerd() {
  [ "$(id -u)" -eq 0 ] ||
    die "no Docker engine answers and this is not root: start dockerd yourself, or set DOCKER_HOST to an engine"
  [ -f /etc/debian_version ] ||
    die "no Docker engine answers and this is not Debian: install and start a Docker engine yourself, or set DOCKER_HOST"
  install_packages
  # `docker.io` ships the client too, so engine_answers works from here on.
  say "starting dockerd (log: $LOGFILE)"
  mkdir -p "$(dirname "$LOGFILE")" "$(dirname "$PIDFILE")"
  setsid nohup dockerd --host "unix://$DEFAULT_SOCKET" --pidfile "$PIDFILE" >>"$LOGFILE" 2>&1 </dev/null &
  local deadline=$((SECONDS + WAIT_SECONDS))
  until engine_answers; do
    if [ $SECONDS -ge $deadline ]; then
      tail -n 20 "$LOGFILE" >&2 || true
      die "dockerd did not answer within ${WAIT_SECONDS}s (see $LOGFILE)"
    fi
    sleep 0.5
  done
}

build_test_image() {
  local busybox=/bin/busybox
  if ! file_is_static "$busybox"; then
    [ "$(id -u)" -eq 0 ] && [ -f /etc/debian_version ] && install_packages
    file_is_static "$busybox" || die "a static busybox is needed to make $IMAGE (Debian: busybox-static)"
  fi
  local root
  root=$(mktemp -d)
  trap 'rm -rf "$root"' RETURN
  mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/www" "$root/run/secrets"
  cp "$busybox" "$root/bin/busybox"
  local applet
  for applet in $("$busybox" --list); do
    [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
  printf 'swarmts test image\n' >"$root/www/index.html"
  chmod 1777 "$root/tmp"
  say "making $IMAGE from $busybox"
  tar -C "$root" -c . | docker import \
    --change 'ENV PATH=/bin' \
    --change 'CMD ["sh"]' \
    --change 'LABEL swarmts.test-image=busybox' \
    - "$IMAGE" >/dev/null
}

# busybox from the `busybox` package is dynamic and would not run in an image that has no libc.
file_is_static() {
  [ -x "$1" ] || return 1
  local out
  out=$(LC_ALL=C ldd "$1" 2>&1) || true
  [[ $out == *'not a dynamic executable'* ]]
}

if engine_answers; then
  say "engine answers at ${DOCKER_HOST:-unix://$DEFAULT_SOCKET}"
  # The test hosts need their tools even when the engine was there before us.
  if [ "$(id -u)" -eq 0 ] && [ -f /etc/debian_version ]; then install_packages; fi
elif [ -n "${DOCKER_HOST:-}" ]; then
  die "DOCKER_HOST=$DOCKER_HOST does not answer: start that engine, or unset DOCKER_HOST to let this script start one"
else
  start_dockerd
  say "engine answers at unix://$DEFAULT_SOCKET"
fi

docker image inspect "$IMAGE" >/dev/null 2>&1 || build_test_image
say "test image $IMAGE is present"
