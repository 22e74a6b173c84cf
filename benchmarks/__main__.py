"""Run every benchmark (or those named on the command line) and print a JSON summary."""

from __future__ import annotations

import importlib
import json
import sys

BENCHMARKS = ["router_bench", "sla_bench", "pipeline_bench", "assignment_bench"]


def main(names: list[str]) -> None:
    results = {}
    for name in names or BENCHMARKS:
        try:
            module = importlib.import_module(f"benchmarks.{name}")
        except ModuleNotFoundError as exc:
            results[name] = {"skipped": str(exc)}
            continue
        print(f"== {name}", flush=True)
        results[name] = module.main()
    print(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main(sys.argv[1:])
