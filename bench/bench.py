"""make bench: Skolegang at 1x and 10x national scale, DuckDB on the same files, PDFs.

For each scale, runs `skolegang run --no-pdf` into a fresh output and records wall time,
CPU time, peak RSS and the manifest's stage timings; runs bench/duckdb_indicators.py on
the same input and checks that Danmark's values agree; then times the PDF stage on
scale 1.0. Prints a table and appends it, with a description of the machine, to
bench/results.md. Figures only: nothing here fails on a missed target.

Fixtures are cached under $BENCH_DIR (default ~/.cache/skolegang-bench): scale 1.0 from
`skolegang fixtures` (keyed by a hash of the generator's source), and 10x as ten
replicas of it whose person_ids (and measure_ids) are prefixed r0- .. r9-, made with
DuckDB.
"""

import datetime
import hashlib
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", Path.home() / ".cache/skolegang-target"))
BIN = TARGET / "release/skolegang"
BENCH_DIR = Path(os.environ.get("BENCH_DIR", Path.home() / ".cache/skolegang-bench"))
EXTRACT_DATE = "2026-11-01"
EXTRACTS = ["persons", "residence", "enrolment", "exams", "measures", "youth_education"]
# The 10x run is capped below the machine's memory so that a run that would not fit
# fails on its own (an allocation failure) instead of calling the out-of-memory killer.
ADDRESS_LIMIT_GB = int(os.environ.get("BENCH_ADDRESS_LIMIT_GB", "22"))


def generator_hash() -> str:
    h = hashlib.sha256()
    files = sorted((ROOT / "pipeline/src/fixtures").glob("*.rs")) + sorted(
        (ROOT / "pipeline/codes").iterdir()
    )
    for f in files:
        h.update(f.read_bytes())
    return h.hexdigest()[:12]


def scale1() -> Path:
    path = BENCH_DIR / f"fixtures-scale-1.0-seed-1-{generator_hash()}"
    if not (path / ".complete").exists():
        start = time.time()
        subprocess.run(
            [BIN, "--quiet", "fixtures", "--out", path, "--scale", "1.0", "--seed", "1"],
            check=True,
        )
        (path / ".complete").touch()
        print(f"fixtures at scale 1.0 generated in {time.time() - start:.1f} s")
    return path


def scale10(base: Path) -> Path:
    """Ten replicas of scale 1.0 with distinct person_ids and measure_ids."""
    import duckdb

    path = BENCH_DIR / f"fixtures-10x-{base.name.split('-')[-1]}"
    if (path / ".complete").exists():
        return path
    shutil.rmtree(path, ignore_errors=True)
    start = time.time()
    con = duckdb.connect()
    for extract in EXTRACTS:
        (path / extract).mkdir(parents=True)
        src = f"{base}/{extract}/**/*.parquet"
        cols = [
            r[0]
            for r in con.execute(
                f"DESCRIBE SELECT * FROM read_parquet('{src}', hive_partitioning = true)"
            ).fetchall()
        ]
        for i in range(10):
            exprs = [
                f"'r{i}-' || {c} AS {c}" if c in ("person_id", "measure_id") else c
                for c in cols
            ]
            con.execute(
                f"COPY (SELECT {', '.join(exprs)} FROM read_parquet('{src}', hive_partitioning = true)) "
                f"TO '{path}/{extract}/part-r{i}.parquet' (FORMAT parquet, COMPRESSION zstd)"
            )
    (path / ".complete").touch()
    print(f"fixtures at 10x made from scale 1.0 in {time.time() - start:.1f} s")
    return path


def timed(cmd, address_limit_gb=None):
    """Runs cmd; returns (exit code, wall s, cpu s, peak RSS MiB)."""

    def limit():
        if address_limit_gb:
            b = address_limit_gb << 30
            resource.setrlimit(resource.RLIMIT_AS, (b, b))

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, preexec_fn=limit)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    # ru_maxrss of children is the largest child so far: run the biggest last, or read
    # the manifest's own figure (preferred below).
    rss = after.ru_maxrss / 1024
    return done.returncode, wall, cpu, rss, done.stderr.decode(errors="replace")


def skolegang(input_dir: Path, out: Path, extra):
    shutil.rmtree(out, ignore_errors=True)
    cmd = [BIN, "--quiet", "run", "--input", input_dir, "--output", out,
           "--extract-date", EXTRACT_DATE, *extra]
    limit = ADDRESS_LIMIT_GB if "--memory-limit" in extra else None
    code, wall, cpu, rss, err = timed(cmd, limit)
    result = {"exit": code, "wall": wall, "cpu": cpu, "rss_mib": rss, "stages": {}, "error": ""}
    manifest = out / "current/manifest.json"
    if code == 0 and manifest.exists():
        m = json.loads(manifest.read_text())
        result["stages"] = dict(m["stage_seconds"])
        result["rss_mib"] = (m.get("peak_rss_bytes") or 0) / 2**20
        result["rows"] = sum(x["rows_read"] for x in m["inputs"].values())
    else:
        lines = err.strip().splitlines()
        why = [l for l in lines if "memory allocation" in l or "error" in l.lower()]
        result["error"] = (why or lines or [f"exit {code}"])[0].strip()
    return result


def duckdb_run(input_dir: Path):
    cmd = [sys.executable, ROOT / "bench/duckdb_indicators.py", input_dir, EXTRACT_DATE,
           ROOT / "pipeline/codes"]
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        return {"wall": wall, "error": done.stderr.strip().splitlines()[-1]}
    return {"wall": wall, **json.loads(done.stdout)}


def agreement(out: Path, duck) -> str:
    """Danmark's `alle` values: Skolegang's published cells against DuckDB's."""
    import duckdb

    if "land_alle" not in duck or not (out / "current").exists():
        return "not compared"
    # Yearly cells only (the script does not pool three-year windows). Disclosure control
    # may withhold a Danmark cell (value null): those are counted, not compared.
    ours = duckdb.sql(
        f"SELECT indicator, period, value FROM read_parquet('{out}/current/published/indicators/*/*.parquet', "
        "hive_partitioning = true) WHERE geo_level = 'land' AND \"group\" = 'alle' AND placement = 'alle' "
        "AND years = 1"
    ).fetchall()
    ours = {f"{i} {p}": v for i, p, v in ours}
    theirs = duck["land_alle"]
    withheld = [k for k in ours if ours[k] is None]
    differ = [k for k in theirs
              if k not in ours or (ours[k] is not None and abs(ours[k] - theirs[k]) > 1e-9)]
    missing = [k for k in ours if k not in theirs]
    if differ or missing:
        return f"DIFFER in {len(differ) + len(missing)} of {len(ours)}"
    compared = len(ours) - len(withheld)
    return f"equal ({compared} values, {len(withheld)} withheld)"


def machine() -> str:
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    cpu = "unknown cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    version = subprocess.run([BIN, "--version"], capture_output=True, text=True).stdout.strip()
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    return (f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB, {platform.machine()}, "
            f"{platform.system()} {platform.release()}; {version} at {commit}")


def main() -> None:
    base = scale1()
    ten = scale10(base)
    lines = []

    def say(s=""):
        print(s, flush=True)
        lines.append(s)

    say(f"## {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC")
    say()
    say(f"Machine: {machine()}")
    say()
    results = {}
    for label, input_dir, extra in [
        ("1x", base, ["--no-pdf"]),
        ("10x", ten, ["--no-pdf", "--memory-limit", "4G"]),
    ]:
        out = BENCH_DIR / f"out-{label}"
        ours = skolegang(input_dir, out, extra)
        duck = duckdb_run(input_dir)
        results[label] = (ours, duck, agreement(out, duck))
    pdf_out = BENCH_DIR / "out-1x-pdf"
    pdf = skolegang(base, pdf_out, [])

    # The targets of docs/performance.md (ratio to DuckDB measured in this run).
    targets = {"1x": "ratio <= 1.0, <= 1 GiB",
               "10x": "<= 10.5 x the 1x time, <= 6 GiB with --memory-limit 4G"}
    say("| scale | rows | skolegang wall (s) | cpu (s) | peak RSS (MiB) | DuckDB (s) | ratio | Danmark values | target |")
    say("|---|---|---|---|---|---|---|---|---|")
    for label, (ours, duck, agree) in results.items():
        ok = ours["exit"] == 0 and not duck.get("error")
        ratio = f"{ours['wall'] / duck['wall']:.2f}" if ok else "-"
        rows = ours.get("rows", "-")
        status = f"exit {ours['exit']}: {ours['error']}" if ours["exit"] != 0 else f"{ours['wall']:.1f}"
        say(f"| {label} | {rows} | {status} | {ours['cpu']:.1f} | {ours['rss_mib']:.0f} | "
            f"{duck['wall']:.1f} | {ratio} | {agree} | {targets[label]} |")
    if results["1x"][0]["exit"] == 0 and results["10x"][0]["exit"] == 0:
        say(f"\n10x / 1x wall time: {results['10x'][0]['wall'] / results['1x'][0]['wall']:.2f}")
    say()
    stages = sorted({s for ours, _, _ in results.values() for s in ours["stages"]},
                    key=lambda s: list(results["1x"][0]["stages"]).index(s)
                    if s in results["1x"][0]["stages"] else 99)
    say("| stage (s) | " + " | ".join(results) + " |")
    say("|---|" + "---|" * len(results))
    for s in stages:
        say(f"| {s} | " + " | ".join(f"{ours['stages'].get(s, float('nan')):.2f}"
                                     for ours, _, _ in results.values()) + " |")
    say()
    for label, (ours, _, _) in results.items():
        st = ours["stages"]
        if "disclose" in st and "audit" in st:
            say(f"disclosure control at {label}: protection {st['disclose']:.1f} s + audit "
                f"{st['audit']:.1f} s = {st['disclose'] + st['audit']:.1f} s (target at 1x < 20 s)")
    say()
    if pdf["exit"] == 0:
        say(f"98 PDFs at 1x: {pdf['stages'].get('pdf', float('nan')):.1f} s (target <= 60 s)")
    else:
        say(f"PDF run failed: {pdf['error']}")
    say()
    with open(ROOT / "bench/results.md", "a") as f:
        f.write("\n".join(lines) + "\n")
    print("appended to bench/results.md")


if __name__ == "__main__":
    main()
