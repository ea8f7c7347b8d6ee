"""``python -m bench [NAME ...]``: run the benchmarks, each in its own process, and print one table."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench._harness import MARKER

HERE = Path(__file__).parent


def main(argv: list[str]) -> int:
    wanted = set(argv)
    modules = sorted(p.stem for p in HERE.glob("bench_*.py"))
    if wanted:
        modules = [m for m in modules if m.removeprefix("bench_") in wanted or m in wanted]
    console = Console()
    rows: list[dict] = []
    failed: list[str] = []
    for name in modules:
        console.print(f"[bold]running[/] bench/{name}.py ...")
        proc = subprocess.run([sys.executable, "-m", f"bench.{name}"], cwd=HERE.parent, capture_output=True, text=True)
        found = [ln for ln in proc.stdout.splitlines() if ln.startswith(MARKER)]
        if proc.returncode != 0 or not found:
            failed.append(name)
            console.print(f"[red]bench/{name}.py failed[/] (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
            continue
        rows.extend(json.loads(found[-1][len(MARKER):]))
    table = Table(title="pumpguard benchmarks (this machine, this run)")
    for col in ("benchmark", "measure", "value", "unit", "baseline", "ratio", "target", "note"):
        table.add_column(col, overflow="fold")
    for r in rows:
        base = r.get("baseline")
        ratio = ""
        if base not in (None, 0) and r["value"] is not None:
            ratio = f"{r['value'] / base:.2f}x"
        base_txt = "" if base is None else f"{base:,.4g} ({r.get('baseline_name', '')})"
        table.add_row(r["benchmark"], r["measure"], f"{r['value']:,.4g}", r["unit"], base_txt, ratio,
                      r.get("target", ""), r.get("note", ""))
    console.print(table)
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "latest.json").write_text(json.dumps(rows, indent=2))
    console.print(f"rows written to {out / 'latest.json'}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
