"""`make lint`: ruff and mypy over the project; fails on any finding not in tools/lint-baseline.txt.

The baseline lists the findings that were there when the linters were switched on (file,
rule and message, no line numbers, so unrelated edits do not move them). New code must be
clean; fixing an old finding is welcome: `python tools/lint.py --update` then shrinks the
baseline. Findings are compared as a multiset, so a second copy of an old finding is new.
"""

from __future__ import annotations

import collections
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "tools" / "lint-baseline.txt"
RUFF = [sys.executable, "-m", "ruff", "check", "--output-format", "concise",
        "src", "tests", "benchmarks", "examples", "tools"]
MYPY = [sys.executable, "-m", "mypy", "--no-error-summary", "--no-pretty"]


def findings() -> list[str]:
    out: list[str] = []
    ruff = subprocess.run(RUFF, cwd=ROOT, capture_output=True, text=True)
    for line in ruff.stdout.splitlines():  # path:line:col: CODE message
        m = re.match(r"(.+?):\d+:\d+: (.*)", line)
        if m:
            out.append(f"ruff {m.group(1)}: {m.group(2)}")
    mypy = subprocess.run(MYPY, cwd=ROOT, capture_output=True, text=True)
    for line in mypy.stdout.splitlines():  # path:line: error: message  [code]
        m = re.match(r"(.+?):\d+: error: (.*)", line)
        if m:
            out.append(f"mypy {m.group(1)}: {m.group(2)}")
    if ruff.returncode not in (0, 1) or mypy.returncode not in (0, 1):
        sys.exit(f"lint: a linter failed to run:\n{ruff.stderr}{mypy.stderr}")
    return sorted(out)


def main() -> None:
    found = findings()
    if "--update" in sys.argv:
        BASELINE.write_text("".join(f"{f}\n" for f in found), encoding="utf-8")
        print(f"lint: baseline written, {len(found)} findings")
        return
    known = collections.Counter(BASELINE.read_text(encoding="utf-8").splitlines()) if BASELINE.exists() else {}
    new = list((collections.Counter(found) - collections.Counter(known)).elements())
    fixed = sum((collections.Counter(known) - collections.Counter(found)).values())
    if new:
        print("\n".join(new))
        sys.exit(f"lint: {len(new)} new finding(s) (ruff / mypy); fix them (see the lines above)")
    print(f"lint: no new findings ({len(found)} known, {fixed} fixed since the baseline"
          f"{': run python tools/lint.py --update' if fixed else ''})")


if __name__ == "__main__":
    main()
