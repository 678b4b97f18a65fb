"""Rules of the code base that a reviewer should not have to check by eye."""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# What each package may import of ours: bot -> retrieval -> corpus, never back, and the
# front ends only through the core (which re-exports what of corpus they need).
ALLOWED = {"corpus": {"corpus"}, "retrieval": {"corpus", "retrieval"},
           "bot": {"retrieval", "bot"}}
MAX_LINES = 300
MAX_FUNCTION_LINES = 60
# The tools beside the product: the benchmarks and the trainers of its shipped weights.
TOOLS = ("bench", "training")


def modules(package: str) -> list[Path]:
    return sorted((REPO / package).rglob("*.py"))


def imported_packages(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found & set(ALLOWED)


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_point_one_way(package: str) -> None:
    wrong = {f"{path.relative_to(REPO)} imports {sorted(bad)}"
             for path in modules(package)
             if (bad := imported_packages(path) - ALLOWED[package])}
    assert not wrong


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_among(package: str) -> dict[str, set[str]]:
    """Each module of the package and the package's modules it imports anywhere: at the top,
    under TYPE_CHECKING or inside a function (a late import still ties the two together)."""
    paths = {module_name(path): path for path in modules(package)}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        here = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = here.split(".")[:len(here.split(".")) - node.level + 1]
                    base = ".".join([*up, base] if base else up)
                found |= {f"{base}.{a.name}" if f"{base}.{a.name}" in paths else base
                          for a in node.names}
        graph[name] = (found & set(paths)) - {name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One path around each cycle found by a depth-first walk."""
    found, state, stack = [], dict.fromkeys(graph, 0), []  # 0 new, 1 on the path, 2 done

    def walk(name: str) -> None:
        state[name] = 1
        stack.append(name)
        for other in sorted(graph[name]):
            if state[other] == 1:
                found.append([*stack[stack.index(other):], other])
            elif state[other] == 0:
                walk(other)
        stack.pop()
        state[name] = 2

    for name in sorted(graph):
        if state[name] == 0:
            walk(name)
    return found


def test_cycles_are_found() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles_in_the_front_ends() -> None:
    graph = imports_among("bot")
    assert "bot.feeds_commands" in graph["bot.cli"]  # the walk sees imports
    assert not [" -> ".join(cycle) for cycle in cycles(graph)]


def test_no_import_cycles_in_the_core() -> None:
    """No two modules of retrieval/ import each other, however far round (a type-only or
    late import counts), and neither do its sub-packages (index and search, say): each
    part can be read, tested and changed with only what it stands on."""
    graph = imports_among("retrieval")
    assert "retrieval.bm25" in graph["retrieval.index.keywords"]  # the walk sees imports
    assert not [" -> ".join(cycle) for cycle in cycles(graph)]
    part = {name: ".".join(name.split(".")[:2]) for name in graph}
    parts: dict[str, set[str]] = {}
    for name, imported in graph.items():
        parts.setdefault(part[name], set()).update(part[i] for i in imported
                                                   if part[i] != part[name])
    assert "retrieval.index" in parts["retrieval.search"]
    assert not [" -> ".join(cycle) for cycle in cycles(parts)]


# The front ends use one core: its app (with what it re-exports), types, errors, settings.
CORE_FACES = {"retrieval", "retrieval.app", "retrieval.types", "retrieval.errors",
              "retrieval.settings"}


def test_the_front_ends_use_the_core_through_its_faces() -> None:
    wrong = []
    for path in modules("bot"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            wrong += [f"{path.relative_to(REPO)} imports {n}" for n in names
                      if n.split(".")[0] == "retrieval" and n not in CORE_FACES]
    assert not wrong


def test_modules_read_in_one_sitting() -> None:
    long = [f"{path.relative_to(REPO)}: {n} lines" for package in (*ALLOWED, *TOOLS)
            for path in modules(package)
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES]
    assert not long


def test_functions_read_in_one_sitting() -> None:
    """No function or method (nested ones count on their own too) is over 60 lines, from
    `def` to its last line: a click command's options are not its body."""
    long = [f"{path.relative_to(REPO)}:{node.lineno} {node.name}: {n} lines"
            for package in (*ALLOWED, *TOOLS) for path in modules(package)
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and (n := (node.end_lineno or 0) - node.lineno + 1) > MAX_FUNCTION_LINES]
    assert not long


def test_the_tools_run_as_packages_and_import_no_test_code() -> None:
    """bench/ and training/ run as `python -m bench.NAME`: regular packages with no
    `sys.path` edits, importing nothing from tests/ (what tests and benchmarks both need,
    the service stand-ins, is in `standins/`), and no import cycles among their modules."""
    test_code = {path.stem for path in (REPO / "tests").glob("*.py")} | {"tests"}
    wrong = [f"{tool}/ has no __init__.py" for tool in TOOLS
             if not (REPO / tool / "__init__.py").exists()]
    for path in (p for tool in TOOLS for p in modules(tool)):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Attribute) and node.attr == "path"
                    and isinstance(node.value, ast.Name) and node.value.id == "sys"):
                wrong.append(f"{path.relative_to(REPO)}:{node.lineno} edits sys.path")
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            wrong += [f"{path.relative_to(REPO)} imports {n}" for n in names
                      if n.split(".")[0] in test_code]
    assert not wrong
    graphs = {tool: imports_among(tool) for tool in TOOLS}
    assert "bench.discord_serving" in graphs["bench"]["bench.members_load"]  # imports seen
    assert not [" -> ".join(cycle) for graph in graphs.values() for cycle in cycles(graph)]


def test_every_folder_is_a_packaged_regular_package() -> None:
    """A folder of modules without `__init__.py` is a namespace package by accident, and
    one missing from pyproject's list is left out of an install."""
    import tomllib

    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
                 ["packages"])
    folders = {path.parent for package in ALLOWED for path in modules(package)}
    missing_init = sorted(str(f.relative_to(REPO)) for f in folders
                          if not (f / "__init__.py").exists())
    unlisted = sorted(name for f in folders
                      if (name := ".".join(f.relative_to(REPO).parts)) not in listed)
    assert not missing_init
    assert not unlisted


# The backends' own modules: the core uses them only through `retrieval/index/stores.py`
# and `NewsIndex`, so that it works alike on SQLite and on PostgreSQL.
BACKEND_MODULES = {f"retrieval.index.{name}" for name in (
    "sqlite", "postgres", "keywords", "pg_keywords", "dialect", "schema", "lease", "lock",
    "access", "gate")}
# Modules that reach a backend on purpose, and why.
PROBES_BACKENDS = {"retrieval/health.py": "`newsbot doctor` probes each service directly"}


def test_only_the_index_reaches_its_backends() -> None:
    wrong = []
    for package in ALLOWED:
        for path in modules(package):
            if (path.is_relative_to(REPO / "retrieval" / "index")
                    or str(path.relative_to(REPO)) in PROBES_BACKENDS):
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                         else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
                wrong += [f"{path.relative_to(REPO)} imports {n}" for n in names
                          if n in BACKEND_MODULES]
    assert not wrong
