"""Rules about what a learner's code may call ("no torch.linalg.qr"), checked on the trusted side.

The learner's source is parsed with `ast`, never imported or run. Every name is resolved to
the dotted path it stands for through imports (`import torch.linalg as la`, `from torch.linalg
import qr as q`, `from torch import linalg`, star imports), plain assignments (`f = torch.qr`),
`getattr(module, "literal")`, `__import__("torch")` and `importlib.import_module("torch")`.
A reference to a forbidden path, or to anything under it, breaks the rule wherever it is in the
file (a helper could make the call for the graded function); so does a method of that name
(`x.qr()`), when asked for. What cannot be resolved by reading (`getattr` with a computed name
on a module above a forbidden path, `vars(torch.linalg)`, `eval`, `exec`, a computed import)
breaks it too, since the rule could not be checked. Sibling modules the file imports from its
own folder are read the same way.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

@dataclass(frozen=True)
class LearnerSource:
    """The learner's file as the trusted side read it (the `learner_source` fixture)."""

    path: Path
    text: str


OPAQUE = {"eval": "eval()", "exec": "exec()", "compile": "compile()"}


@dataclass(frozen=True)
class Use:
    what: str  # the forbidden path, as resolved (e.g. "torch.linalg.qr")
    line: int
    text: str  # the source it was written as (e.g. "la.qr")
    file: str = ""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.file else f"line {self.line}"
        shown = f"`{self.text}`" + (f" (that is {self.what})" if self.text != self.what else "")
        return f"{shown} at {where}"


def _literal_str(node) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


class _Resolver(ast.NodeVisitor):
    def __init__(self, source: str, forbidden: tuple[str, ...], methods: frozenset[str],
                 allowed: tuple[str, ...] = (), keywords: frozenset[str] = frozenset()):
        self.source = source
        self.forbidden = forbidden
        self.methods = methods
        self.allowed = allowed
        self.keywords = keywords
        self.names: dict[str, str] = {}  # local name -> dotted path
        self.star: list[str] = []  # modules imported with *
        self.uses: list[Use] = []
        self.local_imports: set[str] = set()

    # -- binding ------------------------------------------------------------------------------
    def bind_imports(self, tree) -> None:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    self.local_imports.add(a.name.split(".")[0])
                    if a.asname:
                        self.names[a.asname] = a.name
                    else:
                        top = a.name.split(".")[0]
                        self.names[top] = top
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                self.local_imports.add(node.module.split(".")[0])
                for a in node.names:
                    if a.name == "*":
                        self.star.append(node.module)
                    else:
                        self.names[a.asname or a.name] = f"{node.module}.{a.name}"

    def bind_assignments(self, tree) -> None:
        # twice, so `a = torch; b = a.linalg` resolves whichever order ast.walk meets them in
        for _ in range(2):
            for node in ast.walk(tree):
                targets, value = [], None
                if isinstance(node, ast.Assign):
                    targets, value = node.targets, node.value
                elif isinstance(node, (ast.AnnAssign, ast.NamedExpr)) and node.value is not None:
                    targets, value = [node.target], node.value
                path = self.resolve(value) if value is not None else None
                for t in targets:
                    if isinstance(t, ast.Name) and path:
                        self.names[t.id] = path

    # -- resolving ------------------------------------------------------------------------------
    def resolve(self, node) -> str | None:
        """The dotted path an expression stands for, when reading can tell."""
        if isinstance(node, ast.Name):
            if node.id in self.names:
                return self.names[node.id]
            for mod in self.star:
                candidate = f"{mod}.{node.id}"
                if self._touches(candidate):
                    return candidate
            return None
        if isinstance(node, ast.Attribute):
            base = self.resolve(node.value)
            return f"{base}.{node.attr}" if base else None
        if isinstance(node, ast.Call):
            fn = self.resolve(node.func) if not (isinstance(node.func, ast.Name) and node.func.id in ("getattr", "__import__")) else node.func.id
            args = node.args
            if fn == "getattr" and len(args) >= 2:
                base, name = self.resolve(args[0]), _literal_str(args[1])
                return f"{base}.{name}" if base and name else None
            if fn in ("__import__", "importlib.import_module") and args:
                name = _literal_str(args[0])
                if name is None:
                    return None
                fromlist = any(k.arg == "fromlist" for k in node.keywords) or len(args) >= 4
                return name if fn == "importlib.import_module" or fromlist else name.split(".")[0]
        return None

    def _forbidden(self, path: str) -> str | None:
        if any(path == a or path.startswith(a + ".") for a in self.allowed):
            return None
        for f in self.forbidden:
            if path == f or path.startswith(f + "."):
                return f
        return None

    def _touches(self, path: str) -> bool:
        """path is forbidden, or a module above a forbidden path (torch.linalg above torch.linalg.qr)."""
        return self._forbidden(path) is not None or any(f.startswith(path + ".") for f in self.forbidden)

    def _use(self, what: str, node) -> None:
        text = ast.get_source_segment(self.source, node) or what
        self.uses.append(Use(what, getattr(node, "lineno", 0), " ".join(text.split())[:80]))

    # -- visiting -------------------------------------------------------------------------------
    def visit_Attribute(self, node):
        path = self.resolve(node)
        if path and self._forbidden(path):
            self._use(path, node)  # once, as written in full (`ag.grad`), not again for `ag`
            return
        if path is None and node.attr in self.methods:
            self._use(f".{node.attr}()", node)
        elif node.attr == "__dict__" and self._touches(self.resolve(node.value) or "\0"):
            self._use(f"{self.resolve(node.value)}.__dict__ (a rule could not be checked through it)", node)
        self.generic_visit(node)

    def visit_Name(self, node):
        path = self.resolve(node)
        if path and self._forbidden(path) and isinstance(node.ctx, ast.Load):
            self._use(path, node)

    def visit_Call(self, node):
        fn = node.func.id if isinstance(node.func, ast.Name) else self.resolve(node.func)
        for k in node.keywords:
            if k.arg in self.keywords and not (isinstance(k.value, ast.Constant) and not k.value.value):
                self._use(f"{k.arg}=", k.value)
        if isinstance(node.func, ast.Name) and node.func.id in OPAQUE and node.func.id not in self.names:
            self._use(f"{OPAQUE[node.func.id]} (code run from a string cannot be checked)", node)
        elif fn == "getattr" and len(node.args) >= 2 and _literal_str(node.args[1]) is None:
            base = self.resolve(node.args[0])
            if base and self._touches(base):
                self._use(f"getattr({base}, <computed name>) (a rule could not be checked through it)", node)
        elif fn == "getattr" and len(node.args) >= 2:
            path = self.resolve(node)
            if path and self._forbidden(path):
                self._use(path, node)
        elif fn == "vars" and node.args and self._touches(self.resolve(node.args[0]) or "\0"):
            self._use(f"vars({self.resolve(node.args[0])}) (a rule could not be checked through it)", node)
        elif fn in ("__import__", "importlib.import_module") and node.args and _literal_str(node.args[0]) is None:
            self._use(f"{fn}(<computed name>) (a computed import cannot be checked)", node)
        self.generic_visit(node)

    def visit_ImportFrom(self, node):
        if node.level == 0 and node.module:
            for a in node.names:
                path = node.module if a.name == "*" else f"{node.module}.{a.name}"
                if self._forbidden(path):
                    self._use(path, node)

    def visit_Import(self, node):
        for a in node.names:
            if self._forbidden(a.name):
                self._use(a.name, node)


def _visit_within(r: "_Resolver", tree, within) -> None:
    """Visit the named top-level functions/classes and, transitively, the file's own functions
    and classes they refer to by name (a helper that makes the forbidden call for them). A name
    that is not a def of the file (an assignment, an import) falls back to the whole file."""
    roots = _reached_defs(tree, within)
    for node in roots if roots is not None else [tree]:
        r.visit(node)


def find_uses(source: str, forbidden, *, methods=(), allowed=(), keywords=(), within=(), path: Path | None = None,
              _seen: set | None = None) -> list[Use]:
    """Every place in `source` that uses a forbidden dotted path, unless it is under an `allowed`
    one (forbid torch.nn, allow torch.nn.functional); an attribute in `methods` on anything
    (`x.qr()`, `x.requires_grad = True`); a keyword in `keywords` given a true value. With
    `within` (function names), only those functions and the file's functions they use count:
    a rule stated for gram_schmidt leaves the other functions free.

    `path` (the learner's file) lets modules imported from its own folder be read too. A file
    that does not parse has no uses here: the worker's import reports its syntax error."""
    forbidden = tuple(forbidden)
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    r = _Resolver(source, forbidden, frozenset(methods), tuple(allowed), frozenset(keywords))
    r.bind_imports(tree)
    r.bind_assignments(tree)
    if within:
        _visit_within(r, tree, within)
    else:
        r.visit(tree)
    uses = list(dict.fromkeys(r.uses))  # a helper reached twice is reported once
    if path is not None:
        seen = _seen if _seen is not None else {Path(path).resolve()}
        for name in sorted(r.local_imports):
            for sibling in (Path(path).parent / f"{name}.py", Path(path).parent / name / "__init__.py"):
                sibling = sibling.resolve()
                if sibling.is_file() and sibling not in seen:
                    seen.add(sibling)
                    text = sibling.read_text(errors="replace")
                    uses += [Use(u.what, u.line, u.text, u.file or sibling.name)
                             for u in find_uses(text, forbidden, methods=methods, allowed=allowed,
                                                keywords=keywords, path=sibling, _seen=seen)]
    return uses


@dataclass(frozen=True)
class CallSite:
    line: int
    in_loop: bool  # inside a for/while loop or a comprehension: may run more than once


def _reached_defs(tree, within) -> list:
    """The top-level defs named in `within` (the last of each name: later definitions win) and
    the file's defs they refer to by name, transitively; None when a name is not a def."""
    defs = {n.name: n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    todo, done, out = list(within), set(), []
    while todo:
        name = todo.pop()
        if name in done:
            continue
        done.add(name)
        if name not in defs:
            return None
        out.append(defs[name])
        todo += [n.id for n in ast.walk(defs[name]) if isinstance(n, ast.Name) and n.id in defs]
    return out


def method_call_sites(source: str, method: str, within=()) -> list[CallSite]:
    """Every call `<anything>.method(...)` in the source (with `within`: in those functions and
    the file's helpers they use, as find_uses)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    roots = _reached_defs(tree, within) if within else None
    if roots is not None:
        tree = ast.Module(body=sorted(roots, key=lambda n: n.lineno), type_ignores=[])
    sites: list[CallSite] = []
    loops = (ast.For, ast.AsyncFor, ast.While, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)

    def walk(node, in_loop: bool) -> None:
        if isinstance(node, ast.Call):
            f = node.func
            if (isinstance(f, ast.Attribute) and f.attr == method) or (
                    isinstance(f, ast.Call) and isinstance(f.func, ast.Name) and f.func.id == "getattr"
                    and len(f.args) >= 2 and _literal_str(f.args[1]) == method):
                sites.append(CallSite(node.lineno, in_loop))
        for child in ast.iter_child_nodes(node):
            walk(child, in_loop or isinstance(node, loops))

    walk(tree, False)
    return sites
