# Sourced by lua.sh and sqlite.sh: the tools to build a Debian source package twice, statically for
# riscv64 Linux and for the host, and the package's source itself.
sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
step() { echo "== $*" >&2; }

# lock_cache DIR: makes the cache directory DIR and holds its build lock (descriptor 9) until the
# script ends, so that runs started together build once: the others wait, then find the binaries.
lock_cache() {
  mkdir -p "$1"
  exec 9>"$1/.build.lock"
  flock 9
}

# need_tools COMMAND=PACKAGE...: installs from Debian the packages whose command is missing, along
# with both compilers, riscv64's libc and dpkg-source (for apt-get source).
need_tools() {
  local need=() pair
  for pair in riscv64-linux-gnu-gcc=gcc-riscv64-linux-gnu gcc=gcc dpkg-source=dpkg-dev "$@"; do
    command -v "${pair%%=*}" >/dev/null || need+=("${pair#*=}")
  done
  [ -f /usr/riscv64-linux-gnu/include/stdio.h ] || need+=(libc6-dev-riscv64-cross)
  if [ ${#need[@]} -gt 0 ]; then
    step "installing from Debian: ${need[*]}"
    $sudo apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${need[@]}" >/dev/null
  fi
}

# debian_source PACKAGE DIR: unpacks PACKAGE's source, Debian's patches applied, into DIR/src.
debian_source() {
  local package="$1" dir="$2"
  step "fetching Debian's $package source"
  if ! grep -rqs 'deb-src' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    # The deb stanza again, for sources (as guests/linux/busybox.sh does).
    sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources | $sudo tee /etc/apt/sources.list.d/isomorph-src.sources >/dev/null
    $sudo apt-get update -q >/dev/null
  fi
  mkdir -p "$dir/fetch"
  (cd "$dir/fetch" && apt-get source -q "$package" >/dev/null 2>&1) || {
    $sudo apt-get update -q >/dev/null   # an old index names files the mirror no longer has
    (cd "$dir/fetch" && apt-get source -q "$package" >/dev/null)
  }
  mv "$(find "$dir/fetch" -mindepth 1 -maxdepth 1 -type d | head -1)" "$dir/src"
}

# install_binary FILE TARGET: copies FILE to TARGET, which appears whole (a rename) or not at all.
install_binary() {
  mkdir -p "$(dirname "$2")"
  cp "$1" "$2.tmp" && mv "$2.tmp" "$2"
}
