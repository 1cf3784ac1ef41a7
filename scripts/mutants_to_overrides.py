"""One-shot record of issue 17's conversion: full-copy mutants become overrides.

A mutant used to be a whole copy of its exercise's solution with one change. As an override it
holds only what differs: validate grades `solution.py` followed by the override as one module.

For each `graders/<chapter>/<slug>/mutants/*.py` (a full copy), with `ast`:
- a top-level statement of the mutant (function, class, assignment, import) is kept when the
  solution has no statement binding the same names with the same AST;
- a class whose class-level statements are equal and whose methods differ only in some
  bodies becomes those methods plus `Cls.method = method` (the whole class is kept when a
  changed method uses zero-argument `super()`/`__class__`, has decorators, uses a
  name-mangled attribute, or its name is also a top-level name);
- a statement the override does not change but that binds an overridden name when it runs
  (`SCORERS = {"first": first_token_scores}`, a base class, a default argument) is kept too,
  so that it sees the override, as it saw the mutant's definition in the copy;
- the module docstring becomes the mistake, on its first line ("Mutant: " and the exercise's
  title line are dropped).

Then it proves, for every mutant, that solution + override defines the same thing as the old
copy: both are executed and every top-level value (functions by bytecode, constants and names;
classes method by method; dicts, lists, tuples element by element) is compared.

    python scripts/mutants_to_overrides.py            # convert (refuses a file already converted)
    python scripts/mutants_to_overrides.py --check    # only prove the equivalence, writing nothing
    python scripts/mutants_to_overrides.py --compare BEFORE AFTER
        # verdicts per trial in two folders of `validate SLUG --json` outputs (one file per exercise)
"""

from __future__ import annotations

import argparse
import ast
import inspect
import json
import re
import subprocess
import sys
import textwrap
import types
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


# -- the override ---------------------------------------------------------------------------
def _bound_names(node: ast.stmt) -> tuple[str, ...]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return (node.name,)
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return tuple((a.asname or a.name).split(".")[0] for a in node.names)
    if isinstance(node, ast.Assign):
        return tuple(n.id for t in node.targets for n in ast.walk(t) if isinstance(n, ast.Name))
    if isinstance(node, (ast.AnnAssign, ast.AugAssign)) and isinstance(node.target, ast.Name):
        return (node.target.id,)
    return ()


def _strip_docstring(body: list[ast.stmt]) -> list[ast.stmt]:
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        return body[1:]
    return body


def _dump(node: ast.AST) -> str:
    return ast.dump(node, include_attributes=False)


def _definition_time_loads(node: ast.stmt) -> set[str]:
    """Names a statement reads while the module runs (not when its functions are later called)."""
    parts: list[ast.AST] = []
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        parts += node.decorator_list + node.args.defaults + [d for d in node.args.kw_defaults if d]
    elif isinstance(node, ast.ClassDef):
        parts += node.decorator_list + node.bases + [k.value for k in node.keywords]
        for s in node.body:
            if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)):
                parts += s.decorator_list + s.args.defaults + [d for d in s.args.kw_defaults if d]
            else:
                parts.append(s)
    elif isinstance(node, (ast.Import, ast.ImportFrom)):
        return set()
    else:
        parts.append(node)
    return {n.id for p in parts for n in ast.walk(p) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _methods(cls: ast.ClassDef) -> dict[str, ast.FunctionDef]:
    return {s.name: s for s in cls.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))}


def _class_level(cls: ast.ClassDef) -> list[str]:
    return [_dump(s) for s in _strip_docstring(cls.body) if not isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))]


def _needs_its_class(fn: ast.FunctionDef) -> bool:
    for n in ast.walk(fn):
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "super" and not n.args:
            return True
        if isinstance(n, ast.Name) and n.id == "__class__":
            return True
        if isinstance(n, ast.Attribute) and n.attr.startswith("__") and not n.attr.endswith("__"):
            return True
    return bool(fn.decorator_list)


def _segment(source_lines: list[str], node: ast.stmt) -> str:
    first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
    return textwrap.dedent("".join(source_lines[first - 1: node.end_lineno])).rstrip() + "\n"


def mistake_of(docstring: str) -> str:
    """The mistake a copy's docstring names: its 'Mutant:' paragraph, else its first paragraph."""
    paragraphs = [" ".join(p.split()) for p in docstring.strip().split("\n\n") if p.strip()]
    for p in paragraphs:
        if p.startswith("Mutant:"):
            return p[len("Mutant:"):].strip()
    return paragraphs[0] if paragraphs else ""


def override_source(solution_src: str, mutant_src: str) -> str:
    sol, mut = ast.parse(solution_src), ast.parse(mutant_src)
    lines = mutant_src.splitlines(keepends=True)
    sol_by_names: dict[tuple[str, ...], ast.stmt] = {}
    sol_dumps = {_dump(s) for s in sol.body}
    for s in sol.body:
        if _bound_names(s):
            sol_by_names[_bound_names(s)] = s
    top_level = {n for s in sol.body for n in _bound_names(s)}

    chunks: list[tuple[int, str]] = []  # (index in the mutant's body, text)
    overridden: set[str] = set()
    body = _strip_docstring(mut.body)
    for i, stmt in enumerate(body):
        if _dump(stmt) in sol_dumps:
            continue
        names = _bound_names(stmt)
        old = sol_by_names.get(names)
        if isinstance(stmt, ast.ClassDef) and isinstance(old, ast.ClassDef):
            text = _method_override(stmt, old, lines, top_level)
            if text is not None:
                chunks.append((i, text))
                continue
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            chunks.append((i, _segment(lines, stmt)))
            continue
        if not names:
            raise SystemExit(f"a statement binds no name, cannot place it: {ast.unparse(stmt)[:80]}")
        overridden.update(names)
        chunks.append((i, _segment(lines, stmt)))
    # statements the copy kept but that read an overridden name while the module runs
    kept = {i for i, _ in chunks}
    changed = True
    while changed:
        changed = False
        for i, stmt in enumerate(body):
            if i not in kept and _definition_time_loads(stmt) & overridden:
                chunks.append((i, _segment(lines, stmt)))
                kept.add(i)
                overridden.update(_bound_names(stmt))
                changed = True
    doc = ast.get_docstring(mut) or ""
    # the mistake is the docstring's first paragraph: one line, wrapped when long
    header = '"""' + "\n".join(textwrap.wrap(mistake_of(doc), 100)) + '"""\n'
    return header + "".join("\n\n" + text for _, text in sorted(chunks))


def _method_override(new: ast.ClassDef, old: ast.ClassDef, lines: list[str], top_level: set[str]) -> str | None:
    same_head = _dump(ast.Tuple(elts=new.bases + new.decorator_list, ctx=ast.Load())) == \
        _dump(ast.Tuple(elts=old.bases + old.decorator_list, ctx=ast.Load())) and \
        [_dump(k) for k in new.keywords] == [_dump(k) for k in old.keywords]
    if not same_head or _class_level(new) != _class_level(old):
        return None
    new_m, old_m = _methods(new), _methods(old)
    if set(old_m) - set(new_m):
        return None
    changed = [m for name, m in new_m.items() if name not in old_m or _dump(m) != _dump(old_m[name])]
    if any(_needs_its_class(m) or m.name in top_level for m in changed):
        return None
    return "\n\n".join(_segment(lines, m) + f"\n\n{new.name}.{m.name} = {m.name}\n" for m in changed)


def is_full_copy(solution_src: str, mutant_src: str) -> bool:
    """A copy defines every function and class the solution defines."""
    defs = lambda src: {s.name for s in ast.parse(src).body if isinstance(s, (ast.FunctionDef, ast.ClassDef))}  # noqa: E731
    return defs(solution_src) <= defs(mutant_src)


# -- the proof --------------------------------------------------------------------------------
def _fingerprint(value, seen=None):
    seen = seen if seen is not None else set()
    if isinstance(value, types.FunctionType):
        return ("function", _code(value.__code__), _fingerprint(value.__defaults__, seen),
                _fingerprint(value.__kwdefaults__, seen))
    if isinstance(value, type):
        if id(value) in seen:
            return ("class", value.__name__)
        seen.add(id(value))
        own = {k: _fingerprint(v, seen) for k, v in vars(value).items()
               if k not in ("__doc__", "__module__", "__qualname__", "__dict__", "__weakref__")}
        return ("class", value.__name__, tuple(b.__name__ for b in value.__bases__), tuple(sorted(own.items(), key=repr)))
    if isinstance(value, (staticmethod, classmethod)):
        return (type(value).__name__, _fingerprint(value.__func__, seen))
    if isinstance(value, property):
        return ("property", _fingerprint(value.fget, seen), _fingerprint(value.fset, seen))
    if isinstance(value, dict):
        return ("dict", tuple((k, _fingerprint(v, seen)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, tuple(_fingerprint(v, seen) for v in value))
    if isinstance(value, types.ModuleType):
        return ("module", value.__name__)
    return ("value", repr(value))


def _code(code: types.CodeType):
    consts = [_code(c) if isinstance(c, types.CodeType) else repr(c) for c in code.co_consts]
    if code.co_consts and isinstance(code.co_consts[0], str):  # a docstring: a method's loses an indent level
        consts[0] = repr(inspect.cleandoc(code.co_consts[0]))
    consts = tuple(consts)
    return (code.co_code, consts, code.co_names, code.co_varnames, code.co_freevars, code.co_cellvars)


def _namespace(source: str, name: str) -> dict:
    module = types.ModuleType(name)
    exec(compile(source, f"<{name}>", "exec"), module.__dict__)  # noqa: S102 - our own solution and mutants
    return {k: v for k, v in module.__dict__.items() if not k.startswith("__")}


def differences(solution_src: str, override_src: str, copy_src: str) -> list[str]:
    """What differs between solution + override and the full copy, by value, after running both."""
    composed = _namespace(solution_src + "\n\n" + override_src, "composed")
    copy = _namespace(copy_src, "copy")
    out = []
    for name, value in copy.items():
        if name not in composed:
            out.append(f"{name} is missing")
        elif _fingerprint(composed[name]) != _fingerprint(value):
            out.append(f"{name} differs")
    override_names = {n for s in ast.parse(override_src).body for n in _bound_names(s)}
    for name in set(composed) - set(copy):
        # a method override leaves its function at the top level too (`forward`, then Cls.forward = forward)
        if name not in override_names:
            out.append(f"{name} is defined by the solution but not by the copy")
    return out


def compare(before: Path, after: Path) -> int:
    """Trials whose verdict, test counts or first failure differ between two validate runs.
    Line numbers and file names in the notes are ignored: they move when a copy becomes
    solution + override."""
    def norm(note: str) -> str:
        return re.sub(r'"[^"]*\.py"', '"F.py"', re.sub(r"line \d+", "line N", note))

    n = bad = 0
    for b in sorted(before.glob("*.json")):
        old = {(t["kind"], t["file"]): t for t in json.loads(b.read_text())["exercises"][0]["trials"]}
        new = {(t["kind"], t["file"]): t for t in json.loads((after / b.name).read_text())["exercises"][0]["trials"]}
        for key in sorted(old.keys() | new.keys()):
            n += 1
            x, y = old.get(key), new.get(key)
            same = x and y and all(x[f] == y[f] for f in ("ok", "tests_passed", "tests_total")) and \
                norm(x["note"]) == norm(y["note"])
            if not same:
                bad += 1
                print(f"{b.stem} {key}: before {x and x['note']!r}, after {y and y['note']!r}")
    print(f"{n} trials compared, {bad} differ")
    return 1 if bad else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="prove equivalence only; write nothing")
    parser.add_argument("--against", default="HEAD", help="git revision holding the full copies (for --check)")
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("BEFORE", "AFTER"),
                        help="compare two folders of `validate SLUG --json` outputs")
    args = parser.parse_args()
    if args.compare:
        return compare(*args.compare)
    bad = 0
    for path in sorted(REPO.glob("graders/*/*/mutants/*.py")):
        rel = path.relative_to(REPO)
        solution_src = (path.parent.parent / "solution.py").read_text()
        if args.check:
            copy_src = subprocess.run(["git", "show", f"{args.against}:{rel}"], cwd=REPO, capture_output=True,
                                      text=True, check=True).stdout
            override = path.read_text()
        else:
            copy_src = path.read_text()
            if not is_full_copy(solution_src, copy_src):
                print(f"{rel}: already an override, skipped")
                continue
            override = override_source(solution_src, copy_src)
        problems = differences(solution_src, override, copy_src)
        status = "ok" if not problems else "DIFFERS: " + "; ".join(problems)
        print(f"{rel}: {len(copy_src.splitlines())} -> {len(override.splitlines())} lines, {status}")
        if problems:
            bad += 1
        elif not args.check:
            path.write_text(override)
    print(f"{bad} mutant(s) differ" if bad else "every mutant: solution + override == the old copy")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
