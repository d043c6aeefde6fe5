"""Run benchmarks: ``python -m bench [NAME ...]``. Each prints its measured figures."""

from __future__ import annotations

import json
import subprocess
import sys

from .cases import load_all


def main(argv: list[str]) -> int:
    CASES = load_all()
    names = argv or list(CASES)
    unknown = [n for n in names if n not in CASES]
    if unknown:
        print(f"unknown benchmark(s) {unknown}; known: {', '.join(CASES)}", file=sys.stderr)
        return 2
    failed = 0
    for name in names:
        print(f"== {name}: {CASES[name].__doc__.strip().splitlines()[0]}", flush=True)
        r = subprocess.run([sys.executable, "-m", "bench.cases", name], capture_output=True, text=True)
        if r.returncode != 0:
            failed += 1
            print(r.stdout + r.stderr)
            continue
        for line in r.stdout.splitlines():
            if line.startswith("RESULT "):
                res = json.loads(line[7:])
                for k, v in res.items():
                    print(f"   {k}: {v}")
            else:
                print("   " + line)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
