#!/usr/bin/env bash
# Generates TypeScript types from the HTTP contract, api/openapi.yaml, with
# openapi-typescript, and type-checks them with tsc --strict together with a
# few uses of them (a typed PATCH body, a problem's code, a webhook's
# payload), one of which must fail to type-check. The Go side of the same
# check, oapi-codegen, is a Go test: internal/gencheck.
#
# The tools come from npm, at the pinned versions below, into a directory of
# their own kept between runs ($ROSTER_TSGEN_DIR; by default in the user's
# cache directory), as .ci/lint-openapi.sh does. Needs Node.js 18 or later.
# Without npm the check is skipped, with a message, unless CI is set: CI
# never skips it.
set -euo pipefail
cd "$(dirname "$0")/.."

OPENAPI_TYPESCRIPT=7.13.0
TYPESCRIPT=5.9.3

if ! command -v npm >/dev/null 2>&1; then
  if [ -n "${CI:-}" ]; then
    echo "gen-clients: npm is required (Node.js 18 or later)" >&2
    exit 1
  fi
  echo "gen-clients: npm not found; skipping the TypeScript client check (CI runs it)" >&2
  exit 0
fi

dir=${ROSTER_TSGEN_DIR:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/roster/openapi-typescript-$OPENAPI_TYPESCRIPT-typescript-$TYPESCRIPT}
if [ ! -f "$dir/.complete" ]; then
  # Installed next to the target and moved into place, so that an
  # interrupted install or two jobs at once never leave a half tree.
  mkdir -p "$(dirname "$dir")"
  tmp=$(mktemp -d "$dir.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  if ! npm install --no-save --no-package-lock --no-audit --no-fund --loglevel=error --prefix "$tmp" \
      "openapi-typescript@$OPENAPI_TYPESCRIPT" "typescript@$TYPESCRIPT" >"$tmp/npm.log" 2>&1; then
    cat "$tmp/npm.log" >&2
    echo "gen-clients: npm install failed" >&2
    exit 1
  fi
  chmod 755 "$tmp"
  touch "$tmp/.complete"
  if [ -f "$dir/.complete" ]; then
    rm -rf "$tmp"
  else
    rm -rf "$dir"
    mv "$tmp" "$dir"
  fi
  trap - EXIT
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if ! out=$("$dir/node_modules/.bin/openapi-typescript" api/openapi.yaml -o "$work/roster.ts" 2>&1); then
  echo "$out" >&2
  echo "gen-clients: openapi-typescript could not generate types from api/openapi.yaml" >&2
  exit 1
fi

cat >"$work/uses.ts" <<'EOF'
import type { components, operations, webhooks } from "./roster";

type UserWrite = components["schemas"]["UserWrite"];
type PatchBody = NonNullable<operations["updateUser"]["requestBody"]>["content"];
type Problem = components["schemas"]["Problem"];
type UpdatedEvent = webhooks["user.updated"]["post"]["requestBody"]["content"]["application/json"];
type Verdict = webhooks["user.validate"]["post"]["responses"][200]["content"]["application/json"];

export const patch: PatchBody["application/json"] = { name: "Alice Martin", bio: null } satisfies UserWrite;
export const merge: PatchBody["application/merge-patch+json"] = { metadata: { theme: null } };
export const ops: PatchBody["application/json-patch+json"] = [{ op: "replace", path: "/name", value: "A" }];
export const code: Problem["code"] = "validation_failed";
export const status: Problem["status"] = 422;
export function changed(e: UpdatedEvent): string[] {
  return e.data.changed_fields;
}
export const verdict: Verdict = { allow: false, message: "No.", errors: [{ field: "email", code: "blocked" }] };

// @ts-expect-error: not a code of the contract, so the check is not vacuous.
export const unknown: Problem["code"] = "no_such_code";
EOF

tsc=("$dir/node_modules/.bin/tsc" --strict --noEmit --target es2022 --module commonjs --skipLibCheck
  "$work/roster.ts" "$work/uses.ts")
if ! out=$("${tsc[@]}" 2>&1); then
  echo "$out" >&2
  echo "gen-clients: the TypeScript types generated from api/openapi.yaml do not type-check" >&2
  exit 1
fi
