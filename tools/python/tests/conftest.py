"""The suite imports dkm from the build (ctest sets PYTHONPATH to <build>/tools/python)."""
import os
import shutil
import subprocess

import pytest


@pytest.fixture
def dkm_binary():
    """The `dkm` executable of the same build (ctest passes DKM_BINARY)."""
    path = os.environ.get("DKM_BINARY") or shutil.which("dkm")
    if not path or not os.path.exists(path):
        pytest.skip("the dkm binary is not known (run through ctest)")
    return path


def run_dkm(binary, *args):
    return subprocess.run([binary, *args], capture_output=True, text=True, check=False)
