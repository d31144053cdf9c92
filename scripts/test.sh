#!/usr/bin/env bash
# The test command of the README: installs what the tests need on a fresh machine, then runs them.
#
# The Velocity differential test (tests/it/vtl_oracle.rs) renders generated templates with the real
# Apache Velocity engine through the repository's harness, tests/oracle/VelocityOracle.java, which needs
# Debian's velocity packages and a JDK; they are installed here when missing (as root, from Debian's
# registry), and the harness is compiled into target/velocity-oracle/ (tests/oracle/build.sh).
#
# The SDK conformance test (tests/it/sdk.rs) drives the emulator with Genesys's official Python SDK,
# PureCloudPlatformClientV2, pinned to the version it was written against; installed here from PyPI
# when `import PureCloudPlatformClientV2` fails.
set -euo pipefail
cd "$(dirname "$0")/.."

need_packages=()
for jar in velocity.jar velocity-tools.jar commons-collections3.jar commons-lang.jar \
    jackson-databind.jar jackson-core.jar jackson-annotations.jar; do
    [ -f "/usr/share/java/$jar" ] || need_packages=(velocity libvelocity-tools-java libjackson2-databind-java)
done
command -v javac >/dev/null 2>&1 || need_packages+=(default-jdk-headless)
if [ ${#need_packages[@]} -gt 0 ]; then
    echo "installing the Velocity oracle's packages: ${need_packages[*]}"
    sudo_cmd=()
    [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${need_packages[@]}" >/dev/null
fi

tests/oracle/build.sh

genesys_python_sdk=269.0.0
if ! python3 -c 'import PureCloudPlatformClientV2' >/dev/null 2>&1; then
    echo "installing the Genesys Cloud Python SDK: PureCloudPlatformClientV2==$genesys_python_sdk"
    python3 -m pip install --quiet --disable-pip-version-check "PureCloudPlatformClientV2==$genesys_python_sdk"
fi

cargo test "$@"
