# Shared by the walk-through's steps (sourced): printing, failing, where the repository is.
# The steps run the same on this machine (walkthrough) and in the containers of
# docker/compose.yaml, where the repository's files are under /opt/npsd.
aovpn_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
aovpn_domain=${AOVPN_DOMAIN:-corp.example.com}
aovpn_base_dn=dc=${aovpn_domain//./,dc=}
npsctl=${NPSCTL:-npsctl}

step() { printf '\n=== %s\n' "$*"; }
say() { printf '$ %s\n' "$*"; }
die() { echo "${0##*/}: $*" >&2; exit 1; }
# An administrator's command: printed (npsctl by its name), then run.
admin() {
  local shown=("$@")
  [[ $1 == "$npsctl" ]] && shown[0]=npsctl
  say "${shown[*]}"
  "$@"
}
need() {  # need TOOL...: each on PATH (or an absolute path), else a clear error
  local t
  for t in "$@"; do
    command -v "$t" >/dev/null || die "$t is missing (scripts/install-deps installs it)"
  done
}
