"""A built package honours the Truss model contract: load it, call `predict`.

The generated code is imported in a subprocess, exactly as Truss would import
`model/model.py` with `packages/` on the path.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from compiler import api
from compiler.write import WriteRefused, write_tree
from tests.conftest import EXAMPLES

SCRIPT = """
import json, sys
from model.model import Model

model = Model(config={}, data_dir=None, secrets={})
model.load()
print(json.dumps(model.predict(json.loads(sys.argv[1]))))
"""


def test_a_built_package_loads_and_predicts_like_a_truss_model(tmp_path: Path) -> None:
    result = api.build_file(EXAMPLES / "text_pipeline" / "chain.py")
    assert result.files is not None
    out = tmp_path / "out"
    assert not isinstance(write_tree(out, result.files), WriteRefused)
    package = out / "chunker"
    inputs: dict[str, dict[str, object]] = {
        "document": {"doc_id": "d1", "text": "One sentence here. Another one follows! And a third?"},
        "config": {"max_chunk_chars": 30},
    }
    completed = subprocess.run(
        [sys.executable, "-c", SCRIPT, json.dumps(inputs)],
        cwd=package,
        env={"PYTHONPATH": f"{package}:{package / 'packages'}", "PATH": ""},
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    chunks, stats = json.loads(completed.stdout)
    assert [chunk["text"].strip() for chunk in chunks] == ["One sentence here.", "Another one follows!", "And a third?"]
    assert stats["num_words"] == 9
    assert stats["num_chars"] == len(str(inputs["document"]["text"]))
