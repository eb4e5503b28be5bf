"""Chart generator: a 3-minute 44.1 kHz stereo synthetic track → chart, wall time per stage and
the analysing process's peak RSS (target: ≤ 15 s, ≤ 1 GiB on 2 cores).

Each run analyses in a fresh child process, as a Celery job would in a fresh pool process, so
the peak RSS is the job's own. Numba compiles librosa's kernels on first use and caches them on
disk (NUMBA_CACHE_DIR); `--cold` points the cache at an empty folder to show that first run.

    .venv/bin/python bench/generator.py [--seconds 180] [--runs 3] [--cold]
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import _django  # noqa: E402  (bench/ is on the path: this file runs as a script)

CHILD = """
import json, resource, sys, time
from charts import generator
started = time.perf_counter()
summary = generator.generate(sys.argv[1], sys.argv[2], generator.ChartMeta("Bench", "Songhub"))
wall = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"wall": wall, "peak_mib": peak, **summary}))
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cold", action="store_true", help="empty numba cache for the runs")
    args = parser.parse_args()

    import numpy as np

    from tests.synth_audio import click_track, write

    work = _django.scratch("generator")
    samples, sr, _ = click_track(126, seconds=args.seconds, sr=44100, loud_from=args.seconds / 2,
                                 stereo=True, accent_every=4)
    rng = np.random.default_rng(7)  # a little noise so the spectrum is not trivially sparse
    samples = samples + 0.01 * rng.standard_normal(samples.shape)
    audio = write(work / "track.ogg", samples, sr)
    env = dict(os.environ)
    if args.cold:
        env["NUMBA_CACHE_DIR"] = str(work / "numba-cache")
    print(f"input: {args.seconds:.0f} s, 44.1 kHz stereo, {audio.stat().st_size / 2**20:.1f} MB "
          f"ogg; load: {os.getloadavg()[0]:.2f}")
    results = []
    for run in range(args.runs):
        out = work / f"out{run}"
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", CHILD, str(audio), str(out)], env=env,
                              cwd=ROOT, capture_output=True, text=True, check=True)
        process_wall = time.perf_counter() - started
        result = json.loads(done.stdout.strip().splitlines()[-1])
        results.append(result)
        stages = ", ".join(f"{k} {v:.2f}" for k, v in result["stage_seconds"].items())
        print(f"run {run + 1}: generate {result['wall']:.2f} s (process incl. imports "
              f"{process_wall:.2f} s), peak RSS {result['peak_mib']:.0f} MiB; stages: {stages}; "
              f"notes {result['notes']}")
    walls = sorted(r["wall"] for r in results)
    print(f"median generate wall {walls[len(walls) // 2]:.2f} s (target ≤ 15 s); "
          f"max peak RSS {max(r['peak_mib'] for r in results):.0f} MiB (target ≤ 1024)")


if __name__ == "__main__":
    main()
