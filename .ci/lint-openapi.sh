#!/usr/bin/env bash
# Lints the HTTP contract, api/openapi.yaml, with Spectral: its OpenAPI rules
# and the OWASP API Security Top 10 (2023) ruleset, as .spectral.yaml sets
# them up (waivers there, each with its reason). Fails on any error; prints
# nothing when there is none. LINT_OPENAPI_VERBOSE=1 shows warnings as well.
#
# The tools come from npm, at the pinned versions below, into a directory of
# their own that is kept between runs ($ROSTER_SPECTRAL_DIR; by default in the
# user's cache directory), so a second run installs nothing; npm's own cache
# (~/.npm, or $npm_config_cache) makes a fresh install cheap. CI can cache
# either directory. Needs Node.js 18 or later.
set -euo pipefail
cd "$(dirname "$0")/.."

SPECTRAL_CLI=6.16.3
OWASP_RULESET=2.0.1

dir=${ROSTER_SPECTRAL_DIR:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/roster/spectral-$SPECTRAL_CLI-owasp-$OWASP_RULESET}
spectral=$dir/node_modules/.bin/spectral

if [ ! -x "$spectral" ] || [ ! -f "$dir/.complete" ]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "lint-openapi: npm is required (Node.js 18 or later)" >&2
    exit 1
  fi
  # Install next to the target and move it into place, so that an
  # interrupted install or two CI jobs at once never leave a half tree.
  mkdir -p "$(dirname "$dir")"
  tmp=$(mktemp -d "$dir.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  if ! npm install --no-save --no-package-lock --no-audit --no-fund --loglevel=error --prefix "$tmp" \
      "@stoplight/spectral-cli@$SPECTRAL_CLI" "@stoplight/spectral-owasp-ruleset@$OWASP_RULESET" \
      >"$tmp/npm.log" 2>&1; then
    cat "$tmp/npm.log" >&2
    echo "lint-openapi: npm install failed" >&2
    exit 1
  fi
  chmod 755 "$tmp"
  touch "$tmp/.complete"
  if [ -f "$dir/.complete" ]; then
    rm -rf "$tmp" # another job installed the same versions meanwhile
  else
    rm -rf "$dir"
    mv "$tmp" "$dir"
  fi
  trap - EXIT
fi

# .spectral.yaml extends "@stoplight/spectral-owasp-ruleset" by package name:
# Node resolves it in the directory above.
export NODE_PATH=$dir/node_modules
args=(lint --ruleset .spectral.yaml --fail-severity error --format text)
if [ -z "${LINT_OPENAPI_VERBOSE:-}" ]; then
  args+=(--display-only-failures)
fi
if ! out=$("$spectral" "${args[@]}" api/openapi.yaml 2>&1); then
  echo "$out" >&2
  echo "lint-openapi: api/openapi.yaml breaks the rules above (.spectral.yaml; docs/security.md)" >&2
  exit 1
fi
if [ -n "${LINT_OPENAPI_VERBOSE:-}" ]; then
  echo "$out"
fi
