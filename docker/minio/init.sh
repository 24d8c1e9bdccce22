#!/bin/sh
# One-shot MinIO set-up (the `minio-init` service of docker/compose.yaml, image
# minio/mc). Idempotent: run it again after adding a branch.
#   - buckets intake, archive, quarantine (CONTRACTS.md §2)
#   - policy sohoa-pipeline (policies/pipeline.json) for the pipeline's user
#     SOHOA_S3_ACCESS_KEY: read/write/list/delete on the three buckets
#   - policy sohoa-branch-intake-writer (policies/branch-intake-writer.json)
#     for one user per branch of SOHOA_BRANCHES (user name = branch name): it
#     only uploads under intake/{branch}/ (the policy's ${aws:username})
# Branch secrets come from the file BRANCH_KEYS_FILE, one "branch secret" per
# line (a docker secret); a listed branch without a secret is an error.
# POSIX sh and mc only: the minio/mc image has no sed, awk or grep.
set -eu

: "${MINIO_URL:=http://minio:9000}"
: "${POLICY_DIR:=/sohoa/policies}"
: "${BRANCH_KEYS_FILE:=/run/secrets/branch_keys}"
: "${MINIO_ROOT_USER:?MINIO_ROOT_USER is not set}"
: "${MINIO_ROOT_PASSWORD:?MINIO_ROOT_PASSWORD is not set}"
: "${SOHOA_S3_ACCESS_KEY:?SOHOA_S3_ACCESS_KEY is not set}"
: "${SOHOA_S3_SECRET_KEY:?SOHOA_S3_SECRET_KEY is not set}"
: "${SOHOA_BRANCHES:?SOHOA_BRANCHES is not set (e.g. \"cau-giay ba-dinh\")}"

ALIAS=sohoa

# A policy attach that is already in effect is not an error on a re-run.
attach() {
  if out=$(mc admin policy attach "$ALIAS" "$1" --user "$2" 2>&1); then
    return 0
  fi
  case "$out" in
    *"already"*) return 0 ;;
    *) echo "$out" >&2; return 1 ;;
  esac
}

# Prints the secret of branch $1 from BRANCH_KEYS_FILE (empty if none).
branch_secret() {
  while read -r name secret _rest || [ -n "$name" ]; do
    case "$name" in ''|'#'*) continue ;; esac
    if [ "$name" = "$1" ]; then
      printf '%s' "$secret"
      return 0
    fi
  done <"$BRANCH_KEYS_FILE"
}

valid_branch() {
  case "$1" in
    ''|-*|*[!a-z0-9-]*) return 1 ;;
  esac
  [ "${#1}" -ge 3 ]
}

mc alias set "$ALIAS" "$MINIO_URL" "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD" >/dev/null

for bucket in intake archive quarantine; do
  mc mb --ignore-existing "$ALIAS/$bucket"
done

mc admin policy create "$ALIAS" sohoa-pipeline "$POLICY_DIR/pipeline.json"
mc admin policy create "$ALIAS" sohoa-branch-intake-writer "$POLICY_DIR/branch-intake-writer.json"

mc admin user add "$ALIAS" "$SOHOA_S3_ACCESS_KEY" "$SOHOA_S3_SECRET_KEY" >/dev/null
attach sohoa-pipeline "$SOHOA_S3_ACCESS_KEY"
echo "pipeline user $SOHOA_S3_ACCESS_KEY: sohoa-pipeline"

# SOHOA_BRANCHES: names separated by spaces and/or commas.
set -f
old_ifs=$IFS
IFS=", "
# shellcheck disable=SC2086 # split on purpose
set -- $SOHOA_BRANCHES
IFS=$old_ifs
set +f
[ "$#" -gt 0 ] || { echo "SOHOA_BRANCHES names no branch" >&2; exit 1; }

for branch in "$@"; do
  if ! valid_branch "$branch"; then
    echo "branch name '$branch' is not a lower-case slug of 3+ characters" >&2
    exit 1
  fi
  if [ "$branch" = "$SOHOA_S3_ACCESS_KEY" ]; then
    echo "branch '$branch' has the pipeline user's name" >&2
    exit 1
  fi
  secret=$(branch_secret "$branch")
  if [ "${#secret}" -lt 8 ]; then
    echo "branch '$branch': no secret (8+ characters) in $BRANCH_KEYS_FILE" >&2
    exit 1
  fi
  mc admin user add "$ALIAS" "$branch" "$secret" >/dev/null
  attach sohoa-branch-intake-writer "$branch"
  echo "branch user $branch: sohoa-branch-intake-writer (intake/$branch/ only)"
done
