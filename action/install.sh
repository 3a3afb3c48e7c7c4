#!/usr/bin/env bash
# Installs the released vntana-webhooks binary for this runner, verified against the release's
# SHA256SUMS and cached by version (action.yml runs it; tests/it/action.rs tests it).
#
#   install.sh resolve   the version, the target, the cache directory and the repository of the
#                        releases, as step outputs (actions/cache needs them before install);
#   install.sh install   the binary into the cache directory, unless a verified copy is there;
#                        the directory goes on GITHUB_PATH.
#
# Environment (GitHub sets the RUNNER_* and GITHUB_* ones):
#   VNTANA_WEBHOOKS_VERSION     the version (0.2.0 or v0.2.0). resolve's default: the action's
#                               own tag (VNTANA_WEBHOOKS_ACTION_REF, else the ref in the
#                               action's path), else the version in the action's Cargo.toml
#                               (an action pinned by commit)
#   VNTANA_WEBHOOKS_REPOSITORY  owner/name of the releases (default: the action's own)
#   RUNNER_OS, RUNNER_ARCH      Linux|macOS|Windows, X64|ARM64: which archive
#   VNTANA_WEBHOOKS_CACHE       where versions are kept (default: $RUNNER_TOOL_CACHE/vntana-webhooks)
#   VNTANA_WEBHOOKS_RELEASE_BASE  FOR TESTS ONLY: the URL of a folder holding the archives and
#                               SHA256SUMS, instead of the GitHub release (plain http only on a
#                               loopback host)
set -euo pipefail

bail() { # on stderr, so that it shows from inside $(...) too; the runner reads both streams
  echo "::error::vntana-webhooks install: $*" >&2
  exit 1
}

output() { # NAME VALUE: a step output (and on stdout, for the log)
  echo "$1=$2"
  if [ -n "${GITHUB_OUTPUT:-}" ]; then
    echo "$1=$2" >>"$GITHUB_OUTPUT"
  fi
}

# The owner, name and ref of the action in its path, .../_actions/OWNER/NAME/REF, if it is one.
action_path_parts() {
  local path="${GITHUB_ACTION_PATH:-}"
  path="${path//\\//}"
  case "$path" in
    */_actions/*/*/*) ;;
    *) return 1 ;;
  esac
  local rest="${path##*/_actions/}"
  IFS=/ read -r owner name ref _ <<<"$rest"
  [ -n "$owner" ] && [ -n "$name" ] && [ -n "$ref" ]
}

is_version() {
  [[ "$1" =~ ^v?[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.+-]+)?$ ]]
}

version() {
  local v="${VNTANA_WEBHOOKS_VERSION:-}" ref="${VNTANA_WEBHOOKS_ACTION_REF:-}"
  if [ -z "$v" ] && is_version "$ref"; then
    v="$ref"
  fi
  if [ -z "$v" ] && action_path_parts && is_version "$ref"; then
    v="$ref"
  fi
  if [ -z "$v" ] && [ -n "${GITHUB_ACTION_PATH:-}" ] && [ -f "$GITHUB_ACTION_PATH/Cargo.toml" ]; then
    # Pinned by commit: that commit's own version (the first `version =` is [package]'s).
    v=$(awk -F '"' '/^version = "/ { print $2; exit }' "$GITHUB_ACTION_PATH/Cargo.toml")
  fi
  [ -n "$v" ] || bail "no version: set the action's \`version\` input"
  is_version "$v" || bail "\`$v\` is not a version (e.g. 0.2.0)"
  echo "${v#v}"
}

repository() {
  if [ -n "${VNTANA_WEBHOOKS_REPOSITORY:-}" ]; then
    echo "$VNTANA_WEBHOOKS_REPOSITORY"
  elif action_path_parts; then
    echo "$owner/$name"
  else
    echo "${GITHUB_REPOSITORY:-}"
  fi
}

# The release's target for this runner.
target() {
  case "${RUNNER_OS:-}/${RUNNER_ARCH:-}" in
    Linux/X64) echo x86_64-unknown-linux-musl ;;
    Linux/ARM64) echo aarch64-unknown-linux-musl ;;
    macOS/X64) echo x86_64-apple-darwin ;;
    macOS/ARM64) echo aarch64-apple-darwin ;;
    Windows/X64) echo x86_64-pc-windows-msvc ;;
    *) bail "no vntana-webhooks release for ${RUNNER_OS:-an unknown OS} on ${RUNNER_ARCH:-an unknown architecture} (there are Linux X64 and ARM64, macOS X64 and ARM64, Windows X64)" ;;
  esac
}

cache_dir() { # VERSION TARGET
  local root="${VNTANA_WEBHOOKS_CACHE:-${RUNNER_TOOL_CACHE:-${RUNNER_TEMP:-/tmp}}/vntana-webhooks}"
  echo "$root/$1/$2"
}

sha256() { # sha256sum, or macOS's shasum: the same output and -c format
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$@"
  else
    shasum -a 256 "$@"
  fi
}

fetch() { # URL FILE
  local proto="=https"
  if [ -n "${VNTANA_WEBHOOKS_RELEASE_BASE:-}" ]; then
    case "$VNTANA_WEBHOOKS_RELEASE_BASE" in
      http://127.0.0.1[:/]* | http://localhost[:/]* | "http://[::1]"[:/]*) proto="=http,https" ;;
    esac
  fi
  curl --fail --silent --show-error --location --retry 3 --connect-timeout 20 \
    --proto "$proto" --proto-redir "=https" --output "$2" "$1" ||
    bail "could not download $1"
}

# A cached copy counts only if the binary still has the checksum recorded when it was
# installed from a verified archive.
cached() { # DIR
  [ -f "$1/.sha256" ] && (cd "$1" && sha256 -c --status .sha256) 2>/dev/null
}

install() {
  local version target dir exe archive ext base
  version=$(version)
  target=$(target)
  dir=$(cache_dir "$version" "$target")
  exe=vntana-webhooks
  ext=tar.gz
  if [ "${RUNNER_OS:-}" = Windows ]; then
    exe=vntana-webhooks.exe
    ext=zip
  fi

  if cached "$dir"; then
    echo "vntana-webhooks $version ($target): the verified copy in $dir"
  else
    archive="vntana-webhooks-$version-$target.$ext"
    if [ -n "${VNTANA_WEBHOOKS_RELEASE_BASE:-}" ]; then
      base="${VNTANA_WEBHOOKS_RELEASE_BASE%/}"
    else
      local repo
      repo=$(repository)
      [ -n "$repo" ] || bail "no repository to download the release from: set VNTANA_WEBHOOKS_REPOSITORY"
      base="${GITHUB_SERVER_URL:-https://github.com}/$repo/releases/download/v$version"
    fi
    # Global: the trap runs after this function has returned.
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    echo "vntana-webhooks $version ($target): downloading $archive from $base"
    fetch "$base/SHA256SUMS" "$tmp/SHA256SUMS"
    fetch "$base/$archive" "$tmp/$archive"

    # The archive's line of SHA256SUMS (a `*` before the name marks binary mode).
    local line expected actual
    line=$(awk -v f="$archive" '$2 == f || $2 == "*" f' "$tmp/SHA256SUMS")
    [ -n "$line" ] || bail "SHA256SUMS of $version has no line for $archive: refusing to install it"
    [ "$(wc -l <<<"$line")" -eq 1 ] || bail "SHA256SUMS of $version has several lines for $archive"
    printf '%s\n' "$line" >"$tmp/expected.sha256"
    if ! (cd "$tmp" && sha256 -c --status expected.sha256); then
      expected=${line%% *}
      actual=$(cd "$tmp" && sha256 "$archive")
      actual=${actual%% *}
      bail "checksum mismatch for $archive: SHA256SUMS says $expected, the download is $actual; refusing to install it (a corrupted or tampered download)"
    fi
    echo "checksum verified: $line"

    mkdir -p "$tmp/unpacked"
    if [ "$ext" = zip ]; then
      if command -v unzip >/dev/null 2>&1; then
        unzip -q "$tmp/$archive" -d "$tmp/unpacked"
      else
        7z x -y -bd -o"$tmp/unpacked" "$tmp/$archive" >/dev/null
      fi
    else
      tar -xzf "$tmp/$archive" -C "$tmp/unpacked"
    fi
    local binary="$tmp/unpacked/vntana-webhooks-$version-$target/$exe"
    [ -f "$binary" ] || bail "$archive has no vntana-webhooks-$version-$target/$exe"

    rm -rf "$dir"
    mkdir -p "$dir"
    cp "$binary" "$dir/$exe"
    chmod 0755 "$dir/$exe"
    (cd "$dir" && sha256 "$exe" >.sha256)
  fi

  local printed
  printed=$("$dir/$exe" --version) || bail "$dir/$exe does not run"
  [ "$printed" = "vntana-webhooks $version" ] ||
    bail "$dir/$exe prints \`$printed\`, not vntana-webhooks $version"
  echo "$printed"
  if [ -n "${GITHUB_PATH:-}" ]; then
    echo "$dir" >>"$GITHUB_PATH"
  fi
  output bin-dir "$dir"
}

case "${1:-}" in
  resolve)
    version=$(version)
    target=$(target)
    repo=$(repository)
    output version "$version"
    output target "$target"
    output dir "$(cache_dir "$version" "$target")"
    output repository "$repo"
    ;;
  install) install ;;
  *) bail "usage: install.sh resolve|install" ;;
esac
