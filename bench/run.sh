#!/usr/bin/env bash
# make bench: times `skolegang run` on generated fixtures and prints the figures.
# Usage: bench/run.sh [SCALE...]   (default: 1.0)
# Fixtures are cached under $BENCH_DIR (default ~/.cache/skolegang-bench) by scale, seed
# and a hash of the generator's source, so only the first run pays for generating them
# and a changed generator never benchmarks stale data.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${CARGO_TARGET_DIR:-$HOME/.cache/skolegang-target}/release/skolegang"
BENCH_DIR="${BENCH_DIR:-$HOME/.cache/skolegang-bench}"
SEED=1
GENERATOR=$(cat pipeline/src/fixtures/*.rs pipeline/codes/* | sha256sum | cut -c1-12)
scales=("$@")
[ ${#scales[@]} -gt 0 ] || scales=(1.0)

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -m), skolegang $("$BIN" --version | cut -d' ' -f2)"
for scale in "${scales[@]}"; do
  input="$BENCH_DIR/fixtures-scale-$scale-seed-$SEED-$GENERATOR"
  if [ ! -f "$input/.complete" ]; then
    start=$(date +%s.%N)
    "$BIN" --quiet fixtures --out "$input" --scale "$scale" --seed "$SEED"
    end=$(date +%s.%N)
    touch "$input/.complete"
    awk -v s="$start" -v e="$end" -v sc="$scale" 'BEGIN { printf "fixtures at scale %s generated in %.1f s\n", sc, e - s }'
  fi
  out="$BENCH_DIR/out-scale-$scale"
  rm -rf "$out" "$out.stdout" "$out.log"
  timing=$(mktemp)
  /usr/bin/time -f '%e %U %S %M' -o "$timing" \
    "$BIN" run --input "$input" --output "$out" --extract-date 2026-11-01 >"$out.stdout" 2>"$out.log"
  read -r wall user sys rss_kb < "$timing"
  rows=$(python3 -c "import json,sys; m=json.load(open(sys.argv[1])); print(sum(x['rows_read'] for x in m['inputs'].values()))" "$out/current/manifest.json")
  echo
  echo "scale $scale: $rows input rows"
  printf '  %-22s %10s\n' "wall time (s)" "$wall" "cpu time (s)" "$(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }')" "peak RSS (MiB)" "$((rss_kb / 1024))"
  python3 - "$out/current/manifest.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
for stage, secs in m["stage_seconds"]:
    print(f"  stage {stage:<16} {secs:10.3f}")
PY
  sed -n '/^Danmark/,$p' "$out.stdout"
done
