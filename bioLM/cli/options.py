"""CLI flags derived from a config dataclass: the dataclass field (type, default, docstring) is the one source.

``add_options(parser, "bioLM.scoring.variants:VariantScoringConfig")`` adds ``--window``, ``--strands``, ...
with the field's type, default and docstring as help; ``build_options(..., args)`` builds the dataclass from
the parsed namespace. The class is read from its source file with :mod:`ast`, not imported, so building the
``biolm`` parser stays fast (the scoring modules import torch); ``tests/cli/test_options.py`` checks that
what is read equals the imported class's fields and defaults.

Types understood: ``int``, ``float``, ``str``, ``bool`` (``False`` default: a ``--flag`` that sets it;
``True``: ``--flag / --no-flag``), ``Path`` (also ``str | Path``), ``Literal[...]`` (choices), ``list[X]``
(one comma-separated value), and any of them ``| None``. A field whose default is not a literal is left out of the
namespace unless given, so the dataclass applies its own default.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from functools import cache
from pathlib import Path
from typing import Any

_PACKAGE_ROOT = Path(__file__).resolve().parents[2]
_SCALARS: dict[str, Callable[[str], Any]] = {"int": int, "float": float, "str": str, "Path": Path}
_NO_DEFAULT = object()


@dataclass(frozen=True)
class FieldSpec:
    """One dataclass field as read from source: name, annotation text, default (``_NO_DEFAULT`` when it is not
    a literal) and docstring."""

    name: str
    annotation: str
    default: Any
    doc: str


def _literal_default(node: ast.expr | None) -> Any:
    """The default of a field: a literal, ``1 << 28``-like constant arithmetic, or ``field(default_factory=list)``."""
    if node is None:
        return _NO_DEFAULT
    if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "field":
        for keyword in node.keywords:
            if keyword.arg == "default":
                return _literal_default(keyword.value)
            if keyword.arg == "default_factory" and getattr(keyword.value, "id", None) in ("list", "dict"):
                return {"list": [], "dict": {}}[keyword.value.id]
        return _NO_DEFAULT
    try:
        return ast.literal_eval(node)
    except ValueError:
        pass
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.LShift | ast.Mult | ast.Add):
        left, right = _literal_default(node.left), _literal_default(node.right)
        if isinstance(left, int) and isinstance(right, int):
            return {ast.LShift: left << right, ast.Mult: left * right, ast.Add: left + right}[type(node.op)]
    return _NO_DEFAULT


@cache
def dataclass_fields(target: str) -> tuple[FieldSpec, ...]:
    """Fields of the dataclass ``"package.module:Class"``, in order, read from its source (no import)."""
    module, _, name = target.partition(":")
    path = _PACKAGE_ROOT.joinpath(*module.split(".")).with_suffix(".py")
    tree = ast.parse(path.read_text(), filename=str(path))
    node = next((n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == name), None)
    if node is None:
        raise LookupError(f"{path} defines no class {name}")
    fields: list[FieldSpec] = []
    for statement, following in zip(node.body, [*node.body[1:], None], strict=True):
        if not isinstance(statement, ast.AnnAssign) or not isinstance(statement.target, ast.Name):
            continue
        annotation = ast.unparse(statement.annotation)
        if annotation.startswith("ClassVar"):
            continue
        doc = ""
        if isinstance(following, ast.Expr) and isinstance(getattr(following, "value", None), ast.Constant):
            doc = str(following.value.value)
        fields.append(FieldSpec(statement.target.id, annotation, _literal_default(statement.value), doc))
    return tuple(fields)


def _help(doc: str) -> str:
    """A field docstring as one line of help: RST markup dropped, ``%`` escaped for argparse."""
    text = " ".join(doc.split())
    text = re.sub(r":\w+:`~?([^`]+)`", r"\1", text).replace("``", "")
    return text.replace("%", "%%")


def _argument_kwargs(spec: FieldSpec) -> dict[str, Any]:
    """``add_argument`` keywords for a field's annotation."""
    parts = [p.strip() for p in spec.annotation.split("|")]
    optional = "None" in parts
    parts = [p for p in parts if p != "None"]
    if "Path" in parts:  # str | Path: a path
        parts = ["Path"]
    if len(parts) != 1:
        raise TypeError(f"field {spec.name}: annotation {spec.annotation!r} has no CLI form")
    kind = parts[0]
    if kind == "bool":
        if optional:
            raise TypeError(f"field {spec.name}: bool | None has no CLI form")
        return {"action": argparse.BooleanOptionalAction if spec.default is True else "store_true"}
    if match := re.fullmatch(r"Literal\[(.*)\]", kind):
        choices = list(ast.literal_eval(f"[{match.group(1)}]"))
        return {"choices": choices, "type": type(choices[0])}
    if match := re.fullmatch(r"list\[(\w+)\]", kind):  # one comma-separated value: a,b
        return {"type": _CommaList(_SCALARS[match.group(1)]), "metavar": spec.name.upper().rstrip("S") + ",..."}
    if kind not in _SCALARS:
        raise TypeError(f"field {spec.name}: annotation {spec.annotation!r} has no CLI form")
    return {"type": _SCALARS[kind]}


@dataclass(frozen=True)
class _CommaList:
    """argparse type of a list field: one comma-separated value, ``q_proj,v_proj`` -> ``["q_proj", "v_proj"]``."""

    item: Callable[[str], Any]

    def __call__(self, text: str) -> list:
        return [self.item(part.strip()) for part in text.split(",") if part.strip()]


def add_options(parser: argparse.ArgumentParser | argparse._ArgumentGroup, target: str, *,
                only: Iterable[str] | None = None, exclude: Iterable[str] = (),
                flags: Mapping[str, Sequence[str]] | None = None, required: Iterable[str] = (),
                help: Mapping[str, str] | None = None,  # noqa: A002 (argparse's word)
                dests: Mapping[str, str] | None = None) -> list[str]:
    """Add a flag per field of the dataclass ``target`` (``"module:Class"``); returns the field names added.

    ``only`` / ``exclude`` choose fields; ``flags`` gives a field other spellings (the first is the main one;
    default ``--field-name``); ``required`` fields have no default; ``help`` replaces a docstring's help;
    ``dests`` renames a field's attribute in the namespace (two configs of one command sharing a field name)."""
    dests = dict(dests or {})
    flags, help, required = dict(flags or {}), dict(help or {}), set(required)
    chosen = None if only is None else list(only)
    by_name = {spec.name: spec for spec in dataclass_fields(target)}
    unknown = [name for name in [*(chosen or []), *exclude, *flags, *required, *help, *dests] if name not in by_name]
    if unknown:
        raise LookupError(f"{target} has no field(s) {', '.join(unknown)}")
    names = [n for n in (chosen if chosen is not None else by_name) if n not in set(exclude)]
    for name in names:
        spec = by_name[name]
        kwargs = _argument_kwargs(spec)
        text = help.get(name, _help(spec.doc))
        if name in required:
            kwargs["required"] = True
        elif spec.default is _NO_DEFAULT:
            kwargs["default"] = argparse.SUPPRESS
        else:
            kwargs["default"] = spec.default
            if not any(spec.default is empty for empty in (None, False, True)) and spec.default not in ([], ""):
                text += " (default: %(default)s)"
        spelled = flags.get(name) or [f"--{name.replace('_', '-')}"]
        parser.add_argument(*spelled, dest=dests.get(name, name), help=text, **kwargs)
    return names


def module_constant(target: str) -> Any:
    """The literal value of the module-level constant ``"package.module:NAME"``, read from source (no import)."""
    module, _, name = target.partition(":")
    path = _PACKAGE_ROOT.joinpath(*module.split(".")).with_suffix(".py")
    for node in ast.parse(path.read_text(), filename=str(path)).body:
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            return ast.literal_eval(node.value)
    raise LookupError(f"{path} defines no constant {name}")


def add_runtime_arguments(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """The shared ``--device`` and ``--precision`` options of every command that runs a model (choices:
    ``bioLM.hardware.PRECISIONS``, read without importing torch)."""
    parser.add_argument("--device", default="auto",
                        help="auto (CUDA when available, else CPU), cpu, cuda or cuda:N (default auto)")
    parser.add_argument("--precision", default="auto", choices=module_constant("bioLM.hardware:PRECISIONS"),
                        help="auto: bf16 autocast where the hardware runs bf16 natively (CUDA, CPUs with AMX or "
                             "AVX512-BF16), else fp32; bf16 or fp32 to force one (default auto)")


def build_options(target: str | type, args: argparse.Namespace, **values: Any) -> Any:
    """The dataclass ``target`` from the namespace attributes named like its fields, plus ``values`` (which
    win). ``target`` is the class or its ``"module:Class"`` name (imported here, at run time)."""
    if isinstance(target, str):
        module, _, name = target.partition(":")
        target = getattr(importlib.import_module(module), name)
    given = {f.name: getattr(args, f.name) for f in fields(target) if f.init and hasattr(args, f.name)}
    return target(**{**given, **values})
