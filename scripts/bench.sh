#!/usr/bin/env bash
# nodectl's benchmarks: one script prints every figure of BENCHMARKS.md.
#
#   scripts/bench.sh            # all benchmarks
#   scripts/bench.sh validate   # one of them
#   BENCH_NODECTL=/tmp/nodectl-before scripts/bench.sh snapshot-latency   # another binary
#
# Builds the release binary, generates the projects it measures under target/bench/, and prints
# each figure as `name: value`. Timings are the median of several runs of the whole command.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${BENCH_RUNS:-7}
only=${1:-all}
bench_dir=target/bench
mkdir -p "$bench_dir"

# BENCH_NODECTL=/path/to/nodectl measures that binary instead (a before/after comparison of two
# builds on the same machine); the build is then skipped.
if [ -n "${BENCH_NODECTL:-}" ]; then
    nodectl=$BENCH_NODECTL
else
    cargo build --release --quiet
    nodectl=$PWD/target/release/nodectl
fi

# What the figures were measured on, so that BENCHMARKS.md can say it.
echo "bench_date: $(date -u +%Y-%m-%dT%H:%MZ)"
echo "bench_commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
echo "bench_machine: $(nproc) cores ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
echo "bench_command: scripts/bench.sh $only (BENCH_RUNS=$runs)"

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

# An emulator process for the remote benchmarks (its base URL in $emulator_base), and nodectl
# pointed at it (NODECTL_API_BASE and the client's credentials) until stop_emulator. It listens on
# $emulator_addr when set (a restarted emulator keeps its address, and so the content cache keyed by
# it), else on a free port.
start_emulator() {
    local log=$bench_dir/emulator.log
    "$nodectl" emulator --addr "${emulator_addr:-127.0.0.1:0}" --integration "Local Web Services" \
        --client-id bench --client-secret bench-secret "$@" >"$log" 2>&1 &
    emulator_pid=$!
    for _ in $(seq 100); do
        emulator_base=$(head -n 1 "$log" | awk '{print $NF}')
        [ -n "$emulator_base" ] && break
        sleep 0.1
    done
    export GENESYSCLOUD_OAUTHCLIENT_ID=bench GENESYSCLOUD_OAUTHCLIENT_SECRET=bench-secret NODECTL_API_BASE=$emulator_base
}
stop_emulator() { kill "$emulator_pid" 2>/dev/null; wait "$emulator_pid" 2>/dev/null || true; unset NODECTL_API_BASE; }
emulator_requests() { curl -s "$emulator_base/_emulator/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])'; }
emulator_status_count() { curl -s "$emulator_base/_emulator/stats" | python3 -c "import json,sys; r=json.load(sys.stdin)['routes']; print(sum(v.get('$1',0) for v in r.values()))"; }
millis() { date +%s%3N; }

if [ "$only" = all ] || [ "$only" = apply ]; then
    # Issue 6: an apply of 1,000 creates at --max-rps 10 against an emulator limited to 600 requests
    # per minute: the rate sustained, 429s received, nodes failed.
    project=$bench_dir/validate-1000
    generate_project 1000 "$project"
    start_emulator --rate-limit 600
    export NODECTL_CACHE_DIR=$bench_dir/cache
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
    unset NODECTL_CACHE_DIR
fi

if [ "$only" = all ] || [ "$only" = plan ]; then
    # Issues 5 and 6 against an emulator holding 1,000 actions (no rate limit, so that nodectl's own
    # work is timed): the cold plan (empty content cache) and the warm no-change plan, with the
    # requests each costs (the snapshot's).
    project=$bench_dir/validate-1000
    generate_project 1000 "$project"
    start_emulator --rate-limit 0
    export NODECTL_CACHE_DIR=$bench_dir/cache
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
    unset NODECTL_CACHE_DIR
fi

if [ "$only" = all ] || [ "$only" = export ]; then
    # Issue 8: exporting 1,000 actions from an emulator with the default rate limit (300 requests per
    # minute) at the env's default 4 requests/s costs no more requests than a full (cold) snapshot.
    project=$bench_dir/validate-1000
    generate_project 1000 "$project"
    rm -f "$bench_dir/export-org.json"
    start_emulator --rate-limit 0 --state "$bench_dir/export-org.json"
    export NODECTL_CACHE_DIR=$bench_dir/export-cache
    "$nodectl" apply --dir "$project" --auto-approve --max-rps 1000 --skip-dry-run >/dev/null 2>&1 || true
    stop_emulator
    start_emulator --state "$bench_dir/export-org.json"
    rm -rf "$NODECTL_CACHE_DIR" "$bench_dir/exported"
    before=$(emulator_requests); start=$(millis)
    "$nodectl" export --dir "$project" --out "$bench_dir/exported" >"$bench_dir/export.log" 2>&1
    end=$(millis); after=$(emulator_requests)
    echo "export_1000_seconds: $(awk "BEGIN {print ($end - $start) / 1000}")"
    echo "export_1000_requests: $((after - before)) (a cold snapshot: token + integrations + 11 listing pages + 3 per action = 3013)"
    echo "export_1000_429s: $(emulator_status_count 429)"
    stop_emulator
    unset NODECTL_CACHE_DIR
fi

if [ "$only" = all ] || [ "$only" = serve ]; then
    # Issue 7: `nodectl serve` under wrk on this 2-core machine. A minimal hyper "hello" server
    # (examples/hello.rs) is measured in the same run as the ceiling and is also the local upstream:
    # cached POST /simulate/node/{name} vs hello; uncached (every request goes to the upstream) vs the
    # upstream served directly; p99 of the cached path at 64 connections. wrk and the servers share
    # the 2 cores, so every figure is a ratio to a baseline measured the same way.
    command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
    cargo build --release --quiet --example hello --example proxy
    duration=${SERVE_BENCH_SECONDS:-10}
    dir=$bench_dir/serve
    rm -rf "$dir" && mkdir -p "$dir/nodes"
    ./target/release/examples/hello 127.0.0.1:0 >"$bench_dir/hello.log" 2>&1 &
    hello_pid=$!
    for _ in $(seq 100); do
        hello_base=$(head -n 1 "$bench_dir/hello.log" | awk '{print $NF}')
        [ -n "$hello_base" ] && break
        sleep 0.1
    done
    cat >"$dir/nodectl.toml" <<TOML
[project]
name = "serve-bench"
default_env = "local"
[env.local]
emulator = true
integration = "Local Web Services"
vars = { upstream = "$hello_base" }
TOML
    for kind in cached uncached; do
        cache_line=""
        [ "$kind" = cached ] && cache_line='cache = { ttl_seconds = 3600 }'
        cat >"$dir/nodes/$kind.toml" <<TOML
name = "Lookup $kind"
category = "Bench"
[request]
method = "GET"
url = "{{ vars.upstream }}/v1/customers/\$esc.url(\${input.customerId})"
headers = { Accept = "application/json" }
[response]
success_template = '{"name": \${name}, "tier": \${tier}}'
translation_map = { name = "\$.customer.name", tier = "\$.customer.tier" }
[input_schema]
type = "object"
required = ["customerId"]
properties.customerId = { type = "string", minLength = 1 }
[output_schema]
type = "object"
required = ["name", "tier"]
[local]
$cache_line
TOML
    done
    "$nodectl" serve --dir "$dir" --addr 127.0.0.1:0 >"$bench_dir/serve.log" 2>&1 &
    serve_pid=$!
    for _ in $(seq 100); do
        serve_base=$(head -n 1 "$bench_dir/serve.log" | awk '{print $NF}')
        [ -n "$serve_base" ] && break
        sleep 0.1
    done
    cat >"$dir/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"customerId": "c-42"}'
wrk.headers["Content-Type"] = "application/json"
LUA
    # requests/s of a wrk run; p99 in ms with --latency.
    rps() { wrk -t2 -c"$1" -d"${duration}s" "${@:2}" | awk '/Requests\/sec/ {printf "%d\n", $2}'; }
    p99_ms() {
        wrk -t2 -c"$1" -d"${duration}s" --latency "${@:2}" | awk '/^ +99%/ {
            v = $2; if (v ~ /us$/) { sub(/us$/, "", v); v = v / 1000 } else if (v ~ /ms$/) { sub(/ms$/, "", v) } else if (v ~ /s$/) { sub(/s$/, "", v); v = v * 1000 }
            printf "%.2f\n", v }'
    }
    curl -s -X POST "$serve_base/simulate/node/Lookup%20cached" -d '{"customerId": "c-42"}' >/dev/null
    hello_rps=$(rps 64 "$hello_base/")
    cached_rps=$(rps 64 -s "$dir/post.lua" "$serve_base/simulate/node/Lookup%20cached")
    direct_rps=$(rps 64 "$hello_base/v1/customers/c-42")
    uncached_rps=$(rps 64 -s "$dir/post.lua" "$serve_base/simulate/node/Lookup%20uncached")
    # The ceiling of any uncached figure: proxies that do nothing but forward (examples/proxy.rs),
    # over nodectl's own pooled client and over one dedicated raw hyper connection each.
    for mode in pooled dedicated; do
        ./target/release/examples/proxy "$mode" 127.0.0.1:0 "$hello_base/v1/customers/c-42" >"$bench_dir/proxy.log" 2>&1 &
        proxy_pid=$!
        proxy_base=""
        for _ in $(seq 100); do
            proxy_base=$(head -n 1 "$bench_dir/proxy.log" | awk '{print $NF}')
            [ -n "$proxy_base" ] && break
            sleep 0.1
        done
        proxy_rps=$(rps 64 "$proxy_base/")
        echo "serve_bare_proxy_${mode}_requests_per_second: $proxy_rps ($(awk "BEGIN {printf \"%.2f\", $proxy_rps / $direct_rps}") of direct)"
        kill "$proxy_pid"; wait "$proxy_pid" 2>/dev/null || true
    done
    cached_p99=$(p99_ms 64 -s "$dir/post.lua" "$serve_base/simulate/node/Lookup%20cached")
    hello_p99=$(p99_ms 64 "$hello_base/")
    echo "serve_hello_requests_per_second: $hello_rps"
    echo "serve_cached_requests_per_second: $cached_rps ($(awk "BEGIN {printf \"%.2f\", $cached_rps / $hello_rps}") of hello; target 0.50)"
    echo "serve_upstream_direct_requests_per_second: $direct_rps"
    echo "serve_uncached_requests_per_second: $uncached_rps ($(awk "BEGIN {printf \"%.2f\", $uncached_rps / $direct_rps}") of direct; target 0.33)"
    echo "serve_cached_p99_ms_at_64_connections: $cached_p99 (target < 5; hello: $hello_p99)"
    curl -s "$serve_base/metrics" | grep -E '^nodectl_serve_(requests_total|cache_(hits|misses)_total|upstream_attempts_total)' | sed 's/^/serve_metrics: /'
    kill "$serve_pid" "$hello_pid" 2>/dev/null; wait "$serve_pid" "$hello_pid" 2>/dev/null || true
fi

if [ "$only" = all ] || [ "$only" = scale ]; then
    # Issue 9: how validate and test grow with the project (3 fixtures per node), time and memory.
    for nodes in 100 1000 10000; do
        project=$bench_dir/scale-$nodes
        if [ "$nodes" = 1000 ]; then project=$bench_dir/validate-1000; fi
        generate_project "$nodes" "$project"
        echo "scale_${nodes}_validate_ms: $(median_ms "$nodectl" validate --dir "$project")"
        echo "scale_${nodes}_validate_peak_rss_mib: $(peak_mib "$nodectl" validate --dir "$project")"
        echo "scale_${nodes}_test_ms: $(median_ms "$nodectl" test --dir "$project")"
        echo "scale_${nodes}_test_peak_rss_mib: $(peak_mib "$nodectl" test --dir "$project")"
        # plan against an org that already holds every node (applied once, untimed), content cache
        # warm: the steady state of a GitOps pipeline. Includes the dry-run of every fixture.
        start_emulator --rate-limit 0
        export NODECTL_CACHE_DIR=$bench_dir/cache-scale-$nodes
        rm -rf "$NODECTL_CACHE_DIR"
        "$nodectl" apply --dir "$project" --auto-approve --max-rps 5000 --skip-dry-run >/dev/null 2>&1 || true
        "$nodectl" plan --dir "$project" --max-rps 5000 >/dev/null
        echo "scale_${nodes}_plan_warm_no_change_ms: $(median_ms "$nodectl" plan --dir "$project" --max-rps 5000)"
        echo "scale_${nodes}_plan_peak_rss_mib: $(peak_mib "$nodectl" plan --dir "$project" --max-rps 5000)"
        stop_emulator
        unset NODECTL_CACHE_DIR
    done
fi

if [ "$only" = all ] || [ "$only" = snapshot-latency ]; then
    # Issue 15, part 6: the warm no-change plan of 1,000 actions against an org 150 ms away (every
    # answer of the emulator 150 ms late), where the time is the round trips on the snapshot's
    # critical path. The org is built and the content cache warmed without latency, then the emulator
    # is restarted with --latency-ms 150 on the same address (the cache is keyed by the API base) and
    # state. --max-rps 1000 takes the token bucket out of the figure; the last figure is at the env's
    # own 4 requests/s, whose bucket starts empty (docs/plan-apply.md).
    project=$bench_dir/validate-1000
    generate_project 1000 "$project"
    state=$bench_dir/latency-org.json
    rm -f "$state"
    emulator_addr=127.0.0.1:$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    export NODECTL_CACHE_DIR=$bench_dir/latency-cache
    rm -rf "$NODECTL_CACHE_DIR"
    start_emulator --rate-limit 0 --state "$state"
    "$nodectl" apply --dir "$project" --auto-approve --max-rps 1000 --skip-dry-run >/dev/null 2>&1 || true
    "$nodectl" plan --dir "$project" --max-rps 1000 >/dev/null
    echo "plan_1000_warm_no_latency_ms: $(median_ms "$nodectl" plan --dir "$project" --max-rps 1000)"
    stop_emulator
    start_emulator --rate-limit 0 --state "$state" --latency-ms 150
    before=$(emulator_requests)
    warm=$(median_ms "$nodectl" plan --dir "$project" --max-rps 1000)
    after=$(emulator_requests)
    echo "plan_1000_warm_latency_150ms_ms: $warm (target < 1000)"
    echo "plan_1000_warm_latency_150ms_requests: $(( (after - before) / runs ))"
    echo "plan_1000_warm_latency_150ms_at_4_rps_ms: $(median_ms "$nodectl" plan --dir "$project")"
    # The round trips alone: a one-node project (next to nothing to load) planned against the same
    # org of 1,000 actions, whose snapshot is the same 13 requests and 1,000 cache hits.
    generate_project 1 "$bench_dir/latency-1"
    echo "plan_1_node_org_1000_latency_150ms_ms: $(median_ms "$nodectl" plan --dir "$bench_dir/latency-1" --max-rps 1000)"
    stop_emulator
    unset NODECTL_CACHE_DIR emulator_addr
fi

# Issue 19, part 5: the size of the binary users install (`cargo install --profile dist`: lto,
# one codegen unit, stripped; goal under 25 MB) next to the release build's.
if [ "$only" = all ] || [ "$only" = binary-size ]; then
    cargo build --profile dist --quiet
    echo "binary_dist_bytes: $(stat -c %s target/dist/nodectl) (goal < 25000000)"
    cargo build --release --quiet
    echo "binary_release_bytes: $(stat -c %s target/release/nodectl)"
fi
