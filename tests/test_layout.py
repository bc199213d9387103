"""The package's layout holds: the core imports nothing from the rest, imports run one way in short
chains, functions stay short, and the package works installed without its repository."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "latentlab"
LONGEST_CHAIN = 8
LONGEST_FUNCTION = 60


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """The package's modules that ``path`` imports, at the top or inside a function."""
    here = module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            if not target.startswith("latentlab"):
                continue
            for alias in node.names:  # ``from . import losses`` imports a module, ``from .x import f`` a name
                candidate = f"{target}.{alias.name}"
                found.add(candidate if candidate in MODULES else target)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("latentlab")}
    return {name for name in found if name in MODULES and name != module_name(path)}


MODULES = {module_name(path): path for path in PACKAGE.rglob("*.py")}
IMPORTS = {name: imported_modules(path) for name, path in MODULES.items()}


def test_the_core_imports_nothing_outside_the_core():
    outside = {
        name: sorted(i for i in imported if not i.startswith("latentlab.core"))
        for name, imported in IMPORTS.items()
        if name.startswith("latentlab.core")
    }
    assert {name: imported for name, imported in outside.items() if imported} == {}


def test_the_imports_run_one_way_in_chains_of_at_most_eight_modules():
    longest: dict[str, tuple] = {}

    def chain(name: str, visiting: tuple = ()) -> tuple:
        """The longest chain of imports that starts at ``name``."""
        assert name not in visiting, f"an import cycle: {' -> '.join(visiting + (name,))}"
        if name not in longest:
            below = [chain(other, visiting + (name,)) for other in IMPORTS[name]]
            longest[name] = (name, *max(below, key=len, default=()))
        return longest[name]

    # __main__ (the three lines behind ``python -m latentlab``) is left out: the chain starts at cli
    deepest = max((chain(name) for name in MODULES if name != "latentlab.__main__"), key=len)
    assert len(deepest) <= LONGEST_CHAIN, " -> ".join(deepest)


def test_each_layer_imports_only_the_layers_below_it_as_the_code_layout_page_states_them():
    import re

    page = (REPO / "docs" / "en" / "code-layout.md").read_text(encoding="utf-8")
    stated = re.search(r"(`cli`(?: → `\w+`)+)", page).group(1)
    layers = re.findall(r"`(\w+)`", stated)[::-1]  # bottom first

    def layer(module: str) -> int:
        parts = module.split(".")
        return layers.index(parts[1] if len(parts) > 1 else "cli")  # the package's __init__ sits with cli

    upward = [
        f"{a} -> {b}"
        for a, imported in IMPORTS.items()
        if a != "latentlab.__main__"
        for b in imported
        if layer(b) > layer(a)
    ]
    assert sorted({m.split(".")[1] for m in MODULES if "." in m} - {"__main__"}) == sorted(layers)
    assert upward == []


KINDS = PACKAGE / "core" / "kinds"


def _kind_branches(path: Path) -> list[str]:
    """Where ``path`` asks which kind a model is: a comparison with a kind's name (or a collection of
    them), or a table keyed by the kinds' names."""
    from latentlab.core.kinds import NAMES

    def names_a_kind(node) -> bool:
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            return any(map(names_a_kind, node.elts))
        return isinstance(node, ast.Constant) and node.value in NAMES

    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Compare) and any(map(names_a_kind, [node.left, *node.comparators])):
            found.append(f"{path.relative_to(REPO)}:{node.lineno}")
        elif isinstance(node, ast.Dict) and any(isinstance(k, ast.Constant) and k.value in NAMES for k in node.keys):
            found.append(f"{path.relative_to(REPO)}:{node.lineno}")
    return found


def test_no_code_outside_the_kinds_modules_asks_which_kind_a_model_is():
    outside = [path for path in PACKAGE.rglob("*.py") if KINDS not in path.parents]
    assert [where for path in outside for where in _kind_branches(path)] == []


def test_the_explorer_page_reads_what_it_may_do_from_its_data_not_from_the_kinds_name():
    import re

    script = (PACKAGE / "publish" / "explorer.js").read_text(encoding="utf-8")
    assert re.findall(r"\.kind\b|\bkind\s*[!=]==", script) == []


def _callers(name: str) -> set[str]:
    """The package's modules that call the function ``name``: by the name it was imported as, or through its
    module (``training.train(...)``; ``model.train()`` is a method, not the function)."""
    modules = {module.rsplit(".", 1)[-1] for module in MODULES}
    found = set()
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        aliases = {
            alias.asname or alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom)
            for alias in node.names
            if alias.name == name
        }
        for node in ast.walk(tree):
            func = getattr(node, "func", None)
            if isinstance(func, ast.Name) and func.id in aliases:
                found.add(module)
            elif (
                isinstance(func, ast.Attribute)
                and func.attr == name
                and isinstance(func.value, ast.Name)
                and func.value.id in modules
            ):
                found.add(module)
    return found


def _load_checkpoint_weights(path: Path) -> bool:
    """Whether ``path`` puts a checkpoint's weights into a network: ``.load_state_dict(...["model"])``."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        func = getattr(node, "func", None)
        if isinstance(func, ast.Attribute) and func.attr == "load_state_dict" and node.args:
            argument = node.args[0]
            if isinstance(argument, ast.Subscript) and ast.unparse(argument.slice) in ("'model'", '"model"'):
                return True
    return False


def test_every_run_is_trained_on_one_road_and_every_finished_model_opened_one_way():
    # train_and_measure is the road of a script, `train`, `reproduce` and a study's job; workflow adds figures
    assert _callers("train") == {"latentlab.core.measure"}
    assert _callers("train_and_measure") == {"latentlab.workflow", "latentlab.studies.study"}
    # a network is built to train it, to load a checkpoint into it, or to count its parameters for the README
    assert _callers("build_model") == {
        "latentlab.core.training",
        "latentlab.core.finished",
        "latentlab.publish.architecture",
    }
    # a checkpoint's weights go into a network in the loader, and in resuming an unfinished run
    assert {m for m, path in MODULES.items() if _load_checkpoint_weights(path)} == {
        "latentlab.core.finished",
        "latentlab.core.checkpoint",
    }


def test_no_function_is_longer_than_sixty_lines():
    long = []
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > LONGEST_FUNCTION:
                    long.append(f"{name}.{node.name}: {length} lines")
    assert long == []


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The wheel built from the repository, installed alone into an empty folder (no repository around it)."""
    build, target = tmp_path_factory.mktemp("wheel"), tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(build), str(REPO)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = build.glob("latentlab-*.whl")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return target


def _python_in(target: Path, code: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(target)},
    )


def test_the_installed_wheel_imports_and_loads_a_committed_model_without_the_repository(installed, tmp_path):
    model = REPO / "Kết_quả_huấn_luyện_Autoencoder" / "2D_latent_AE" / "model.pt"
    done = _python_in(
        installed,
        "import latentlab, sys\n"
        f"model = latentlab.load_model({str(model)!r})\n"
        "print(latentlab.__file__, model.kind, model.latent_dim, model.training)",
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    location, kind, latent_dim, training = done.stdout.split()
    assert location.startswith(str(installed)) and (kind, latent_dim, training) == ("ae", "2", "False")


def test_the_wheel_carries_every_file_the_package_reads(installed):
    publish, source = installed / "latentlab" / "publish", REPO / "latentlab" / "publish"
    read = {"explorer.js"} | {f"templates/{p.name}" for p in (source / "templates").iterdir()}
    assert read <= {p.relative_to(publish).as_posix() for p in publish.rglob("*") if p.is_file()}


def test_the_experiments_registry_says_clearly_where_the_repository_is_missing(installed, tmp_path):
    done = _python_in(installed, "from latentlab.experiments import EXPERIMENTS\nlist(EXPERIMENTS)", tmp_path)
    assert done.returncode != 0 and "installed without its repository" in done.stderr
