"""Executes the tutorial notebooks under the pitlab kernel with nbclient and checks their outputs.

usage: python3 execute.py [--out DIR] NOTEBOOK...

Each notebook runs top to bottom in a fresh kernel, from its own directory. It passes when no cell
produced an `error` output (runtime errors and TypeScript type errors alike), and it produced at
least one plotly figure (application/vnd.plotly.v1+json) and one HTML table. One line per notebook
with its wall time, then "Notebooks: N passed, N failed". With --out, the executed notebooks are
written there for inspection. The kernelspec `pitlab` must be on JUPYTER_PATH.
"""

import os
import sys
import time

import nbformat
from nbclient import NotebookClient

PLOTLY = "application/vnd.plotly.v1+json"


def check(nb):
    problems, plots, tables = [], 0, 0
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            kind = out.get("output_type")
            if kind == "error":
                first = (out.get("traceback") or [out.get("evalue", "")])[0]
                problems.append(f"cell {i}: {out.get('ename')}: {out.get('evalue')} [{first}]")
            data = out.get("data", {})
            if PLOTLY in data:
                plots += 1
            if "<table" in str(data.get("text/html", "")):
                tables += 1
    if plots == 0:
        problems.append("no plotly figure in any output")
    if tables == 0:
        problems.append("no HTML table in any output")
    return problems, plots, tables


def main(argv):
    out_dir = None
    if len(argv) >= 2 and argv[0] == "--out":
        out_dir, argv = argv[1], argv[2:]
        os.makedirs(out_dir, exist_ok=True)
    passed = failed = 0
    for path in argv:
        name = os.path.basename(path)
        nb = nbformat.read(path, as_version=4)
        client = NotebookClient(
            nb,
            kernel_name="pitlab",
            timeout=1200,
            allow_errors=True,
            startup_timeout=120,
            resources={"metadata": {"path": os.path.dirname(os.path.abspath(path))}},
        )
        t0 = time.time()
        try:
            client.execute()
            problems, plots, tables = check(nb)
        except Exception as e:  # kernel died, timeout, ...
            problems, plots, tables = [f"{type(e).__name__}: {e}"], 0, 0
        secs = time.time() - t0
        if out_dir:
            nbformat.write(nb, os.path.join(out_dir, name))
        if problems:
            failed += 1
            print(f"  ✘ {name} ({secs:.1f} s)")
            for p in problems:
                print(f"      {p[:600]}")
        else:
            passed += 1
            print(f"  ✓ {name} ({secs:.1f} s, {plots} plotly figures, {tables} tables)")
        sys.stdout.flush()
    print(f"Notebooks: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
