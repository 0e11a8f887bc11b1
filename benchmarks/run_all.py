"""Run every benchmark one after the other, each once (samples, counts, memory, preview, stream, DuckDB, dashboard, training).

    python benchmarks/run_all.py
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

if __name__ == "__main__":
    for script in ("bench_samples_bbox.py", "bench_crop_counts.py", "bench_memory.py", "bench_preview.py",
                   "bench_stream.py", "bench_vs_duckdb.py", "bench_dashboard_1m.py", "bench_training.py",
                   "bench_long_session.py"):
        print(f"\n=== {script}", flush=True)
        subprocess.run([sys.executable, str(HERE / script)], check=True)
