"""What a job runs, as a param: a hash of the code its script reaches and the versions of the libraries that make
its values (README: "Reruns and provenance").

Snakemake reruns a ``script:`` rule's jobs when the script's *mtime* changes and never when the package or a
library under it changes. Every rule that makes values therefore takes a ``code`` param, :func:`code_param`:

``{"step": "score", "code": "<12 hex>", "libraries": {"scib-metrics": "0.5.10", ...}}``

- ``code`` hashes the syntax tree (comments, docstrings and formatting removed) of the script and of every
  piece of the ``sysvi_bench`` package it reaches: the functions, classes and constants it uses, followed
  through the functions they use in turn, plus the module-level statements of each module it imports. A
  change elsewhere in the package (another step's module, a function this step never calls) does not change it.
- a training job's code is its model kind's: the train script without the other kinds' fitters and
  ``ModelSpec``s, plus its own (:func:`train_code_param`), so a change in ``train/models/sysvi.py`` retrains the
  SysVI runs only.
- ``libraries``: the installed versions of the libraries the reached code imports, and of the libraries among
  :data:`VALUE_LIBRARIES` that those require (a torch upgrade retrains scvi-tools' models, which import it).

The import analysis is static and approximate (a function called through an object whose class the script
never names is not followed); ``tests/test_envs.py`` checks with it that every step's environment provides what
the step imports. Computed at parse time with the standard library only: each module's pieces are cached by
its content (:func:`module_info`), each param per process.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.metadata as md
import json
import os
import re
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Sequence

from sysvi_bench.config import canonical_json

if TYPE_CHECKING:
    from sysvi_bench.train.models.base import ModelSpec

PACKAGE = "sysvi_bench"
WORKFLOW_DIR = Path(__file__).resolve().parents[1]  # holds the package and scripts/
SCRIPTS_DIR = WORKFLOW_DIR / "scripts"

# Distributions whose version can change a result: the numerical stack. A library a step imports counts
# always; one it only requires (transitively) counts when it is listed here (e.g. torch under scvi-tools, not
# rich or tqdm).
VALUE_LIBRARIES = frozenset({
    "anndata", "h5py", "harmonypy", "igraph", "jax", "jaxlib", "leidenalg", "lightning", "llvmlite", "matplotlib",
    "numba", "numpy", "pandas", "plottable", "pynndescent", "pytorch-lightning", "scanpy", "scib-metrics",
    "scikit-learn", "scikit-misc", "scipy", "scvi-tools", "seaborn", "statsmodels", "torch", "umap-learn",
})
# Import names whose distribution is named otherwise (importlib.metadata.packages_distributions() knows them
# all but takes ~1 s to build: too slow for every parse). tests/test_reruns.py checks this table against it.
DISTRIBUTIONS = {
    "scvi": "scvi-tools", "scib_metrics": "scib-metrics", "sklearn": "scikit-learn", "skmisc": "scikit-misc",
    "umap": "umap-learn", "yaml": "PyYAML", "PIL": "pillow", "mpl_toolkits": "matplotlib",
}
# Imports that are not libraries of a step's values
NOT_LIBRARIES = {"snakemake", "__future__", PACKAGE}


# ---- the static import analysis (what a script reaches)


@lru_cache(maxsize=None)
def module_file(name: str) -> Path | None:
    """The file of package module ``name`` (``sysvi_bench.x.y``), or None when ``name`` is not a module."""
    path = WORKFLOW_DIR.joinpath(*name.split("."))
    for candidate in (path / "__init__.py", path.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def import_names(node: ast.AST) -> dict[str, str]:
    """local name -> imported module or ``module.attribute``, of one import statement (absolute imports)."""
    if isinstance(node, ast.Import):
        return {(a.asname or a.name.split(".")[0]): (a.name if a.asname else a.name.split(".")[0]) for a in node.names}
    if isinstance(node, ast.ImportFrom) and node.module and not node.level:
        return {(a.asname or a.name): f"{node.module}.{a.name}" for a in node.names}
    return {}


def _strip_docstrings(tree: ast.AST) -> ast.AST:
    """``tree`` without the docstrings of its module, classes and functions (they never change a value)."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]
    return tree


def normalized(node: ast.AST) -> str:
    """A statement's syntax tree as text: no comments, docstrings, line numbers or formatting."""
    return ast.dump(node, annotate_fields=False)


def _spec_kind(node: ast.AST) -> str | None:
    """The kind of a module-level ``NAME = ModelSpec("kind", fitter, ...)``, else None."""
    value = node.value if isinstance(node, (ast.Assign, ast.AnnAssign)) else None
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "ModelSpec" \
            and value.args and isinstance(value.args[0], ast.Constant):
        return value.args[0].value
    return None


def _fitter_argument(node: ast.AST) -> str | None:
    """The name passed as ``fitter`` (second argument) to a ``ModelSpec(...)`` call, else None."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "ModelSpec"):
        return None
    args = list(node.args[1:2]) + [k.value for k in node.keywords if k.arg == "fitter"]
    return args[0].id if args and isinstance(args[0], ast.Name) else None


def references(nodes: Iterable[ast.AST], names: dict[str, str], skip_names: frozenset[str] = frozenset()) -> set[str]:
    """What ``nodes`` refer to, resolved through ``names`` (local name -> qualified name) and the imports inside
    them: ``x.attr`` -> ``<x's target>.attr``; a bare ``x`` -> ``<x's target>`` + :data:`BARE` (a module used as
    a whole, e.g. in ``getattr(module, name)``, counts with all of its definitions); an import inside them ->
    its target. Unresolved names (locals, builtins) are dropped."""
    subs = [sub for node in nodes for sub in ast.walk(node)]
    names = dict(names)
    found: set[str] = set()
    attribute_bases = set()
    for sub in subs:
        imported = import_names(sub)
        names |= imported
        found |= set(imported.values())
        if isinstance(sub, ast.Attribute) and isinstance(sub.value, ast.Name):
            attribute_bases.add(id(sub.value))
    for sub in subs:
        if isinstance(sub, ast.Attribute) and isinstance(sub.value, ast.Name):
            head = sub.value.id
            if head in names and head not in skip_names:
                found.add(f"{names[head]}.{sub.attr}")
        elif isinstance(sub, ast.Name) and id(sub) not in attribute_bases and sub.id in names \
                and sub.id not in skip_names:
            found.add(names[sub.id] + BARE)
    return found


BARE = ".*"


class ModuleInfo:
    """One package module as pieces: each top-level definition (function, class, constant) and what runs on
    import (every other top-level statement, and the modules it imports), each as (digest of its normalised
    code, the qualified names it refers to)."""

    def __init__(self, name: str, defs: dict[str, tuple[str, list[str]]], on_import: tuple[str, list[str]],
                 specs: dict[str, str]):
        self.name = name
        self.defs = defs
        self.on_import = on_import
        self.specs = specs  # model kind -> name of the ModelSpec constant that declares it

    @classmethod
    def parse(cls, name: str, source: str) -> "ModuleInfo":
        tree = _strip_docstrings(ast.parse(source))
        nodes: dict[str, list[ast.stmt]] = {}
        on_import: list[ast.stmt] = []
        imports: dict[str, str] = {}
        for node in tree.body:
            targets = _defined_names(node)
            for target in targets:
                nodes.setdefault(target, []).append(node)
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                imports |= import_names(node)
            elif not targets:
                on_import.append(node)
                for sub in ast.walk(node):  # imports inside if/try blocks run on import too
                    imports |= import_names(sub)
        specs = {kind: d for d, statements in nodes.items() for n in statements if (kind := _spec_kind(n))}
        # a ModelSpec names its fitter, which only the train job of its kind runs (``calls`` of reach)
        fitters = frozenset(f for d in specs.values() for n in nodes[d] for sub in ast.walk(n)
                            if (f := _fitter_argument(sub)))
        names = {**imports, **{d: f"{name}.{d}" for d in nodes}}  # as the module's code refers to them
        defs = {d: (_digest(statements), sorted(references(statements, names, fitters if d in specs.values()
                                                                       else frozenset())))
                for d, statements in nodes.items()}
        loaded = {module_part(t) for t in imports.values()} | references(on_import, names)
        return cls(name, defs, (_digest(on_import), sorted(loaded)), specs)


def _defined_names(node: ast.stmt) -> list[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) for t in node.targets):
        return [t.id for t in node.targets]
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return [node.target.id]
    return []


def _digest(nodes: Iterable[ast.AST]) -> str:
    return hashlib.sha256("\n".join(normalized(n) for n in nodes).encode()).hexdigest()[:32]


def module_part(target: str) -> str:
    """The module that importing ``target`` (a module or ``module.object``) loads: its longest prefix that is a
    package module (a library's name stays as it is)."""
    if not target.startswith(PACKAGE):
        return target
    parts = target.split(".")
    while len(parts) > 1 and module_file(".".join(parts)) is None:
        parts.pop()
    return ".".join(parts)


@lru_cache(maxsize=1)
def _analysis_version() -> str:
    """This module's own source: a change in the analysis invalidates every cached module."""
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]


@lru_cache(maxsize=None)
def module_info(name: str) -> ModuleInfo | None:
    """The pieces of package module ``name`` (None when it is not a module).

    Cached per process, and beside Python's own bytecode cache (``__pycache__/<module>.fingerprint.json``,
    keyed by the file's content and this analysis's version): parsing the whole package at every Snakemake
    start-up would cost about a second.
    """
    path = module_file(name)
    if path is None:
        return None
    source = path.read_bytes()
    key = hashlib.sha256(_analysis_version().encode() + source).hexdigest()
    cache = path.parent / "__pycache__" / f"{path.stem}.fingerprint.json"
    try:
        cached = json.loads(cache.read_text())
        if cached["key"] == key:
            return ModuleInfo(name, {d: tuple(v) for d, v in cached["defs"].items()}, tuple(cached["on_import"]),
                              cached["specs"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    info = ModuleInfo.parse(name, source.decode())
    try:  # best effort (a read-only checkout parses every time), atomic for concurrent Snakemake processes
        cache.parent.mkdir(exist_ok=True)
        tmp = cache.with_name(f"{cache.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"key": key, "defs": info.defs, "on_import": info.on_import, "specs": info.specs}))
        os.replace(tmp, cache)
    except OSError:
        pass
    return info


@dataclass
class Reach:
    """What a script reaches: package code (qualified name -> digest of its normalised syntax tree) and the
    top-level names of the libraries it imports."""

    code: dict[str, str] = field(default_factory=dict)
    libraries: set[str] = field(default_factory=set)

    def digest(self) -> str:
        text = json.dumps(sorted(self.code.items()))
        return hashlib.sha256(text.encode()).hexdigest()[:12]


def reach(script: Path, calls: Sequence[str] = (), skip: frozenset[str] = frozenset()) -> Reach:
    """The package code and libraries that ``script`` can run.

    The script runs top to bottom: all of it counts, and each name it uses is followed. A package module it
    imports contributes its module-level statements (they run on import) and the imports of those; its
    functions, classes and constants count when used, following the names they use in turn (imports inside
    them included). ``calls``: qualified names run although the script does not name them (the train job's
    fitter); ``skip``: qualified names never followed (the other kinds' model specs).
    """
    result = Reach()
    tree = _strip_docstrings(ast.parse(Path(script).read_text()))
    result.code[f"script:{Path(script).name}"] = _digest([tree])
    todo = sorted(references(tree.body, {})) + list(calls)
    done: set[str] = set()

    while todo:
        name = todo.pop()
        if name in done:
            continue
        done.add(name)
        bare = name.endswith(BARE)
        name = name.removesuffix(BARE)
        if name in skip:
            continue
        parts = name.split(".")
        if parts[0] != PACKAGE:
            if parts[0] not in sys.stdlib_module_names and parts[0] not in NOT_LIBRARIES:
                result.libraries.add(parts[0])
            continue
        for i in range(1, len(parts) + 1):
            module = ".".join(parts[:i])
            info = module_info(module)
            if info is None:
                # parts[:i] is an object of the module parts[:i-1]: follow what it uses
                owner = module_info(".".join(parts[: i - 1]))
                obj = parts[i - 1]
                if owner and obj in owner.defs:
                    result.code[module], refs = owner.defs[obj]
                    todo.extend(sorted(refs))
                break
            if f"{module}:" not in result.code:
                # importing a module runs its module-level statements and imports, not the functions it imports
                result.code[f"{module}:"], refs = info.on_import
                todo.extend(sorted(refs))
            if bare and i == len(parts):
                todo.extend(sorted(f"{module}.{d}" for d in info.defs))
    return result


# ---- the libraries' versions


def distribution_name(import_name: str) -> str:
    """The distribution that provides top-level module ``import_name`` (PEP 503 normalised)."""
    return normalize(DISTRIBUTIONS.get(import_name, import_name))


def normalize(name: str) -> str:
    """PEP 503 name normalisation (PyYAML == pyyaml, scikit_learn == scikit-learn)."""
    return re.sub(r"[-_.]+", "-", name).lower()


@lru_cache(maxsize=None)
def _installed(distribution: str) -> tuple[str, tuple[str, ...]]:
    """(version, the distributions it requires) of an installed distribution; ("not installed", ())."""
    try:
        dist = md.distribution(distribution)
    except md.PackageNotFoundError:
        return "not installed", ()
    requires = tuple(normalize(re.split(r"[ ;<>=!~\[(]", r, maxsplit=1)[0])
                     for r in dist.requires or [] if "extra ==" not in r)
    return dist.version, requires


def library_versions(import_names: Iterable[str]) -> dict[str, str]:
    """Versions of the distributions behind ``import_names`` and of those among :data:`VALUE_LIBRARIES` that
    they require, transitively (through value libraries only)."""
    todo = sorted({distribution_name(n) for n in import_names})
    versions: dict[str, str] = {}
    while todo:
        name = todo.pop()
        if name in versions:
            continue
        versions[name], requires = _installed(name)
        todo += [r for r in requires if r in VALUE_LIBRARIES and r not in versions]
    return dict(sorted(versions.items()))


# ---- the param


@lru_cache(maxsize=None)
def _fingerprint(script: str, calls: tuple[str, ...] = (), skip: frozenset[str] = frozenset(),
                 step: str | None = None) -> str:
    found = reach(SCRIPTS_DIR / script, calls, skip)
    return canonical_json({"step": step or Path(script).stem, "code": found.digest(),
                           "libraries": library_versions(found.libraries)})


def code_param(script: str) -> str:
    """The ``code`` param of a rule whose script is ``workflow/scripts/<script>``: canonical JSON
    ``{"step", "code", "libraries"}`` (see the module's docstring)."""
    return _fingerprint(script)


def spec_name(spec: "ModelSpec") -> str:
    """The qualified name of the module-level constant that holds ``spec`` (e.g. ``...models.sysvi.SPEC``)."""
    module = spec.fitter.__module__
    return f"{module}.{module_info(module).specs[spec.kind]}"


def train_code_param(spec: "ModelSpec", specs: Iterable["ModelSpec"], script: str = "train.py") -> str:
    """The ``code`` param of a training job of ``spec``'s kind: the train script with this kind's spec and fitter
    (and the libraries the spec names), without the other kinds' (``specs``: every kind's)."""
    fitter = f"{spec.fitter.__module__}.{spec.fitter.__name__}"
    others = frozenset(spec_name(s) for s in specs if s.kind != spec.kind)
    return _fingerprint(script, (spec_name(spec), fitter, *spec.libraries), others, f"train {spec.kind}")
