"""Hot spots from a py-spy raw profile (`bench/run.py --profile` writes profile-<scenario>.txt).

    .venv/bin/python bench/profile_top.py bench/results/<ts>/tongban-sqlite/profile-cc.txt [-n 25]
        [--under 'token (idp/oidc/views.py']

Prints the share of samples per frame, by self time (the frame was on top of the stack) and by
inclusive time restricted to Tongban's own code (idp/), with file:line, so a slow path can be
traced to the line of ours that leads into it.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*):(?P<line>\d+)\)$")
PREFIXES = ("/work/main/.venv/lib/python3.11/site-packages/", "/work/main/")


def short(frame: str) -> str:
    m = FRAME.match(frame)
    if not m:
        return frame
    path = m["file"]
    for prefix in PREFIXES:
        path = path.removeprefix(prefix)
    if "/lib/python3" in path:
        path = path.split("/lib/python3", 1)[1].split("/", 1)[-1]
    return f"{m['func']} ({path}:{m['line']})"


def load(path: Path, under: str | None = None) -> tuple[Counter, Counter, Counter, int]:
    self_time, inclusive, idp_self = Counter(), Counter(), Counter()
    total = 0
    for raw in path.read_text(errors="replace").splitlines():
        stack, _, count = raw.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [f for f in stack.split(";") if not f.startswith(("process ", "thread "))]
        if not frames or (under and not any(under in short(f) for f in frames)):
            continue
        total += n
        self_time[short(frames[-1])] += n
        ours = [short(f) for f in frames if "idp/" in f and "site-packages" not in f]
        for f in set(ours):
            inclusive[f] += n
        if ours:
            idp_self[ours[-1]] += n  # the innermost line of ours under which the time went
    return self_time, inclusive, idp_self, total


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("profile", type=Path)
    p.add_argument("-n", type=int, default=20)
    p.add_argument("--under", help="only stacks through this frame, e.g. 'token (idp/oidc/views.py'"
                                   " (the view of the measured endpoint, leaving out set-up)")
    args = p.parse_args()
    self_time, inclusive, idp_self, total = load(args.profile, args.under)
    print(f"{total} samples (active threads only){f' under {args.under!r}' if args.under else ''}")
    for title, counter in (("self time, any code", self_time),
                           ("innermost idp/ line (time spent below it)", idp_self),
                           ("inclusive time, idp/ frames", inclusive)):
        print(f"\n## {title}")
        for frame, n in counter.most_common(args.n):
            print(f"{100 * n / total:5.1f}%  {frame}")


if __name__ == "__main__":
    main()
