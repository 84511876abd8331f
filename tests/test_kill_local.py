"""Kill-proof under `hydra/launcher=local`: the test of tests/test_kill.py with the jobs
side by side in joblib's workers (a module of its own, so that pytest-xdist runs it beside
the basic launcher's)."""

from __future__ import annotations

import pytest

from tests.test_kill import killed_and_resumed


@pytest.mark.slow
def test_local_sweep_killed_in_every_phase_resumes_to_identical_files(
    toy_world, tfidf_dir, tmp_path
):
    killed_and_resumed(tfidf_dir, tmp_path, "local")
