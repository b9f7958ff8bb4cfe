"""A plain ``pip install .`` carries resources/ (bug hunt: the wheel and sdist had none of it, so
the app crashed at start on styles/app.qss and the CLI said "model folder not found")."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# setuptools' own reading of pyproject.toml: the packages and the data files build_py would put
# in the wheel (and sdist). include_package_data off: no egg-info written, and nothing else
# (no MANIFEST.in, no VCS plugin) adds files, so package-data alone must list them.
SCRIPT = r"""
import json, os, warnings
warnings.simplefilter("ignore")
from setuptools.config.pyprojecttoml import apply_configuration
from setuptools.dist import Distribution

dist = Distribution()
apply_configuration(dist, "pyproject.toml")
dist.include_package_data = False
build_py = dist.get_command_obj("build_py")
build_py.ensure_finalized()
files = sorted({os.path.join(src, n) for _pkg, src, _build, names in build_py.data_files for n in names})
print(json.dumps({"packages": sorted(dist.packages), "files": files}))
"""


def test_the_wheel_carries_every_resource_where_the_code_looks():
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    found = json.loads(proc.stdout)
    top = {name.split(".")[0] for name in found["packages"]}
    assert top == {"engine", "desktop", "resources"}  # not tests/ or docs/
    shipped = {
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "resources").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert {"resources/styles/app.qss", "resources/models/dialogue/config.json"} <= shipped
    packaged = {Path(f).as_posix() for f in found["files"]}
    assert shipped - packaged == set()

    # The code finds them beside its packages, so site-packages/resources after a plain install
    from engine import paths

    assert paths.RESOURCES == ROOT / "resources" and paths.RESOURCES.parent == Path(paths.__file__).parents[1]
