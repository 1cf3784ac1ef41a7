"""Reference parts for a learner's file: modules registered under the names of earlier exercises.

A later GPT-2 file imports the learner's earlier parts (`from gpt2_attention import Attention`).
Its grader tests only the new part, so before the learner's file is imported the worker
registers the reference solutions of those earlier exercises under the same module names, and
the import finds them instead of the learner's own files: an earlier bug is reported once, by
its own exercise, and does not cascade. The sources travel in the worker's config (graders are
hidden from a sandboxed worker, so never as paths); the trusted side registers the same modules
before it imports the reference solution, which imports them too.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path


def parts_for(exercise, *, own: bool | None = None) -> list[tuple[str, str]]:
    """[(module name, source)] to register for a check of `exercise`, dependencies first; none
    when the exercise is graded with the learner's own parts (own_parts, unless own=False)."""
    if own is None:
        own = exercise.own_parts
    if own:
        return []
    return [(name, Path(path).read_text()) for name, path in exercise.uses]


def register(parts) -> None:
    """Execute each (module name, source) as a fresh module in sys.modules, in order."""
    for name, source in parts:
        module = types.ModuleType(name)
        module.__file__ = f"<reference {name}>"
        sys.modules[name] = module
        exec(compile(source, module.__file__, "exec", dont_inherit=True), module.__dict__)  # noqa: S102 - trusted source
