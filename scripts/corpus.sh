#!/usr/bin/env bash
# The public-actions corpus through nodectl, one definition at a time: import into a fresh project
# whose env is the embedded emulator (one integration per integration type the corpus holds),
# validate (no errors), apply --auto-approve, export into a second fresh project sharing the
# emulator's state, plan there (no changes), export --format genesys, and compare with the original
# (same name, integrationType, actionType, config and contract once defaults are normalised).
# Prints the count per outcome with each failure's reason, the warning kinds validate reports, and
# the share of dry-runnable actions. Not part of `cargo test` (no test reads ../shared); `.ci/run`
# runs it when the corpus is there.
#
#   scripts/corpus.sh [--min-ok N] DIR   (DIR holds actions/*.json; NODECTL=path/to/nodectl to choose the binary)
#
# Exits 1 when fewer than N definitions (default: all) make the whole round trip, so that CI catches
# a regression without failing on what is known not to pass yet.
set -uo pipefail

min_ok=""
if [[ ${1:-} == --min-ok ]]; then
    min_ok=${2:?--min-ok needs a number}
    shift 2
fi
dir=${1:?usage: scripts/corpus.sh [--min-ok N] DIR (a directory holding actions/*.json)}
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${NODECTL:-}
if [[ -z $bin ]]; then
    # The newer of the release and debug builds: a stale one would test old code.
    for candidate in "$root/target/release/nodectl" "$root/target/debug/nodectl"; do
        if [[ -x $candidate && ( -z $bin || $candidate -nt $bin ) ]]; then bin=$candidate; fi
    done
fi
[[ -x ${bin:-} ]] || { echo "corpus: no nodectl binary (cargo build first, or set NODECTL)" >&2; exit 2; }
shopt -s nullglob
files=("$dir"/actions/*.json)
((${#files[@]} > 0)) || { echo "corpus: no $dir/actions/*.json" >&2; exit 2; }

work=$(mktemp -d)
auth_emulator_pid=""
trap '[[ -n $auth_emulator_pid ]] && kill "$auth_emulator_pid" 2>/dev/null; rm -rf "$work"' EXIT
results=$work/results.tsv
: >"$results"

# One integration per type found in the corpus (an API file without type gets its URL's).
integrations=$(python3 - "${files[@]}" <<'EOF'
import json, sys
kinds = set()
for path in sys.argv[1:]:
    try:
        data = json.load(open(path, encoding="utf-8-sig"))
        kind = data.get("integrationType")
        if not kind:
            url = data.get("config", {}).get("request", {}).get("requestUrlTemplate", "")
            kind = "purecloud-data-actions" if url.startswith("/") else "custom-rest-actions"
        kinds.add(kind)
    except Exception:
        pass
kinds.add("custom-rest-actions")
entries = []
for kind in sorted(kinds):
    if kind == "custom-rest-actions":
        entries.append('"Web Services"')
    else:
        entries.append('{ name = "%s", type = "%s" }' % ("Corpus " + kind, kind))
print(", ".join(entries))
EOF
)

project_file() {
    printf '[project]\nname = "corpus"\ndefault_env = "dev"\n\n[env.dev]\nemulator = true\nintegrations = [%s]\nmax_rps = 1000\n' "$integrations" >"$1/nodectl.toml"
}


# A custom authentication action (`actionType: customAuth`) exists only in a Web Services
# integration bound to a User Defined OAuth credential, which Genesys (here the emulator) creates with
# it: those definitions go to a `nodectl emulator` process of their own, one integration each, set up
# through its API as an admin would in the UI; both projects of such a definition point at it.
is_custom_auth() { python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1], encoding="utf-8-sig")).get("actionType") == "customAuth" else 1)' "$1" 2>/dev/null; }
auth_base=""
start_auth_emulator() {
    local out=$work/auth-emulator.out
    "$bin" emulator --addr 127.0.0.1:0 --state "$work/auth-org.json" >"$out" 2>&1 &
    auth_emulator_pid=$!
    for _ in $(seq 50); do
        auth_base=$(grep -m1 -o 'http://127.0.0.1:[0-9]*' "$out" || true)
        [[ -n $auth_base ]] && return 0
        sleep 0.1
    done
    echo "corpus: the custom-auth emulator did not start" >&2
    exit 2
}
# auth_project_file DIR INTEGRATION: the integration, its credential and binding, and the project.
auth_project_file() {
    python3 - "$auth_base" "$2" <<'EOF'
import base64, json, sys, urllib.error, urllib.request
base, name = sys.argv[1], sys.argv[2]
basic = base64.b64encode(b"nodectl-emulator:nodectl-emulator-secret").decode()
req = urllib.request.Request(base + "/oauth/token", data=b"grant_type=client_credentials",
                             headers={"Authorization": "Basic " + basic,
                                      "Content-Type": "application/x-www-form-urlencoded"})
token = json.load(urllib.request.urlopen(req))["access_token"]
def call(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    r = urllib.request.Request(base + path, data=data, method=method,
                               headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    try:
        return json.load(urllib.request.urlopen(r))
    except urllib.error.HTTPError as error:
        sys.exit(f"corpus: {method} {path} -> {error.code}: {error.read().decode(errors='replace')}")
integration = call("POST", "/api/v2/integrations", {"integrationType": {"id": "custom-rest-actions"}})
credential = call("POST", "/api/v2/integrations/credentials",
                  {"name": name, "type": {"name": "userDefinedOAuth"}, "credentialFields": {"clientId": "corpus"}})
config = call("GET", f"/api/v2/integrations/{integration['id']}/config/current")
call("PUT", f"/api/v2/integrations/{integration['id']}/config/current",
     {"name": name, "version": config["version"], "credentials": {"basicAuth": {"id": credential["id"]}}})
EOF
    printf '[project]\nname = "corpus"\ndefault_env = "dev"\n\n[env.dev]\napi_base = "%s"\nintegration = "%s"\nmax_rps = 1000\n' "$auth_base" "$2" >"$1/nodectl.toml"
}
export GENESYSCLOUD_OAUTHCLIENT_ID=nodectl-emulator GENESYSCLOUD_OAUTHCLIENT_SECRET=nodectl-emulator-secret

first_line() { grep -v '^note:' "$1" | grep -m1 -E 'error|FAIL|->|[~+-] ' | cut -c1-300; }

n=0
for file in "${files[@]}"; do
    n=$((n + 1))
    name=$(basename "$file")
    case_dir=$work/$n
    a=$case_dir/a b=$case_dir/b g=$case_dir/genesys
    mkdir -p "$a" "$b"
    if is_custom_auth "$file"; then
        [[ -n $auth_base ]] || start_auth_emulator
        auth_project_file "$a" "Corpus Auth $n"
    else
        project_file "$a"
    fi
    stage=import reason=""
    if ! "$bin" --color never import --dir "$a" "$file" >"$case_dir/import.out" 2>&1; then
        reason=$(grep -m1 'error:' "$case_dir/import.out" | sed "s#$dir/actions/##" | cut -c1-300)
    else
        stage=validate
        "$bin" --color never validate --dir "$a" >"$case_dir/validate.out" 2>&1
        grep ': warning: ' "$case_dir/validate.out" >"$case_dir/warnings" || true
        if grep -q ': error: ' "$case_dir/validate.out"; then
            reason=$(grep -m1 ': error: ' "$case_dir/validate.out" | cut -c1-300)
        else
            stage=apply
            if ! "$bin" --color never apply --dir "$a" --auto-approve >"$case_dir/apply.out" 2>&1; then
                reason=$(grep -m1 -A1 'FAILED\|error:' "$case_dir/apply.out" | tr '\n' ' ' | cut -c1-300)
            else
                grep -q 'not dry-runnable' "$case_dir/apply.out" && echo "$name" >"$case_dir/not-dry-runnable"
                stage=export
                rmdir "$b"
                if ! "$bin" --color never export --dir "$a" --out "$b" >"$case_dir/export.out" 2>&1; then
                    reason=$(grep -m1 'error:' "$case_dir/export.out" | cut -c1-300)
                else
                    if [[ -f $a/.nodectl/emulator/dev.json ]]; then
                        mkdir -p "$b/.nodectl/emulator"
                        cp "$a/.nodectl/emulator/dev.json" "$b/.nodectl/emulator/dev.json"
                    fi
                    stage=plan
                    "$bin" --color never plan --dir "$b" --detailed-exitcode >"$case_dir/plan.out" 2>&1
                    code=$?
                    if ((code != 0)); then
                        reason="exit $code: $(first_line "$case_dir/plan.out")"
                    else
                        stage=genesys
                        if ! "$bin" --color never export --dir "$b" --format genesys --output "$g" >"$case_dir/genesys.out" 2>&1; then
                            reason=$(grep -m1 'error:' "$case_dir/genesys.out" | cut -c1-300)
                        else
                            stage=compare
                            out=("$g"/*.custom.json)
                            if ((${#out[@]} != 1)); then
                                reason="${#out[@]} files exported"
                            else
                                reason=$(python3 - "$file" "${out[0]}" <<'EOF'
import json, sys

def text(s):
    return s.replace("\r\n", "\n") if isinstance(s, str) else s

def norm(path):
    d = json.load(open(path, encoding="utf-8-sig"))
    config = d.get("config", {})
    req = config.get("request", {})
    res = config.get("response", {})
    kind = d.get("integrationType")
    url = req.get("requestUrlTemplate")
    if not kind:
        kind = "purecloud-data-actions" if (url or "").startswith("/") else "custom-rest-actions"
    out = {
        "name": d.get("name"),
        "integrationType": kind,
        "actionType": d.get("actionType", "custom"),
        "secure": bool(d.get("secure", False)),
        "timeoutSeconds": config.get("timeoutSeconds"),
        "request": {
            "requestUrlTemplate": text(url) or None,
            "requestType": req.get("requestType"),
            "headers": sorted((k.lower(), v) for k, v in (req.get("headers") or {}).items()),
            "requestTemplate": text(req.get("requestTemplate") or "${input.rawRequest}"),
        },
        "response": {
            "translationMap": dict(sorted((res.get("translationMap") or {}).items())),
            "translationMapDefaults": dict(sorted((res.get("translationMapDefaults") or {}).items())),
            "successTemplate": text(res.get("successTemplate") or "${rawResult}"),
        },
        "inputSchema": d.get("contract", {}).get("input", {}).get("inputSchema"),
        "successSchema": d.get("contract", {}).get("output", {}).get("successSchema"),
    }
    return out

a, b = norm(sys.argv[1]), norm(sys.argv[2])
diffs = []
for key in a:
    if isinstance(a[key], dict):
        diffs += [f"{key}.{k}" for k in a[key] if a[key][k] != b[key].get(k)]
    elif a[key] != b[key]:
        diffs.append(f"{key} ({a[key]!r} -> {b[key]!r})")
print("; ".join(diffs)[:300])
EOF
)
                                [[ -z $reason ]] && stage=ok
                            fi
                        fi
                    fi
                fi
            fi
        fi
    fi
    printf '%s\t%s\t%s\n' "$stage" "$name" "$reason" >>"$results"
done

python3 - "$results" "$work" "$n" "${min_ok:-$n}" <<'EOF'
import collections, glob, os, re, sys
results, work, total, min_ok = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
rows = [line.rstrip("\n").split("\t", 2) for line in open(results)]
order = ["import", "validate", "apply", "export", "plan", "genesys", "compare"]
failed_at = collections.Counter(r[0] for r in rows)
print(f"corpus: {total} definition(s)")
passed = total
for stage in order:
    passed -= failed_at.get(stage, 0)
    label = {"genesys": "export --format genesys", "compare": "round trip", "plan": "plan (no changes)", "export": "export"}.get(stage, stage)
    print(f"  {label:<24} ok {passed:>4}  failed {failed_at.get(stage, 0):>4}")
for stage in order:
    failures = [r for r in rows if r[0] == stage]
    if failures:
        print(f"\nfailed at {stage}:")
        for _, name, reason in failures:
            print(f"  {name}: {reason}")
kinds = collections.Counter()
for path in glob.glob(os.path.join(work, "*", "warnings")):
    for line in open(path):
        message = line.split(": warning: ", 1)[-1].strip()
        message = re.sub(r"`[^`]*`", "`…`", message)
        message = re.sub(r'"[^"]*"', '"…"', message)
        kinds[message[:140]] += 1
print("\nwarnings by kind:")
for message, count in kinds.most_common():
    print(f"  {count:>4}  {message}")
applied = [r for r in rows if r[0] not in ("import", "validate", "apply")]
not_dry = len(glob.glob(os.path.join(work, "*", "not-dry-runnable")))
if applied:
    share = 100.0 * (len(applied) - not_dry) / len(applied)
    print(f"\ndry-runnable: {len(applied) - not_dry} of {len(applied)} applied action(s) ({share:.1f} %); not dry-runnable:")
    for path in sorted(glob.glob(os.path.join(work, "*", "not-dry-runnable"))):
        print("  " + open(path).read().strip())
ok = sum(1 for r in rows if r[0] == "ok")
if ok < min_ok:
    print(f"\ncorpus: {ok} round trip(s), fewer than the {min_ok} expected")
    sys.exit(1)
EOF
