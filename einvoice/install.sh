#!/usr/bin/env bash
# Installs the independent e-invoice validators from Maven Central: compiles validator/ (phive rules) and copies
# Mustang-CLI's jar (named with its version) into validator/target/lib/. Needs only Java 17+ and Maven.
# Does nothing when already installed.
# EINVOICE_M2 names another local Maven repository (default: ~/.m2/repository).
set -euo pipefail
validator="$(cd "$(dirname "$0")/validator" && pwd)"
target="$validator/target"

installed() {
  [[ -f "$target/classes/Validate.class" && -n "$(compgen -G "$target/lib/Mustang-CLI-*.jar")" && -f "$target/classpath.txt" ]] || return 1
  [[ "$target/classes/Validate.class" -nt "$validator/pom.xml" ]] || return 1
  [[ "$target/classes/Validate.class" -nt "$validator/src/main/java/Validate.java" ]] || return 1
  local jar
  while IFS= read -r -d ':' jar; do [[ -f "$jar" ]] || return 1; done < <(cat "$target/classpath.txt" && printf ':')
}

# Engineers in other worktrees may call this at the same time: one installs, the others wait for it (and do not
# take a half-copied jar for an installed one).
exec 9>"$validator/.install-lock"
flock 9
installed && exit 0
rm -rf "$target"
# Maven's own output goes to stderr: callers read validation results from stdout.
mvn -q -B -Dstyle.color=never ${EINVOICE_M2:+"-Dmaven.repo.local=$EINVOICE_M2"} -f "$validator/pom.xml" compile 1>&2
installed || { echo "einvoice/install.sh: the validators did not install" >&2; exit 1; }
