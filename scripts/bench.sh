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
