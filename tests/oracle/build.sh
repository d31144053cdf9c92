#!/usr/bin/env bash
# Builds the Velocity differential test's reference harness (tests/oracle/VelocityOracle.java) against
# Debian's Apache Velocity packages, into target/velocity-oracle/ (or OUTDIR; $CARGO_TARGET_DIR is
# honoured). Run by scripts/test.sh before `cargo test`, and by tests/it/vtl_oracle.rs when the build is
# missing or older than its sources.
#   usage: tests/oracle/build.sh [OUTDIR]
#   gives: OUTDIR/VelocityOracle*.class and OUTDIR/classpath, the full class path (OUTDIR and the jars)
#          on one line, so that the harness runs as:
#              java -cp "$(cat OUTDIR/classpath)" VelocityOracle CASES.json
# Needs a JDK (javac) and the jars of: apt-get install -y velocity libvelocity-tools-java
# libjackson2-databind-java (scripts/test.sh installs them). Does nothing when the build is up to date.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${1:-${CARGO_TARGET_DIR:-$root/target}/velocity-oracle}
source_file=$here/VelocityOracle.java

jar_dir=/usr/share/java
# velocity 1.7 needs commons-collections 3 and commons-lang 2 (EscapeTool too); jackson-databind needs
# jackson-core and jackson-annotations.
jars=(velocity.jar velocity-tools.jar commons-collections3.jar commons-lang.jar
    jackson-databind.jar jackson-core.jar jackson-annotations.jar)

missing=()
classpath=()
for jar in "${jars[@]}"; do
    [ -f "$jar_dir/$jar" ] || missing+=("$jar_dir/$jar")
    classpath+=("$jar_dir/$jar")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "velocity oracle: missing ${missing[*]}; run scripts/test.sh, which installs them" \
        "(apt-get install -y velocity libvelocity-tools-java libjackson2-databind-java)" >&2
    exit 1
fi

mkdir -p "$out"
out=$(cd "$out" && pwd)
if [ -f "$out/classpath" ] && [ "$out/classpath" -nt "$source_file" ] && [ "$out/classpath" -nt "$0" ]; then
    exit 0
fi
if ! command -v javac >/dev/null 2>&1; then
    echo "velocity oracle: no javac (a JDK); run scripts/test.sh, which installs it" \
        "(apt-get install -y default-jdk-headless)" >&2
    exit 1
fi

rm -f "$out/classpath" "$out"/VelocityOracle*.class
cp_line=$(IFS=:; echo "${classpath[*]}")
javac -encoding UTF-8 -cp "$cp_line" -d "$out" "$source_file"
# written last: its presence means a complete build
echo "$out:$cp_line" >"$out/classpath.tmp"
mv "$out/classpath.tmp" "$out/classpath"
