# Sourced by scripts/demo and scripts/test: makes sure what the platform needs is running on this
# machine, starting it if installed and installing it from Debian's packages if not.
#   ensure_postgres      PostgreSQL on 127.0.0.1:5432 with trust auth for local connections
#   ensure_redis         Redis on 127.0.0.1:6379 (optional for the demo)
#   ensure_build_tools   libpq headers for diesel, and cargo
#   ensure_chromium      headless Chromium + ChromeDriver for the browser test
#   ensure_cargo_fuzz    the nightly toolchain and cargo-fuzz, for scripts/fuzz
set -euo pipefail

log() { printf '==> %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    log "need root to run: $*"; return 1; fi
}

apt_updated=0
apt_install() {
  if [ "$apt_updated" -eq 0 ]; then as_root apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

postgres_up() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }

ensure_postgres() {
  command -v pg_isready >/dev/null || apt_install postgresql postgresql-client
  if ! postgres_up; then
    if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then apt_install postgresql; fi
    local version
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    local hba="/etc/postgresql/$version/main/pg_hba.conf"
    # Local development and CI only: trust connections from this machine.
    if ! grep -q '^host all all 127.0.0.1/32 trust' "$hba" 2>/dev/null; then
      as_root sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\nlocal all all trust' "$hba"
    fi
    log "starting PostgreSQL $version"
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    for _ in $(seq 1 30); do postgres_up && break; sleep 1; done
  fi
  postgres_up || { log "PostgreSQL is not reachable on 127.0.0.1:5432"; return 1; }
}

redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }

ensure_redis() {
  command -v redis-server >/dev/null || apt_install redis-server
  if ! redis_up; then
    log "starting Redis"
    mkdir -p /tmp/liquidator-redis
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
      --dir /tmp/liquidator-redis --logfile /tmp/liquidator-redis/redis.log
    for _ in $(seq 1 20); do redis_up && break; sleep 0.5; done
  fi
  redis_up || { log "Redis is not reachable on 127.0.0.1:6379"; return 1; }
}

ensure_build_tools() {
  command -v cargo >/dev/null || { log "cargo is required (https://rustup.rs)"; return 1; }
  dpkg -s libpq-dev >/dev/null 2>&1 || apt_install libpq-dev pkg-config
}

ensure_cargo_fuzz() {
  rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
  cargo +nightly fuzz --version >/dev/null 2>&1 || cargo install cargo-fuzz --locked
}

ensure_chromium() {
  if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null || ! fc-list :lang=zh 2>/dev/null | grep -q .; then
    log "installing Chromium and ChromeDriver for the browser test"
    apt_install chromium chromium-driver fonts-noto-cjk
  fi
}
