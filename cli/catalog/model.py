"""The catalog's data: chapters and exercises as plain, frozen records."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

DEVICES = ("any", "cpu", "cuda")
VISIBILITIES = ("visible", "hidden", "after_due_date")


def learner_sees(visibility: str, after_due: bool = False) -> bool:
    """Whether a learner may read a test's message and output (check, and grade's learner files)."""
    return visibility == "visible" or (after_due and visibility == "after_due_date")


def _lookup(table: dict, test_id: str, fallback):
    base = test_id.split("[", 1)[0]
    for key in (test_id, base, "default"):
        if key in table:
            return table[key]
    return fallback


@dataclass(frozen=True)
class Limits:
    test_seconds: float = 10.0  # wall time for one grader test (all its calls into learner code)
    check_seconds: float = 120.0  # wall time for the whole check of one exercise
    memory_mb: int = 4096  # address-space limit of the worker process (CPU only)
    output_kb: int = 64  # learner output kept per test; the rest is cut
    threads: int | None = None  # torch's intra-op threads in the worker; None: torch's default


@dataclass(frozen=True)
class Chapter:
    id: str
    number: int
    title: str
    summary: str = ""


@dataclass(frozen=True)
class Exercise:
    slug: str
    title: str
    chapter: str
    order: int
    summary: str
    prerequisites: tuple[str, ...]
    hints: tuple[str, ...]
    limits: Limits
    points: dict[str, float]  # test name -> points; "default" for the rest
    device: str  # "any" prefers CUDA/MPS when present; "cpu" pins CPU
    needs: tuple[str, ...]  # heavy imports the worker should pre-load ("transformer_lens")
    exercise_dir: Path = field(compare=False)
    grader_dir: Path = field(compare=False)
    visibility: dict[str, str] = field(default_factory=dict)  # test name -> VISIBILITIES; "default"
    # The earlier exercises whose modules the learner's file imports (`from gpt2_attention import
    # Attention`), all of them, dependencies first: (module name, that exercise's solution.py).
    # The grader injects these reference versions, so that an earlier bug is reported once, where
    # it is; with own_parts the learner's own modules are graded instead (validate still injects).
    uses: tuple[tuple[str, Path], ...] = ()
    own_parts: bool = False

    def visibility_for(self, test_name: str) -> str:
        """Who sees a test's feedback (`check` and `grade`): the key for this exact id
        ("test_x[case]"), else its test's ("test_x"), else "default"."""
        return str(_lookup(self.visibility, test_name, "visible"))

    @property
    def module_name(self) -> str:
        return self.slug.replace("-", "_")

    @property
    def learner_filename(self) -> str:
        return f"{self.module_name}.py"

    @property
    def stub_path(self) -> Path:
        return self.exercise_dir / "stub.py"

    @property
    def page_path(self) -> Path:
        return self.exercise_dir / "page.md"

    @property
    def solution_path(self) -> Path:
        return self.grader_dir / "solution.py"

    @property
    def mutant_paths(self) -> list[Path]:
        folder = self.grader_dir / "mutants"
        return sorted(folder.glob("*.py")) if folder.is_dir() else []

    @property
    def grader_files(self) -> list[Path]:
        return sorted(self.grader_dir.glob("test_*.py"))

    def points_for(self, test_name: str) -> float:
        """A test's weight: the key for this exact id ("test_x[case]" = 5), else its test's
        ("test_x"), else "default" (1 when unset)."""
        return float(_lookup(self.points, test_name, 1.0))


@dataclass(frozen=True)
class Catalog:
    root: Path
    chapters: tuple[Chapter, ...]
    exercises: tuple[Exercise, ...]  # in track order

    def get(self, slug: str) -> Exercise:
        for ex in self.exercises:
            if ex.slug == slug:
                return ex
        raise KeyError(slug)

    def __contains__(self, slug: str) -> bool:
        return any(ex.slug == slug for ex in self.exercises)

    def chapter(self, chapter_id: str) -> Chapter:
        return next(c for c in self.chapters if c.id == chapter_id)

    def in_chapter(self, chapter_id: str) -> list[Exercise]:
        return [ex for ex in self.exercises if ex.chapter == chapter_id]

    def suggest(self, slug: str) -> list[str]:
        import difflib

        return difflib.get_close_matches(slug, [ex.slug for ex in self.exercises], n=3)
