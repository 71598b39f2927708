# Sourced by esbuild.sh and dart-sass.sh: fetching one npm package with `npm pack` into the cache.
# npm_package SCRIPT PACKAGE VERSION TARBALL TARGET EXECUTABLE: unpacks PACKAGE@VERSION (npm names
# the file TARBALL) into TARGET, unless TARGET/EXECUTABLE is already there, and checks that
# EXECUTABLE is in it. TARGET appears at once, whole (a rename), never half unpacked. Exit status 2
# when npm is missing or the package lacks EXECUTABLE, 3 when npm cannot reach the registry.
npm_package() {
  local script="$1" package="$2" version="$3" tarball="$4" target="$5" executable="$6"
  [ -x "$target/$executable" ] && return 0
  command -v npm >/dev/null || { echo "$script: npm is needed (Debian package npm)" >&2; exit 2; }
  local parent tmp
  parent="$(dirname "$target")"
  mkdir -p "$parent"
  tmp="$(mktemp -d "$parent/.fetch-XXXXXX")"
  echo "== npm pack $package@$version" >&2
  if ! (cd "$tmp" && npm pack --silent "$package@$version" >pack.log 2>&1); then
    echo "$script: npm pack $package@$version failed (is the npm registry reachable?):" >&2
    tail -5 "$tmp/pack.log" >&2
    rm -rf "$tmp"
    exit 3
  fi
  mkdir -p "$tmp/unpacked"
  tar -xzf "$tmp/$tarball" -C "$tmp/unpacked"
  [ -x "$tmp/unpacked/package/$executable" ] || { echo "$script: no $executable in $package" >&2; rm -rf "$tmp"; exit 2; }
  rm -rf "$target"
  mv "$tmp/unpacked/package" "$target"
  rm -rf "$tmp"
}
