"""The ``mlsentry`` command. Exit status: 0 check passed, 1 check failed, 2 usage or input error."""

from __future__ import annotations

import sys
from typing import Optional, Sequence


def main(argv: Optional[Sequence[str]] = None) -> int:
    print("mlsentry", file=sys.stderr)
    return 2
