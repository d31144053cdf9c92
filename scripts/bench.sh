#!/usr/bin/env bash
# nodectl's benchmarks: one script prints every figure of BENCHMARKS.md.
#
#   scripts/bench.sh            # all benchmarks
#   scripts/bench.sh validate   # one of them
#
# Builds the release binary, generates the projects it measures under target/bench/, and prints
# each figure as `name: value`. Timings are the median of several runs of the whole command.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${BENCH_RUNS:-7}
only=${1:-all}
bench_dir=target/bench
mkdir -p "$bench_dir"

cargo build --release --quiet
nodectl=$PWD/target/release/nodectl

# median wall time in milliseconds of `runs` runs of a command (stdout discarded).
median_ms() {
    local times=()
    for _ in $(seq "$runs"); do
        local start end
        start=$(date +%s%N)
        "$@" >/dev/null
        end=$(date +%s%N)
        times+=($(( (end - start) / 1000000 )))
    done
    printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

# peak resident memory in MiB of one run of a command.
peak_mib() {
    /usr/bin/time -f '%M' "$@" 2>&1 >/dev/null | tail -n 1 | awk '{printf "%.1f\n", $1/1024}'
}

# A project of N nodes with 3 fixtures each, shaped like the example project (tera vars, schemas,
# translation maps, retry and cache policies), in two envs.
generate_project() {
    local nodes=$1 dir=$2
    [ -f "$dir/.complete" ] && return 0
    rm -rf "$dir"
    python3 - "$nodes" "$dir" <<'PY'
import os, sys
n, root = int(sys.argv[1]), sys.argv[2]
os.makedirs(f"{root}/nodes"); os.makedirs(f"{root}/fixtures")
open(f"{root}/nodectl.toml", "w").write('''[project]
name = "bench"
default_env = "local"

[env.local]
emulator = true
integration = "Local Web Services"
vars = { crm_base = "https://crm.example.test" }

[env.prod]
region = "eu-west-1"
integration = "ACME Web Services"
vars = { crm_base = "https://crm.acme.com" }
''')
for i in range(n):
    name = f"Lookup Customer {i:05d}"
    open(f"{root}/nodes/node-{i:05d}.toml", "w").write(f'''name = "{name}"
category = "CRM"
timeout_seconds = 15

[request]
method = "GET"
url = "{{{{ vars.crm_base }}}}/v1/customers/$esc.url(${{input.customerId}})?n={i}"
headers = {{ Accept = "application/json", Authorization = "Bearer ${{credentials.apiToken}}" }}

[response]
success_template = '{{"name": ${{name}}, "tier": ${{tier}}, "orders": ${{orders}}}}'
translation_map = {{ name = "$.customer.name", tier = "$.customer.tier", orders = "$.orders[*].id" }}
translation_map_defaults = {{ tier = '"standard"' }}

[input_schema]
type = "object"
required = ["customerId"]
properties.customerId = {{ type = "string", minLength = 1 }}
properties.channel = {{ type = "string", enum = ["voice", "chat", "email"] }}

[output_schema]
type = "object"
properties.name = {{ type = "string" }}
properties.tier = {{ type = "string" }}
properties.orders = {{ type = "array", items = {{ type = "string" }} }}

[local]
retry = {{ max_retries = 2, backoff = "exponential", initial_delay_ms = 200 }}
cache = {{ ttl_seconds = 60 }}
''')
    d = f"{root}/fixtures/node-{i:05d}"
    os.makedirs(d)
    for k, (status, success) in enumerate([(200, "true"), (404, "false"), (503, "true")]):
        exchanges = f'''[[exchange]]
request.method = "GET"
request.url = "{{{{ vars.crm_base }}}}/v1/customers/c-{k}?n={i}"
request.headers = {{ Authorization = "Bearer test-token" }}
response.status = {status}
response.body = '{{"customer": {{"name": "Ada", "tier": "gold"}}, "orders": [{{"id": "o1"}}]}}'
'''
        if status == 503:
            exchanges = exchanges.replace("response.status = 503", "response.status = 503\nresponse.headers = { Retry-After = \"1\" }") + exchanges.replace("response.status = 503", "response.status = 200")
        expect = 'output = { name = "Ada", tier = "gold", orders = ["o1"] }' if success == "true" else 'error = "remote.status"'
        open(f"{d}/case-{k}.toml", "w").write(f'''node = "{name}"
description = "generated case {k}"

[input]
customerId = "c-{k}"

[credentials]
apiToken = "test-token"

{exchanges}
[expect]
success = {success}
{expect}
''')
open(f"{root}/.complete", "w").write("")
PY
}

if [ "$only" = all ] || [ "$only" = validate ]; then
    project=$bench_dir/validate-1000
    generate_project 1000 "$project"
    "$nodectl" validate --dir "$project" | tail -n 2 >&2
    echo "validate_1000_nodes_3000_fixtures_all_envs_ms: $(median_ms "$nodectl" validate --dir "$project")"
    echo "validate_1000_nodes_3000_fixtures_one_env_ms: $(median_ms "$nodectl" validate --dir "$project" --env local)"
    echo "validate_1000_nodes_peak_rss_mib: $(peak_mib "$nodectl" validate --dir "$project")"
fi

if [ "$only" = all ] || [ "$only" = test ]; then
    project=$bench_dir/validate-1000
    generate_project 1000 "$project"
    "$nodectl" test --dir "$project" | tail -n 1 >&2
    echo "test_1000_nodes_3000_fixtures_ms: $(median_ms "$nodectl" test --dir "$project")"
    echo "test_1000_nodes_peak_rss_mib: $(peak_mib "$nodectl" test --dir "$project")"
fi

if [ "$only" = all ] || [ "$only" = runtime ]; then
    # Pinned to one core: the figures are per core (issue 3).
    cargo bench --quiet --bench runtime --no-run
    taskset -c 0 cargo bench --quiet --bench runtime 2>/dev/null | grep -E '_per_second: '
fi

# An emulator process for the remote benchmarks; prints its base URL into $emulator_base.
start_emulator() {
    local log=$bench_dir/emulator.log
    "$nodectl" emulator --addr 127.0.0.1:0 --integration "Local Web Services" \
        --client-id bench --client-secret bench-secret "$@" >"$log" 2>&1 &
    emulator_pid=$!
    for _ in $(seq 100); do
        emulator_base=$(head -n 1 "$log" | awk '{print $NF}')
        [ -n "$emulator_base" ] && break
        sleep 0.1
    done
}
stop_emulator() { kill "$emulator_pid" 2>/dev/null; wait "$emulator_pid" 2>/dev/null || true; }
emulator_requests() { curl -s "$emulator_base/_emulator/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])'; }
emulator_status_count() { curl -s "$emulator_base/_emulator/stats" | python3 -c "import json,sys; r=json.load(sys.stdin)['routes']; print(sum(v.get('$1',0) for v in r.values()))"; }
millis() { date +%s%3N; }

if [ "$only" = all ] || [ "$only" = apply ]; then
    # Issue 6: an apply of 1,000 creates at --max-rps 10 against an emulator limited to 600 requests
    # per minute: the rate sustained, 429s received, nodes failed.
    project=$bench_dir/validate-1000
    generate_project 1000 "$project"
    export GENESYSCLOUD_OAUTHCLIENT_ID=bench GENESYSCLOUD_OAUTHCLIENT_SECRET=bench-secret
    start_emulator --rate-limit 600
    export NODECTL_API_BASE=$emulator_base NODECTL_CACHE_DIR=$bench_dir/cache
    rm -rf "$NODECTL_CACHE_DIR"
    before=$(emulator_requests); start=$(millis)
    "$nodectl" apply --dir "$project" --auto-approve --max-rps 10 --skip-dry-run >"$bench_dir/apply.log" 2>&1 || true
    end=$(millis); after=$(emulator_requests)
    seconds=$(awk "BEGIN {print ($end - $start) / 1000}")
    echo "apply_1000_creates_seconds: $seconds"
    echo "apply_1000_creates_requests: $((after - before))"
    echo "apply_1000_creates_rate_per_second: $(awk "BEGIN {printf \"%.2f\", ($after - $before) / $seconds}") (configured 10)"
    echo "apply_1000_creates_429s: $(emulator_status_count 429)"
    echo "apply_1000_creates_failed_nodes: $(grep -c '^  FAILED' "$bench_dir/apply.log" || true)"
    stop_emulator
    unset NODECTL_API_BASE NODECTL_CACHE_DIR
fi

if [ "$only" = all ] || [ "$only" = plan ]; then
    # Issues 5 and 6 against an emulator holding 1,000 actions (no rate limit, so that nodectl's own
    # work is timed): the cold plan (empty content cache) and the warm no-change plan, with the
    # requests each costs (the snapshot's).
    project=$bench_dir/validate-1000
    generate_project 1000 "$project"
    export GENESYSCLOUD_OAUTHCLIENT_ID=bench GENESYSCLOUD_OAUTHCLIENT_SECRET=bench-secret
    start_emulator --rate-limit 0
    export NODECTL_API_BASE=$emulator_base NODECTL_CACHE_DIR=$bench_dir/cache
    "$nodectl" apply --dir "$project" --auto-approve --max-rps 1000 --skip-dry-run >/dev/null 2>&1 || true
    rm -rf "$NODECTL_CACHE_DIR"
    before=$(emulator_requests); start=$(millis)
    "$nodectl" plan --dir "$project" --max-rps 1000 >/dev/null
    end=$(millis); after=$(emulator_requests)
    echo "plan_1000_cold_ms: $((end - start))"
    echo "plan_1000_cold_requests: $((after - before))"
    before=$(emulator_requests)
    warm=$(median_ms "$nodectl" plan --dir "$project" --max-rps 1000)
    after=$(emulator_requests)
    echo "plan_1000_warm_no_change_with_dry_run_ms: $warm"
    echo "plan_1000_warm_requests: $(( (after - before) / runs ))"
    stop_emulator
    unset NODECTL_API_BASE NODECTL_CACHE_DIR
fi

if [ "$only" = all ] || [ "$only" = export ]; then
    # Issue 8: exporting 1,000 actions from an emulator with the default rate limit (300 requests per
    # minute) at the env's default 4 requests/s costs no more requests than a full (cold) snapshot.
    project=$bench_dir/validate-1000
    generate_project 1000 "$project"
    export GENESYSCLOUD_OAUTHCLIENT_ID=bench GENESYSCLOUD_OAUTHCLIENT_SECRET=bench-secret
    rm -f "$bench_dir/export-org.json"
    start_emulator --rate-limit 0 --state "$bench_dir/export-org.json"
    export NODECTL_API_BASE=$emulator_base NODECTL_CACHE_DIR=$bench_dir/export-cache
    "$nodectl" apply --dir "$project" --auto-approve --max-rps 1000 --skip-dry-run >/dev/null 2>&1 || true
    stop_emulator
    start_emulator --state "$bench_dir/export-org.json"
    export NODECTL_API_BASE=$emulator_base
    rm -rf "$NODECTL_CACHE_DIR" "$bench_dir/exported"
    before=$(emulator_requests); start=$(millis)
    "$nodectl" export --dir "$project" --out "$bench_dir/exported" >"$bench_dir/export.log" 2>&1
    end=$(millis); after=$(emulator_requests)
    echo "export_1000_seconds: $(awk "BEGIN {print ($end - $start) / 1000}")"
    echo "export_1000_requests: $((after - before)) (a cold snapshot: token + integrations + 11 listing pages + 3 per action = 3013)"
    echo "export_1000_429s: $(emulator_status_count 429)"
    stop_emulator
    unset NODECTL_API_BASE NODECTL_CACHE_DIR
fi
