"""The functions (and classes) a learner writes, read from stub.py with ast: never imported.

An item is one to write when its body (or one of its methods') raises NotImplementedError;
what else the stub defines (an earlier part's class, given whole) is given code."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class StubItem:
    kind: str  # "function" | "class"
    name: str
    signature: str  # "def f(x: torch.Tensor) -> torch.Tensor:" or "class C(nn.Module):"
    doc: str
    lineno: int
    methods: list["StubItem"] = field(default_factory=list)
    source: str = ""  # the item's full source text in the stub
    to_write: bool = True  # its body (or a method's) raises NotImplementedError: the learner writes it

    def written_part(self) -> "StubItem | None":
        """What the learner writes of this item: a function to fill in, a class with only the
        methods to fill in, or None for code the stub gives (an earlier part's class)."""
        if not self.to_write:
            return None
        if self.kind != "class":
            return self
        return StubItem(self.kind, self.name, self.signature, self.doc, self.lineno,
                        [m for m in self.methods if m.to_write], self.source, True)

    @property
    def code(self) -> str:
        """The signature with its docstring, as a learner reads it."""
        parts = [self.signature]
        if self.doc:
            parts.append(_indent('"""' + self.doc + '"""', 1))
        for m in self.methods:
            parts.append("")
            parts.append(_indent(m.signature, 1))
            if m.doc:
                parts.append(_indent('"""' + m.doc + '"""', 2))
        return "\n".join(parts)


@dataclass
class StubInfo:
    doc: str
    header: str  # everything before the first function or class (docstring, imports, constants)
    items: list[StubItem]


class StubError(Exception):
    def __init__(self, path: Path, line: int | None, message: str):
        self.path, self.line, self.message = path, line, message
        super().__init__(f"{path}" + (f", line {line}" if line else "") + f": {message}")


def _indent(text: str, level: int) -> str:
    pad = "    " * level
    return "\n".join(pad + l if l.strip() else l for l in text.split("\n"))


def _signature(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    prefix = "async def" if isinstance(node, ast.AsyncFunctionDef) else "def"
    returns = f" -> {ast.unparse(node.returns)}" if node.returns is not None else ""
    return f"{prefix} {node.name}({ast.unparse(node.args)}){returns}:"


def _clean_doc(node) -> str:
    doc = ast.get_docstring(node, clean=True)
    return doc or ""


def _raises_not_implemented(node) -> bool:
    for sub in ast.walk(node):
        if isinstance(sub, ast.Raise) and sub.exc is not None:
            exc = sub.exc.func if isinstance(sub.exc, ast.Call) else sub.exc
            if isinstance(exc, ast.Name) and exc.id == "NotImplementedError":
                return True
    return False


def parse_stub(path: Path) -> StubInfo:
    path = Path(path)
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise StubError(path, None, f"cannot read the stub: {exc}") from None
    try:
        tree = ast.parse(source, filename=str(path))
    except SyntaxError as exc:
        raise StubError(path, exc.lineno, f"syntax error: {exc.msg}") from None
    lines = source.split("\n")
    items: list[StubItem] = []
    first_line = None
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            start = min([d.lineno for d in node.decorator_list] + [node.lineno])
            if first_line is None:
                first_line = start
            # include comment lines right above the definition
            while start > 1 and lines[start - 2].lstrip().startswith("#"):
                start -= 1
            text = "\n".join(lines[start - 1:node.end_lineno])
            if isinstance(node, ast.ClassDef):
                bases = ", ".join(ast.unparse(b) for b in [*node.bases, *node.keywords])
                item = StubItem("class", node.name, f"class {node.name}({bases}):" if bases else f"class {node.name}:",
                                _clean_doc(node), node.lineno, source=text)
                for sub in node.body:
                    if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef)) and (
                            not sub.name.startswith("_") or sub.name in ("__init__", "__call__")):
                        item.methods.append(StubItem("function", sub.name, _signature(sub), _clean_doc(sub), sub.lineno,
                                                     to_write=_raises_not_implemented(sub)))
                item.to_write = any(m.to_write for m in item.methods) or _raises_not_implemented(node)
            else:
                item = StubItem("function", node.name, _signature(node), _clean_doc(node), node.lineno, source=text,
                                to_write=_raises_not_implemented(node))
            items.append(item)
    header_end = (first_line or len(lines) + 1) - 1
    while header_end > 0 and lines[header_end - 1].lstrip().startswith("#"):
        header_end -= 1
    header = "\n".join(lines[:header_end]).rstrip() + "\n"
    return StubInfo(doc=ast.get_docstring(tree) or "", header=header, items=items)


def highlight_code_item(item: StubItem) -> str:
    """An item's signature and docstring as highlighted HTML."""
    from mi_exercise.site_builder.render import highlight_code

    return highlight_code(item.code, "python")
