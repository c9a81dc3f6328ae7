"""Print the environment for nbval's portability run: another OpenBLAS kernel, no oneDNN.

    python tools/other_kernel.py            # prints e.g. OPENBLAS_CORETYPE=Sandybridge TF_ENABLE_ONEDNN_OPTS=0

The notebooks' stored outputs were computed on one processor; a student's laptop or a
course's CI runner sums floating-point numbers in another order (another OpenBLAS kernel,
TensorFlow with or without oneDNN). `make nbval-portable` re-runs nbval with the
environment this script prints, so an output that only one kernel reproduces fails here
and not on someone else's machine.

The kernel is chosen by what this machine reports: the first of CANDIDATES that OpenBLAS
accepts here and that differs from the kernel it picks by itself. threadpoolctl, in a fresh
interpreter, confirms that the switch really happened (OpenBLAS silently falls back to its
own choice for a kernel the processor cannot run). Exits with 1 when no other kernel can
be had; the message says why.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

# Oldest instruction sets last: each runs on every newer x86-64 processor.
CANDIDATES = ("Sandybridge", "Haswell", "Nehalem", "Prescott")

_REPORT = (
    "import json, numpy, threadpoolctl;"
    "print(json.dumps([i.get('architecture') for i in threadpoolctl.threadpool_info()"
    " if i.get('internal_api') == 'openblas']))"
)


def openblas_kernel(coretype: str | None) -> str | None:
    """The kernel numpy's OpenBLAS uses in a fresh interpreter with OPENBLAS_CORETYPE=coretype."""
    env = {key: value for key, value in os.environ.items() if key != "OPENBLAS_CORETYPE"}
    if coretype is not None:
        env["OPENBLAS_CORETYPE"] = coretype
    output = subprocess.run(
        [sys.executable, "-c", _REPORT], env=env, capture_output=True, text=True, check=True
    ).stdout
    kernels = json.loads(output)
    return kernels[0] if kernels else None


def main() -> int:
    own = openblas_kernel(None)
    if own is None:
        print("numpy does not use OpenBLAS here: no other kernel to try.", file=sys.stderr)
        return 1
    for candidate in CANDIDATES:
        if candidate.lower() == own.lower():
            continue
        if (openblas_kernel(candidate) or "").lower() == candidate.lower():
            print(
                f"portability run: OpenBLAS kernel {candidate} (this machine's own: {own}), "
                "TensorFlow without oneDNN",
                file=sys.stderr,
            )
            print(f"OPENBLAS_CORETYPE={candidate} TF_ENABLE_ONEDNN_OPTS=0")
            return 0
    print(f"OpenBLAS accepted none of {', '.join(CANDIDATES)} besides its own {own}.", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
