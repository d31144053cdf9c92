#!/usr/bin/env bash
# nodectl's CI building block: the steps a pipeline runs, in one script that the GitHub Action
# (action.yml) and the GitLab CI template (ci/gitlab/nodectl.gitlab-ci.yml) both call, and that
# tests/it/scenarios.rs runs locally against the emulator.
#
#   ci/nodectl-ci.sh check               # validate, then test with a JUnit report ($NODECTL_JUNIT)
#   ci/nodectl-ci.sh plan ENV [FILE]     # the plan as Markdown (the PR comment) into FILE (plan.md);
#                                        # changes are not a failure, refusals and errors are
#   ci/nodectl-ci.sh apply ENV           # apply without a question (the default branch's job)
#
# Settings (environment): NODECTL (the binary, default `nodectl`), NODECTL_DIR (the project,
# default `.`), NODECTL_JUNIT (default target/nodectl-junit.xml). The org's OAuth client comes from
# the variables the env names (GENESYSCLOUD_OAUTHCLIENT_ID / _SECRET, optionally suffixed).
set -euo pipefail

nodectl=${NODECTL:-nodectl}
dir=${NODECTL_DIR:-.}
junit=${NODECTL_JUNIT:-target/nodectl-junit.xml}

usage() {
    echo "usage: $0 check | plan ENV [FILE] | apply ENV" >&2
    exit 64
}

step=${1:-}
case "$step" in
    check)
        "$nodectl" validate --dir "$dir"
        "$nodectl" test --dir "$dir" --junit "$junit"
        ;;
    plan)
        env=${2:-}
        [ -n "$env" ] || usage
        out=${3:-plan.md}
        status=0
        "$nodectl" plan --dir "$dir" --env "$env" --output markdown --detailed-exitcode > "$out" || status=$?
        # 2: there are changes, which is what a pull request is for.
        if [ "$status" -ne 0 ] && [ "$status" -ne 2 ]; then
            cat "$out" >&2
            exit "$status"
        fi
        echo "plan written to $out ($([ "$status" -eq 2 ] && echo changes || echo no changes))"
        ;;
    apply)
        env=${2:-}
        [ -n "$env" ] || usage
        "$nodectl" apply --dir "$dir" --env "$env" --auto-approve
        ;;
    *)
        usage
        ;;
esac
