#!/usr/bin/env bash
# Reproduce and shrink differential-test programs (Isomorph vs QEMU).
#   difftest.sh SEED [COUNT]     run programs SEED..SEED+COUNT-1; every mismatch is shrunk to the
#                                culprit instruction(s) with a one-step reproducer ELF, and a report is
#                                written to $TMPDIR/isomorph-diff/run-*/report.txt
# Environment (see DifferentialTests.cs): ISOMORPH_DIFF_SUT=qemu (harness self-check),
# ISOMORPH_DIFF_DISABLE=misaligned,... ISOMORPH_DIFF_STREAMS, ISOMORPH_DIFF_TIMEOUT, ISOMORPH_DIFF_CLI.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ $# -lt 1 ]; then
  sed -n '2,8p' "$0"
  exit 2
fi
export ISOMORPH_DIFF_SEED="$1"
export ISOMORPH_DIFF_COUNT="${2:-1}"
exec dotnet test "$here/../Isomorph.Tests.csproj" -nologo \
  --filter "FullyQualifiedName=Isomorph.Tests.Differential.DifferentialTests.Reproduce" \
  --logger "console;verbosity=detailed"
