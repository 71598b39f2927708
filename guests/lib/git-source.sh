# Sourced by the build scripts of guests whose source Debian does not package (xv6, Xvisor,
# kvmtool): finds that source as a git repository, bare or not, in this order: $<NAME>_REPO, the
# copy kept in the cache (repo.git), a local mirror of the upstream repository, a clone of it.
#
# The caller sets name (for messages, e.g. Xvisor), var (the prefix of its variables: XVISOR for
# XVISOR_REPO and XVISOR_COMMIT, the commit to build, HEAD when unset), cache, mirror and upstream,
# and defines step(); then `git_source "$@"`:
#   - with --check-source as its first argument, exits 0 when a source is at hand, else 3 with one
#     line on stderr (building nothing);
#   - otherwise takes the cache's lock (file descriptor 9, held until the script ends, so runs that
#     start together build once) and sets src, keeping a copy of a mirror in the cache (later runs
#     need no mirror) or cloning upstream; exits 3, with one line on stderr, when no source can be had.
# It also sets commit_ish, the commit the caller builds.

git_source() {
  local repo_var="${var}_REPO" commit_var="${var}_COMMIT"
  local repo="${!repo_var:-}"
  commit_ish="${!commit_var:-HEAD}"

  is_repo() { [ -n "$1" ] && git -C "$1" rev-parse --verify -q "${commit_ish}^{commit}" >/dev/null 2>&1; }
  find_source() {
    if [ -n "$repo" ]; then is_repo "$repo" && echo "$repo"; return 0; fi
    local candidate
    for candidate in "$cache/repo.git" "$mirror"; do
      is_repo "$candidate" && { echo "$candidate"; return 0; }
    done
    return 0
  }
  no_source() {
    if [ -n "$repo" ]; then
      echo "no $name source: $repo_var=$repo is not a git repository holding $commit_ish" >&2
    else
      echo "no $name source: set $repo_var to a clone of $upstream ($cache/repo.git and $mirror are absent, and the network cannot reach it)" >&2
    fi
    exit 3
  }

  src="$(find_source)"
  if [ "${1:-}" = "--check-source" ]; then
    [ -n "$src" ] && exit 0
    [ -z "$repo" ] && timeout 20 git ls-remote "$upstream" HEAD >/dev/null 2>&1 && exit 0
    no_source
  fi

  mkdir -p "$cache"
  exec 9>"$cache/.build.lock"
  flock 9
  src="$(find_source)"   # another run may have cloned it meanwhile
  if [ -z "$src" ]; then
    [ -n "$repo" ] && no_source
    step "cloning $upstream into $cache/repo.git"
    rm -rf "$cache/repo.git.tmp"
    timeout 300 git clone -q --bare "$upstream" "$cache/repo.git.tmp" >&2 || { rm -rf "$cache/repo.git.tmp"; no_source; }
    mv "$cache/repo.git.tmp" "$cache/repo.git"
    src="$cache/repo.git"
  elif [ "$src" = "$mirror" ] && [ ! -e "$cache/repo.git" ]; then
    step "keeping a copy of the $name mirror in $cache/repo.git"
    git clone -q --bare "$mirror" "$cache/repo.git.tmp" >&2 && mv "$cache/repo.git.tmp" "$cache/repo.git" && src="$cache/repo.git"
  fi
}
