"""Metadata checked against the grader and the solution (issue 17).

Plain functions that return problems, never raise: `validate` fails on any of them and `grade`
refuses to grade a class with a misspelled [points]/[visibility] key (its scores would be wrong).

- `unknown_test_keys`: every key of [points] and [visibility] names a collected test id
  ("test_x", or one parametrized case "test_x[case]"), with a did-you-mean;
- `stub_problems`: the stub offers what the solution defines: the same public top-level
  functions and classes (a public helper of the solution that the grader never names may stay
  out of the stub), the same public methods, the same parameter names, kinds and defaults.
  Read with ast; nothing is imported.
"""

from __future__ import annotations

import ast
import difflib
import re
from dataclasses import dataclass
from pathlib import Path

from mi_exercise.catalog.model import Exercise

METHODS_ALSO_CHECKED = ("__init__", "__call__")  # private-looking but part of a class's contract


@dataclass(frozen=True)
class Problem:
    path: Path
    key: str  # "points.test_x", "softmax_rows", "Attention.forward"
    message: str

    def __str__(self) -> str:
        return f"{self.path.name}: {self.key}: {self.message}"


def _did_you_mean(word: str, choices) -> str:
    close = difflib.get_close_matches(word, sorted(set(choices)), n=2, cutoff=0.6)
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""


def unknown_test_keys(exercise: Exercise, test_ids: list[str]) -> list[Problem]:
    """[points]/[visibility] keys that match no test the grader has."""
    ids = set(test_ids)
    bases = {t.split("[", 1)[0] for t in test_ids}
    toml = exercise.exercise_dir / "exercise.toml"
    problems = []
    for table_name, table in (("points", exercise.points), ("visibility", exercise.visibility)):
        for key in table:
            if key == "default" or key in ids or key in bases:
                continue
            base = key.split("[", 1)[0]
            if "[" in key and base in bases:
                cases = sorted(t for t in ids if t.startswith(base + "["))
                what = (f"no such parametrized case of {base}{_did_you_mean(key, cases)}; its cases: {', '.join(cases)}"
                        if cases else f"{base} is not parametrized: name it without [...]")
            else:
                what = f"no test of that name in {exercise.grader_dir.name}'s grader{_did_you_mean(key, ids | bases)}"
            problems.append(Problem(toml, f"{table_name}.{key}", what + "; this key is ignored as it stands"))
    return problems


# -- stub against solution ------------------------------------------------------------------
@dataclass(frozen=True)
class _Def:
    kind: str  # "function" | "class"
    params: tuple = ()  # ((name, kind, default source or None), ...)
    lineno: int = 0
    methods: tuple = ()  # ((name, _Def), ...) for a class


def _params(args: ast.arguments) -> tuple:
    positional = [*args.posonlyargs, *args.args]
    defaults = [None] * (len(positional) - len(args.defaults)) + [ast.unparse(d) for d in args.defaults]
    out = [(a.arg, "positional-only" if i < len(args.posonlyargs) else "positional", d)
           for i, (a, d) in enumerate(zip(positional, defaults))]
    if args.vararg:
        out.append((args.vararg.arg, "*args", None))
    out += [(a.arg, "keyword-only", None if d is None else ast.unparse(d))
            for a, d in zip(args.kwonlyargs, args.kw_defaults)]
    if args.kwarg:
        out.append((args.kwarg.arg, "**kwargs", None))
    # a private parameter with a default (`_parents=()`) is the solution's own business
    return tuple(p for p in out if not (p[0].startswith("_") and p[2] is not None))


def public_definitions(path: Path) -> dict[str, _Def]:
    """The public top-level functions and classes of a Python file (its last definition of a name)."""
    tree = ast.parse(Path(path).read_text(encoding="utf-8"), filename=str(path))
    out: dict[str, _Def] = {}
    for node in tree.body:
        name = getattr(node, "name", None)
        if name is None or name.startswith("_"):
            continue
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            out[node.name] = _Def("function", _params(node.args), node.lineno)
        elif isinstance(node, ast.ClassDef):
            methods = {sub.name: _Def("function", _params(sub.args), sub.lineno) for sub in node.body
                       if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef))
                       and (not sub.name.startswith("_") or sub.name in METHODS_ALSO_CHECKED)}
            out[node.name] = _Def("class", (), node.lineno, tuple(methods.items()))
    return out


def _describe(params: tuple) -> str:
    def one(p):
        name, kind, default = p
        text = {"*args": f"*{name}", "**kwargs": f"**{name}"}.get(kind, name)
        return text + (f"={default}" if default is not None else "")

    return "(" + ", ".join(one(p) for p in params) + ")"


def _compare_params(where: str, sol: tuple, stub: tuple, path: Path) -> list[Problem]:
    if sol == stub:
        return []
    sol_names, stub_names = [p[0] for p in sol], [p[0] for p in stub]
    if sol_names != stub_names:
        what = f"parameters {_describe(stub)} but the solution has {_describe(sol)}"
    else:
        diffs = [f"'{a[0]}' is {b[1]}{'' if b[2] is None else ' = ' + b[2]} in the stub, "
                 f"{a[1]}{'' if a[2] is None else ' = ' + a[2]} in the solution"
                 for a, b in zip(sol, stub) if a != b]
        what = "; ".join(diffs)
    return [Problem(path, where, what)]


def stub_problems(exercise: Exercise) -> list[Problem]:
    """Where the stub and the solution disagree on names or signatures."""
    stub_path, sol_path = exercise.stub_path, exercise.solution_path
    if not (stub_path.is_file() and sol_path.is_file()):
        return []  # validate reports the missing file itself
    try:
        stub, sol = public_definitions(stub_path), public_definitions(sol_path)
    except SyntaxError as exc:
        return [Problem(Path(exc.filename or stub_path), f"line {exc.lineno}", f"syntax error: {exc.msg}")]
    grader_text = "\n".join(p.read_text(encoding="utf-8") for p in exercise.grader_files)
    problems = []
    for name, d in sol.items():
        if name not in stub and not re.search(rf"\b{re.escape(name)}\b", grader_text):
            continue  # a helper of the solution's own (it may define one publicly) that the grader never names
        if name not in stub:
            problems.append(Problem(stub_path, name, f"the solution defines {d.kind} {name} (line {d.lineno}) but the "
                                    f"stub does not{_did_you_mean(name, stub)}: learners cannot know to write it"))
            continue
        s = stub[name]
        if s.kind != d.kind:
            problems.append(Problem(stub_path, name, f"a {s.kind} in the stub, a {d.kind} in the solution"))
        elif d.kind == "function":
            problems += _compare_params(name, d.params, s.params, stub_path)
        else:
            stub_methods, sol_methods = dict(s.methods), dict(d.methods)
            for m, md in sol_methods.items():
                if m not in stub_methods:
                    problems.append(Problem(stub_path, f"{name}.{m}", f"the solution's {name} defines {m} but the "
                                            f"stub's does not{_did_you_mean(m, stub_methods)}"))
                else:
                    problems += _compare_params(f"{name}.{m}", md.params, stub_methods[m].params, stub_path)
            for m in stub_methods.keys() - sol_methods.keys():
                problems.append(Problem(stub_path, f"{name}.{m}", f"the stub's {name} defines {m} but the solution's does not"))
    for name in stub.keys() - sol.keys():
        problems.append(Problem(stub_path, name, f"the stub defines {stub[name].kind} {name} but the solution does not"
                                f"{_did_you_mean(name, sol)}"))
    return problems


def metadata_problems(exercise: Exercise) -> list[Problem]:
    """All of the above for `validate`: the grader's test ids are collected (no test is run)."""
    from mi_exercise.instructor.batch import GradeError, expected_tests

    problems = stub_problems(exercise)
    if exercise.points or exercise.visibility:
        try:
            problems += unknown_test_keys(exercise, expected_tests(exercise))
        except GradeError:
            pass  # a grader that cannot be collected fails validate's solution trial with its own message
    return problems
