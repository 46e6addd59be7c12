"""Run one measured benchmark step in this (fresh) process.

    python bench/step.py TARGET ARGS_JSON_FILE RESULT_JSON_FILE

TARGET is ``module:function`` (a module in ``bench/``) or ``file.py:function``. The function is
called with the keyword arguments in ARGS_JSON_FILE; RESULT_JSON_FILE receives its (JSON)
return value, the call's wall time and the peak RSS of this process and of its waited-for
children. Spawned by ``Context.measure`` in ``benchlib.py``; not meant to be run by hand.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import resource
import sys
import time
import traceback
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent


def load_function(target: str):
    module_part, _, func_name = target.rpartition(":")
    if not module_part or not func_name:
        raise ValueError(f"target must be 'module:function' or 'file.py:function', got {target!r}")
    if str(BENCH_DIR) not in sys.path:
        sys.path.insert(0, str(BENCH_DIR))
    if module_part.endswith(".py"):
        path = Path(module_part)
        path = path if path.is_absolute() else BENCH_DIR / path
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[path.stem] = module
        spec.loader.exec_module(module)
    else:
        module = importlib.import_module(module_part)
    return getattr(module, func_name)


def peak_rss_mb() -> tuple[float, float]:
    """(this process, largest waited-for child) max RSS in MB (Linux reports KB)."""
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / scale
    return own, children


def main(argv: list[str]) -> int:
    target, args_file, out_file = argv
    out = Path(out_file)
    try:
        func = load_function(target)
        kwargs = json.loads(Path(args_file).read_text())
        started = time.perf_counter()
        result = func(**kwargs)
        seconds = time.perf_counter() - started
    except BaseException:  # noqa: BLE001 - reported to the parent
        out.write_text(json.dumps({"error": traceback.format_exc()}))
        traceback.print_exc()
        return 1
    own, children = peak_rss_mb()
    out.write_text(
        json.dumps(
            {
                "seconds": round(seconds, 4),
                "peak_rss_mb": round(max(own, children), 1),
                "self_peak_mb": round(own, 1),
                "children_peak_mb": round(children, 1),
                "result": result,
            },
            default=str,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
