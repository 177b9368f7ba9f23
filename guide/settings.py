"""One typed settings object, read from GUIDE_* environment variables on demand.

Nothing happens at import time: call `Settings.from_env()` when you need settings.
Every value is validated and a bad one raises `SettingsError` saying how to fix it.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from guide.errors import SettingsError

PREFIX = "GUIDE_"
REPO_ROOT = Path(__file__).resolve().parent.parent

# Calibrated for all-MiniLM-L6-v2 on the tuning sets (`Settings.calibration_sets`) with `guide calibrate`
# (see docs/decisions.md); the deterministic test embedder needs its own (tests set it):
# an answer whose best evidence scores below this is an abstention.
DEFAULT_ABSTAIN_THRESHOLD = 0.227
# Answers scoring between the two thresholds are `related` (the sources touch the topic but do not
# answer); at or above this one they are `answered`. Calibrated with `guide calibrate` too.
DEFAULT_ANSWER_THRESHOLD = 0.449
# The same cut calibrated for a guide without scope examples (no tuning sets, or a corpus they are
# not about, such as SciFact): answerability is then grounding and focus alone, so its scale is
# not the one above. Calibrated at 0.230, about the not-covered cut: without the scope margin no
# cut separates "related" from "answered" better than answering (docs/decisions.md). 0.223 since
# practitioner5_tune (conversational questions) joined the tuning sets: the highest cut that still
# answers 75% of their answerable questions (issue 19, second session).
DEFAULT_ANSWER_THRESHOLD_WITHOUT_SCOPE = 0.223
# Where no scope examples cover a source (a practitioner's own document), the answerability
# reader (guide/answer/answerability.py) judges: below this probability that the best read
# sentence answers the question, the answer is `related`. Calibrated on the tuning halves of the
# corpora nobody labelled (evals/corpora/*/*_tune.jsonl; docs/decisions.md, issue 19).
DEFAULT_READER_THRESHOLD = 0.517


OFFLINE_ENVIRONMENT = {
    "HF_HUB_OFFLINE": "1",  # the model is loaded from site-packages; never from a hub
    "TRANSFORMERS_OFFLINE": "1",
    "TRANSFORMERS_VERBOSITY": "error",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "ANONYMIZED_TELEMETRY": "False",
    "TOKENIZERS_PARALLELISM": "false",
}


def offline_environment() -> None:
    """Set the environment the guide runs in (offline, quiet, no telemetry) unless already set.

    Called by the entry points (CLI, benchmarks, tests) before heavy libraries are imported."""
    for key, value in OFFLINE_ENVIRONMENT.items():
        os.environ.setdefault(key, value)


@dataclass(frozen=True)
class Settings:
    corpus_dir: Path = REPO_ROOT / "corpus"
    index_dir: Path = REPO_ROOT / "index"
    data_dir: Path = REPO_ROOT / "data"
    shared_dir: Path = REPO_ROOT.parent / "shared"
    evals_dir: Path = REPO_ROOT / "evals"  # question sets, thresholds.toml, reports/
    chroma_url: str | None = None
    collection_prefix: str = "guide"
    embedder: str = "minilm"  # "minilm" (the real model) or "hash" (deterministic fake, for tests)
    reranker: str = "onnx"  # "onnx" (bundled cross-encoder), "fake" (tests) or a CrossEncoder folder
    reader: str = "onnx"  # the answerability reader: "onnx" (shipped), "fake" (tests) or "off"
    reader_threshold: float = DEFAULT_READER_THRESHOLD
    max_question_chars: int = 1000
    top_k: int = 7  # passages retrieved; 6-10 measured on the tuning sets (docs/decisions.md)
    max_quotes: int = 4
    abstain_threshold: float = DEFAULT_ABSTAIN_THRESHOLD  # below it: not_covered
    # below it (and at or above abstain_threshold): related. None: the calibrated default for the real
    # model; the hash test embedder has none, so there it equals abstain_threshold (no `related`).
    answer_threshold: float | None = None
    host: str = "127.0.0.1"
    port: int = 7860
    answer_slots: int = 2  # answers worked on at once by one app process (measured: docs/decisions.md, issue 10)
    llm_url: str | None = None  # an OpenAI-compatible base URL, e.g. http://127.0.0.1:8080/v1 (llama.cpp)
    llm_model: str = "default"  # the model name the server expects (Ollama: e.g. "llama3.2")
    llm_api_key: str | None = field(default=None, repr=False)  # never printed, logged or written out
    llm_timeout: float = 20.0  # seconds for the whole LLM answer; past it the quotes are shown alone
    scifact_dir: Path | None = None  # default: <shared_dir>/datasets/scifact
    users_file: Path | None = None  # sign-in for the web chat (guide/web/auth.py); none: no sign-in
    questions_per_minute: int = 10  # per chat session; 0: no limit

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> "Settings":
        env = os.environ if env is None else env
        if env.get(PREFIX + "LLM"):
            raise SettingsError("GUIDE_LLM (a module:function hook) is gone: set GUIDE_LLM_URL to an OpenAI-compatible "
                                "server instead, e.g. GUIDE_LLM_URL=http://127.0.0.1:8080/v1 (see README).")
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            raw = env.get(PREFIX + f.name.upper())
            if raw is None or raw == "":
                continue
            values[f.name] = _convert(f.name, f.type, raw)
        values.update(overrides)
        return cls(**values)

    def __post_init__(self) -> None:
        for name in ("corpus_dir", "index_dir", "data_dir", "shared_dir", "evals_dir"):
            object.__setattr__(self, name, Path(getattr(self, name)).expanduser())
        if self.scifact_dir is None:
            object.__setattr__(self, "scifact_dir", self.shared_dir / "datasets" / "scifact")
        else:
            object.__setattr__(self, "scifact_dir", Path(self.scifact_dir).expanduser())
        if self.embedder not in ("minilm", "hash"):
            raise SettingsError(
                f"GUIDE_EMBEDDER={self.embedder!r} is not known: use 'minilm' (the real model) or 'hash'."
            )
        from guide.search.rerank import check_reranker_setting

        check_reranker_setting(self.reranker)
        if self.reader not in ("onnx", "fake", "off"):
            raise SettingsError(f"GUIDE_READER={self.reader!r} is not known: use 'onnx' (the shipped answerability "
                                f"reader), 'fake' (tests) or 'off'.")
        if not 0.0 <= self.reader_threshold <= 1.0:
            raise SettingsError("GUIDE_READER_THRESHOLD must be between 0 and 1 (a probability).")
        if not 20 <= self.max_question_chars <= 100_000:
            raise SettingsError("GUIDE_MAX_QUESTION_CHARS must be between 20 and 100000.")
        if not 1 <= self.top_k <= 50:
            raise SettingsError("GUIDE_TOP_K must be between 1 and 50.")
        if not 1 <= self.max_quotes <= 4:
            raise SettingsError("GUIDE_MAX_QUOTES must be between 1 and 4.")
        if not -1.0 <= self.abstain_threshold <= 1.0:
            raise SettingsError("GUIDE_ABSTAIN_THRESHOLD must be between -1 and 1 (a cosine similarity).")
        if not 0 <= self.questions_per_minute <= 10_000:
            raise SettingsError("GUIDE_QUESTIONS_PER_MINUTE must be between 0 (no limit) and 10000.")
        if self.users_file is not None:
            object.__setattr__(self, "users_file", Path(self.users_file).expanduser())
        if not 1 <= self.answer_slots <= 64:
            raise SettingsError("GUIDE_ANSWER_SLOTS must be between 1 and 64.")
        if self.answer_threshold is not None and not -1.0 <= self.answer_threshold <= 2.0:
            raise SettingsError("GUIDE_ANSWER_THRESHOLD must be between -1 and 2.")
        if not 0 < self.port < 65536:
            raise SettingsError("GUIDE_PORT must be a TCP port number (1-65535).")
        if self.llm_url is not None and not self.llm_url.startswith(("http://", "https://")):
            raise SettingsError(
                f"GUIDE_LLM_URL={self.llm_url!r} must start with http:// or https://, e.g. http://127.0.0.1:8080/v1"
            )
        if not 0 < self.llm_timeout <= 600:
            raise SettingsError("GUIDE_LLM_TIMEOUT must be a number of seconds between 0 and 600.")
        if self.chroma_url is not None and not self.chroma_url.startswith(("http://", "https://")):
            raise SettingsError(
                f"GUIDE_CHROMA_URL={self.chroma_url!r} must start with http:// or https://, e.g. http://127.0.0.1:8000"
            )

    @property
    def answer_cut(self) -> float:
        """The answered-vs-related threshold in effect (see `answer_threshold`)."""
        return self._answer_cut(DEFAULT_ANSWER_THRESHOLD)

    @property
    def answer_cut_without_scope(self) -> float:
        """The same for a guide with no scope examples: the one set by `answer_threshold`, else
        the default calibrated for that case."""
        return self._answer_cut(DEFAULT_ANSWER_THRESHOLD_WITHOUT_SCOPE)

    def _answer_cut(self, calibrated: float) -> float:
        if self.answer_threshold is not None:
            return self.answer_threshold
        return calibrated if self.embedder == "minilm" else self.abstain_threshold

    @property
    def manifest_path(self) -> Path:
        return self.corpus_dir / "sources.toml"

    @property
    def feedback_db(self) -> Path:
        return self.data_dir / "feedback.sqlite3"

    @property
    def dev_set(self) -> Path:
        return self.evals_dir / "dev.jsonl"

    @property
    def thresholds_file(self) -> Path:
        return self.evals_dir / "thresholds.toml"

    @property
    def calibration_sets(self) -> list[Path]:
        """The tuning sets the two thresholds are calibrated on and the scope examples come from:
        development, stress and every `*_tune.jsonl` in the evals folder (the tuning halves of
        the practitioner sets, and labelled visitors' questions saved under such a name). Held-out
        sets (heldout.jsonl and the *_heldout.jsonl halves) are never used for tuning."""
        return [self.dev_set, self.evals_dir / "hard.jsonl", *sorted(self.evals_dir.glob("*_tune.jsonl"))]

    def replace(self, **changes: Any) -> "Settings":
        return dataclasses.replace(self, **changes)


def _convert(name: str, type_: Any, raw: str) -> Any:
    type_s = str(type_)
    try:
        if "Path" in type_s:
            return Path(raw)
        if type_s.startswith("int"):
            return int(raw)
        if type_s.startswith("float"):
            return float(raw)
    except ValueError:
        raise SettingsError(f"{PREFIX}{name.upper()}={raw!r} is not a valid {type_s.split()[0]}.") from None
    return raw
