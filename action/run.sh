#!/usr/bin/env bash
# Runs vntana-webhooks for the action (action.yml; tests/it/action.rs checks the command lines):
#
#   validate  validate --offline -f FILE... --format github ARGS...     (annotations)
#   plan      validate --offline -f FILE... --format github             (annotations), then
#             plan -f FILE... --format markdown --detailed-exitcode --out DIR/plan.json ARGS...
#             > DIR/plan.md: the job summary, and one pull-request comment per FILES
#   apply     apply -f FILE... --auto-approve ARGS...                    (the report in the summary)
#
# Environment: INPUT_COMMAND, INPUT_FILES, INPUT_ARGS (split on whitespace, never globbed),
# INPUT_COMMENT (true, false, auto), GITHUB_TOKEN; GitHub's GITHUB_* and RUNNER_TEMP.
# Outputs: exit-code, has-changes, plan-file, markdown-file. The step fails when the command
# fails (for plan: exit 1 or 3; 2 only means changes).
set -euo pipefail

bail() {
  echo "::error::vntana-webhooks action: $*" >&2
  exit 1
}

output() { # NAME VALUE
  if [ -n "${GITHUB_OUTPUT:-}" ]; then
    echo "$1=$2" >>"$GITHUB_OUTPUT"
  fi
}

summary() { # appends stdin to the job summary
  if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
    cat >>"$GITHUB_STEP_SUMMARY"
  else
    cat >/dev/null
  fi
}

command="${INPUT_COMMAND:-plan}"
case "$command" in
  validate | plan | apply) ;;
  *) bail "command must be validate, plan or apply, not \`$command\`" ;;
esac

# Whitespace-separated lists; `read` neither globs nor evaluates anything.
IFS=$' \t\n' read -r -d '' -a paths <<<"${INPUT_FILES:-}" || true
IFS=$' \t\n' read -r -d '' -a args <<<"${INPUT_ARGS:-}" || true
[ "${#paths[@]}" -gt 0 ] || bail "files is empty"
files=()
for path in "${paths[@]}"; do
  files+=(-f "$path")
done
# One line, as the comment's marker and the summary name the config.
config="${paths[*]}"

# A folder of its own per command and config, so that several steps of one job do not collide.
key=$(printf '%s' "$command $config" | cksum | cut -d ' ' -f 1)
work="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/vntana-webhooks-$key"
rm -rf "$work"
mkdir -p "$work"

output plan-file ""
output markdown-file ""

status=0
case "$command" in
  validate)
    vntana-webhooks validate --offline "${files[@]}" --format github ${args[@]+"${args[@]}"} || status=$?
    if [ "$status" = 0 ]; then
      echo "**vntana-webhooks validate** \`$config\`: no problems." | summary
    else
      echo "**vntana-webhooks validate** \`$config\`: problems (exit $status); see the annotations." | summary
    fi
    output exit-code "$status"
    output has-changes false
    exit "$status"
    ;;

  apply)
    vntana-webhooks apply "${files[@]}" --auto-approve ${args[@]+"${args[@]}"} 2>&1 | tee "$work/apply.txt" ||
      status=${PIPESTATUS[0]}
    {
      echo "### vntana-webhooks apply \`$config\` (exit $status)"
      echo
      echo '```text'
      cat "$work/apply.txt"
      echo '```'
    } | summary
    output exit-code "$status"
    output has-changes false
    exit "$status"
    ;;
esac

# plan. The files alone first, annotated on their lines; the plan carries the same problems
# anyway, so it runs in every case, and the comment shows them.
validated=0
echo "::group::vntana-webhooks validate --offline"
vntana-webhooks validate --offline "${files[@]}" --format github || validated=$?
echo "::endgroup::"

vntana-webhooks plan "${files[@]}" --format markdown --detailed-exitcode \
  --out "$work/plan.json" ${args[@]+"${args[@]}"} >"$work/plan.md" || status=$?
if [ "$status" != 1 ] && [ "$validated" != 0 ]; then
  status=1
fi
echo "::group::the plan (markdown)"
cat "$work/plan.md"
echo "::endgroup::"

summary <"$work/plan.md"
output exit-code "$status"
if [ "$status" = 2 ]; then
  output has-changes true
else
  output has-changes false
fi
output markdown-file "$work/plan.md"
if [ -f "$work/plan.json" ]; then
  output plan-file "$work/plan.json"
fi

# The pull-request comment.
comment="${INPUT_COMMENT:-auto}"
if [ "$comment" = auto ]; then
  case "${GITHUB_EVENT_NAME:-}" in
    pull_request | pull_request_target) comment=true ;;
    *) comment=false ;;
  esac
fi
case "$comment" in
  true | false) ;;
  *) bail "comment must be true, false or auto, not \`$comment\`" ;;
esac
if [ "$comment" = true ]; then
  pr=""
  if [ -n "${GITHUB_EVENT_PATH:-}" ] && [ -f "$GITHUB_EVENT_PATH" ]; then
    pr=$(jq -r '.pull_request.number // empty' "$GITHUB_EVENT_PATH")
  fi
  if [ -z "$pr" ]; then
    echo "::warning::vntana-webhooks: no pull request in this event: the plan is in the job summary only"
  else
    case "$status" in
      0 | 2) verdict="" ;;
      3) verdict="> **Refused by a safety guard**: an apply would refuse it too (exit 3)." ;;
      *) verdict="> **The plan has errors**: fix them before merging (exit $status)." ;;
    esac
    sha="${GITHUB_SHA:-}"
    {
      # The marker that finds this comment again: one per config.
      printf '%s\n' "<!-- vntana-webhooks: ${config//-->/} -->"
      printf '%s\n\n' "$verdict"
      cat "$work/plan.md"
      printf '\n<sub>vntana-webhooks plan of `%s` at commit %s (this comment is updated on every push).</sub>\n' \
        "$config" "${sha:0:7}"
    } >"$work/comment.md"
    VNTANA_WEBHOOKS_PR="$pr" bash "$(dirname "$0")/comment.sh" "$work/comment.md" ||
      echo "::warning::vntana-webhooks: the plan comment could not be written (a pull request from a fork gets a read-only token): the plan is in the job summary"
  fi
fi

case "$status" in
  0 | 2) exit 0 ;;
  *) exit "$status" ;;
esac
