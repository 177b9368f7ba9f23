from __future__ import annotations

from pathlib import Path

import pytest

from guide.errors import SettingsError
from guide.settings import Settings


def test_reads_guide_prefixed_environment():
    s = Settings.from_env({"GUIDE_PORT": "8123", "GUIDE_INDEX_DIR": "/tmp/x", "GUIDE_ABSTAIN_THRESHOLD": "0.5",
                           "OTHER_PORT": "1"})
    assert s.port == 8123 and s.index_dir == Path("/tmp/x") and s.abstain_threshold == 0.5
    assert s.host == "127.0.0.1"  # never a public interface by default


@pytest.mark.parametrize("env, message", [
    ({"GUIDE_PORT": "eighty"}, "GUIDE_PORT='eighty' is not a valid int"),
    ({"GUIDE_PORT": "70000"}, "GUIDE_PORT must be a TCP port"),
    ({"GUIDE_EMBEDDER": "openai"}, "use 'minilm'"),
    ({"GUIDE_CHROMA_URL": "localhost:8000"}, "must start with http://"),
    ({"GUIDE_MAX_QUESTION_CHARS": "5"}, "between 20 and 100000"),
])
def test_bad_values_say_how_to_fix_them(env, message):
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(env)


def test_state_paths_go_to_temp_dirs_in_tests(tmp_path):
    s = Settings.from_env()
    assert str(s.index_dir).startswith(str(tmp_path)) and str(s.data_dir).startswith(str(tmp_path))


def test_every_tune_file_in_the_evals_folder_is_a_tuning_set_and_no_heldout_file_is(tmp_path):
    from guide.settings import Settings

    for name in ("dev.jsonl", "hard.jsonl", "a_tune.jsonl", "visitors_tune.jsonl", "a_heldout.jsonl", "heldout.jsonl"):
        (tmp_path / name).write_text("", encoding="utf-8")
    sets = [p.name for p in Settings.from_env().replace(evals_dir=tmp_path).calibration_sets]
    assert sets == ["dev.jsonl", "hard.jsonl", "a_tune.jsonl", "visitors_tune.jsonl"]
