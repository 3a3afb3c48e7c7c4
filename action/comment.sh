#!/usr/bin/env bash
# Upserts ONE pull-request comment: the comment whose first line is BODY_FILE's first line (the
# hidden marker `<!-- vntana-webhooks: FILES -->`, one per config) is edited in place; without
# one, the comment is created. Only a comment of the token's own identity can be the one: a
# bot's (the default token's github-actions[bot], or an app's), or, with a personal token, its
# user's. Anybody else's comment is never edited, whatever it says, and neither is one without
# the marker (tests/it/action.rs).
#
#   comment.sh BODY_FILE
#
# Environment: GITHUB_TOKEN, VNTANA_WEBHOOKS_PR (the pull request's number), GITHUB_REPOSITORY,
# GITHUB_API_URL (GitHub sets it; https://api.github.com by default). Plain curl and jq, so the
# API's address is only an environment variable (GitHub Enterprise, and the tests' stand-in).
set -euo pipefail

body_file="$1"
api="${GITHUB_API_URL:-https://api.github.com}"
api="${api%/}"
repo="${GITHUB_REPOSITORY:?GITHUB_REPOSITORY is not set}"
pr="${VNTANA_WEBHOOKS_PR:?VNTANA_WEBHOOKS_PR is not set}"
[ -n "${GITHUB_TOKEN:-}" ] || {
  echo "::warning::vntana-webhooks: no github-token: no comment" >&2
  exit 1
}
marker=$(head -n 1 "$body_file")

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The token goes to curl in a file, never on its command line (other processes can read that).
umask 077
{
  echo "Authorization: Bearer $GITHUB_TOKEN"
  echo "Accept: application/vnd.github+json"
  echo "X-GitHub-Api-Version: 2022-11-28"
  echo "Content-Type: application/json"
} >"$tmp/headers"

request() { # METHOD URL [BODY_JSON_FILE]: the response in $tmp/response; fails on non-2xx
  local code quiet=""
  if [ "$1" = --quiet ]; then
    quiet=1
    shift
  fi
  local -a data=()
  if [ $# -gt 2 ]; then
    data=(--data-binary "@$3")
  fi
  code=$(curl --silent --show-error --location --retry 2 --connect-timeout 20 \
    --header "@$tmp/headers" --request "$1" ${data[@]+"${data[@]}"} \
    --output "$tmp/response" --write-out '%{http_code}' "$2") || return 1
  case "$code" in
    2??) ;;
    *)
      [ -n "$quiet" ] ||
        echo "::warning::vntana-webhooks: $1 $2 answered $code: $(head -c 300 "$tmp/response")" >&2
      return 1
      ;;
  esac
}

# Who the token is: a personal token may read /user; the default token (an app) may not, and
# its comments are a bot's.
me=""
if request --quiet GET "$api/user"; then
  me=$(jq -r '.login // empty' "$tmp/response")
fi

# The existing comment, if any: a page at a time, the first match wins.
id=""
page=1
while [ -z "$id" ]; do
  request GET "$api/repos/$repo/issues/$pr/comments?per_page=100&page=$page"
  id=$(jq -r --arg marker "$marker" --arg me "$me" \
    '[.[] | select((if $me == "" then .user.type == "Bot" else .user.login == $me end)
      and ((.body // "") | startswith($marker)))][0].id // empty' \
    "$tmp/response")
  [ "$(jq length "$tmp/response")" -ge 100 ] || break
  page=$((page + 1))
done

jq -n --rawfile body "$body_file" '{body: $body}' >"$tmp/body.json"
if [ -n "$id" ]; then
  request PATCH "$api/repos/$repo/issues/comments/$id" "$tmp/body.json"
  echo "vntana-webhooks: updated the plan comment $(jq -r .html_url "$tmp/response")"
else
  request POST "$api/repos/$repo/issues/$pr/comments" "$tmp/body.json"
  echo "vntana-webhooks: posted the plan comment $(jq -r .html_url "$tmp/response")"
fi
