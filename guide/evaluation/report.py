"""Eval reports: report.json (everything), report.md (for people) and report.png (a chart of
the metrics and of the change against a previous report). matplotlib with the Agg backend:
no display needed."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

from guide.errors import SettingsError
from guide.redact import redact

# Metrics drawn as bars (rates in [0, 1]) for question sets, in this order.
QUESTION_RATES = (
    "source_hit_at_1", "source_hit_at_3", "source_hit_at_5", "source_mrr", "quote_recall", "verbatim_rate",
    "citation_precision", "misleading_rate", "false_not_covered_rate", "answered_share", "related_share",
    "abstention_precision", "abstention_recall", "false_abstention_rate",
)


def default_out_dir(evals_dir: Path, kind: str) -> Path:
    return Path(evals_dir) / "reports" / f"{time.strftime('%Y%m%d-%H%M%S')}-{kind}"


def load_report(path: Path) -> dict:
    """A previous report: its report.json, or a folder holding one."""
    path = Path(path)
    if path.is_dir():
        path = path / "report.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingsError(f"{path}: no report there to compare with") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SettingsError(f"{path}: not a report.json ({exc})") from None
    if not isinstance(data, dict) or data.get("kind") not in ("questions", "scifact"):
        raise SettingsError(f"{path}: not a report written by `guide eval`")
    return data


def fmt(v, digits: int = 3) -> str:
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        if math.isnan(v):
            return "—"
        return f"{v:.{digits}f}"
    return str(v)


def signed(v) -> str:
    return "—" if v is None else f"{v:+.3f}"


def write_report(result: dict, out_dir: Path) -> dict[str, Path]:
    """Write report.json, report.md and report.png into `out_dir`; return their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "report.json", "md": out / "report.md", "png": out / "report.png"}
    text = json.dumps(result, ensure_ascii=False, indent=1, default=str) + "\n"
    paths["json"].write_text(redact(text), encoding="utf-8")  # no secret in a report (e.g. in an error)
    md = questions_markdown(result) if result["kind"] == "questions" else scifact_markdown(result)
    paths["md"].write_text(redact(md), encoding="utf-8")
    if result["kind"] == "questions":
        questions_chart(result, paths["png"])
    else:
        scifact_chart(result, paths["png"])
    return paths


# --- markdown -----------------------------------------------------------------------------
def _md_escape(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _gate_md(result: dict) -> list[str]:
    g = result.get("gate")
    if not g:
        return ["No thresholds were checked.", ""]
    comp = result.get("comparison", {})
    lines = [f"**Gate: {'PASSED' if g['passed'] else 'FAILED'}** (thresholds: `{g.get('file', '')}`)", "",
             "| metric | value | threshold | ok | change |", "|---|---:|---:|:-:|---:|"]
    for c in g["checks"]:
        bound = ("≥ " if c["kind"] == "min" else "≤ ") + fmt(c["bound"])
        change = signed(comp.get(c["metric"], {}).get("delta")) if comp else ""
        status = "✅" if c["ok"] else "❌"
        note = f" ({c['note']})" if c["note"] else ""
        lines.append(f"| {c['metric']} | {fmt(c['value'])}{note} | {bound} | {status} | {change} |")
    return lines + [""]


def questions_markdown(r: dict) -> str:
    t = r["totals"]
    g = r["guide"]
    lines = [
        "# Answer-quality eval", "",
        f"{r['created']} · {t['questions']} questions ({t['answerable']} answerable, {t['unanswerable']} not) "
        f"from {', '.join(s['name'] for s in r['sets'])} · model `{g['model_id']}` · "
        f"thresholds: not covered below {g['abstain_threshold']}, answered from {g.get('answer_threshold', '—')} "
        f"· top_k {g['top_k']} · {r['seconds']} s",
        "",
    ]
    if g.get("judgement"):
        lines += ["How answers are judged, by source: " + "; ".join(f"`{sid}`: {how}" for sid, how in g["judgement"].items()),
                  ""]
    if g.get("index_stale"):
        lines += ["> The index is older than the corpus: run `guide ingest` for numbers about the current corpus.", ""]
    if r.get("compared_with"):
        lines += [f"Compared with `{r['compared_with']}`.", ""]
    lines += _gate_md(r)
    lines += ["## Totals", "", "| metric | value | change |", "|---|---:|---:|"]
    comp = r.get("comparison", {})
    for k, v in t.items():
        if isinstance(v, dict):
            continue
        lines.append(f"| {k} | {fmt(v)} | {signed(comp[k]['delta']) if k in comp else ''} |")
    lines += ["", "Grounding scores (the best evidence's score; below the lower threshold the question is not "
              "covered, below the upper one the answer is only related):", "",
              "| questions | n | min | p25 | median | p75 | max |", "|---|---:|---:|---:|---:|---:|---:|"]
    for label, key in (("answerable", "grounding_answerable"), ("unanswerable", "grounding_unanswerable")):
        d = t[key]
        lines.append(f"| {label} | {d['n']} | {fmt(d['min'])} | {fmt(d['p25'])} | {fmt(d['p50'])} | "
                     f"{fmt(d['p75'])} | {fmt(d['max'])} |")
    if t.get("reasons"):
        lines += ["", "Why questions were not presented as answers (the unanswerable ones are what each check "
                  "caught, the answerable ones what it cost):", "",
                  "| state: reason | answerable | unanswerable |", "|---|---:|---:|"]
        for reason, c in t["reasons"].items():
            lines.append(f"| {reason} | {c['answerable']} | {c['unanswerable']} |")
    if r.get("per_set"):
        lines += ["", "## Per question set", "", "| set | questions | source hit@1 | quote recall | verbatim | "
                  "misleading | false not-covered | answered share (answerable) | answered, no expected quote | "
                  "related share |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for name, st in r["per_set"].items():
            lines.append(f"| {name} | {st['questions']} | {fmt(st['source_hit_at_1'])} | {fmt(st['quote_recall'])} | "
                         f"{fmt(st['verbatim_rate'])} | {fmt(st.get('misleading_rate'))} | "
                         f"{fmt(st.get('false_not_covered_rate'))} | {fmt(st.get('answered_share'))} | "
                         f"{fmt(st.get('answered_off_target_rate'))} | {fmt(st.get('related_share'))} |")
    lines += ["", "## Questions", "",
              "| set | id | answerable | status | grounding | source rank | quote recall | latency ms | note |",
              "|---|---|:-:|:-:|---:|---:|---:|---:|---|"]
    for row in r["rows"]:
        note = ""
        if row.get("error"):
            note = "error: " + row["error"]
        elif not row["answerable"] and row.get("status") == "answered":
            note = "answered an unanswerable question (misleading)"
        elif row["answerable"] and row.get("status") == "not_covered":
            note = f"answerable but not covered ({row.get('reason')})"
        elif row.get("quotes_missed"):
            note = "missed: " + "; ".join(f"“{q[:60]}”" for q in row["quotes_missed"][:2])
        if row.get("llm"):
            x = row["llm"]
            note = (f"LLM {x['fallback'] or x['status']}: {x['shown']} shown, {x['removed']} removed"
                    + (f"; {note}" if note else ""))
        lines.append(
            f"| {row['set']} | {_md_escape(row['id'])} | {fmt(row['answerable'])} | "
            f"{row.get('status', '—')}{' (' + str(row['reason']) + ')' if row.get('reason') else ''} | "
            f"{fmt(row.get('grounding'))} | {fmt(row.get('source_rank'))} | {fmt(row.get('quote_recall'))} | "
            f"{row['latency_ms']:.0f} | {_md_escape(note)} |"
        )
    return "\n".join(lines) + "\n"


def scifact_markdown(r: dict) -> str:
    s = r["retrieval"]["summary"]
    d = r["data"]
    setup = r["setup"]
    lines = [
        "# SciFact benchmark (BEIR test split)", "",
        f"{r['created']} · {d['abstracts']:,} abstracts · {d['claims']} claims "
        f"({'the full test set' if r['full'] else 'a fixed-seed slice: not comparable with published numbers'}) · "
        f"model `{setup['model_id']}` · {r['seconds']['total']} s "
        f"({r['embedding']['texts_embedded']:,} texts embedded; the rest came from the cache)",
        "",
        "SciFact: Wadden et al., EMNLP 2020 (AllenAI); claims CC BY 4.0, abstracts ODC-By 1.0.",
        f"Indexed: {setup['text_indexed']}; document score = {setup['document_score']}; {setup['fusion']}.",
        "",
        "## Retrieval (document level)", "",
        "| ranker | nDCG@10 (95% CI) | recall@10 | recall@100 | MRR@10 | published nDCG@10 |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    pub = r["published"]
    pubs = {"bm25": f"{pub['bm25']['ndcg_at_10']} ({pub['bm25']['source']})",
            "dense": f"{pub['dense']['ndcg_at_10']} ({pub['dense']['source']}; recall@100 {pub['dense']['recall_at_100']})",
            "hybrid": f"RRF(BM25, bge-base) {pub['other']['rrf_bm25_bge_base']}",
            "hybrid_rerank": f"BM25 + cross-encoder rerank {pub['other']['bm25_ce_rerank']} (BEIR paper)"}
    rr = r["retrieval"].get("rerank")
    for mode in s:
        m = s[mode]
        ci = m["ndcg_at_10_ci"]
        lines.append(f"| {mode} | {fmt(m['ndcg_at_10'])} ({fmt(ci['lo'])}–{fmt(ci['hi'])}) | {fmt(m['recall_at_10'])} | "
                     f"{fmt(m['recall_at_100'])} | {fmt(m['mrr_at_10'])} | {pubs.get(mode, '')} |")
    if rr:
        ms, ce = rr["ms_per_claim"], rr["cross_encoder_order_only"]
        if rr.get("pairs_scored") == 0:
            cost = "Every score was read from the score cache in this run, so no timing is given."
        else:
            cost = f"{fmt(ms['p50'], 0)} ms per claim (median, max {fmt(ms['max'], 0)})."
        if rr["claims"] < d["claims"]:
            h = rr["hybrid_same_claims"]
            lines += ["", f"**hybrid_rerank is measured on a fixed-seed sample of {rr['claims']} of the {d['claims']} claims** "
                          f"(`--rerank-claims`); on the same claims the hybrid has nDCG@10 {fmt(h['ndcg_at_10'])}, "
                          f"recall@10 {fmt(h['recall_at_10'])}, MRR@10 {fmt(h['mrr_at_10'])} (the paired bootstrap "
                          f"below compares them on those claims)."]
        lines += ["", f"hybrid_rerank: `{rr['model']}` scores the hybrid top {rr['depth']} (title + abstract, 512 tokens "
                      f"at most); {rr['fusion']}; below the top {rr['depth']} the hybrid order stands. "
                      f"{cost}",
                  "", f"- the cross-encoder's order alone over the same top {rr['depth']} (BEIR-style reranking): "
                      f"nDCG@10 {fmt(ce['ndcg_at_10'])}, recall@10 {fmt(ce['recall_at_10'])}, MRR@10 {fmt(ce['mrr_at_10'])}"]
    diags = r["retrieval"].get("diagnostics", {})
    if diags:
        lines += ["", "Diagnostics (they isolate the causes when an anchor is missed):", ""]
        if "bm25_standard_tokens" in diags:
            d = diags["bm25_standard_tokens"]
            lines.append(f"- BM25 with a standard tokenizer (lower-cased words; no stopwords, no stemming) in the guide's "
                         f"BM25 over the same passages: nDCG@10 {fmt(d['ndcg_at_10'])}, recall@100 {fmt(d['recall_at_100'])}")
        if "dense_exact_search" in diags:
            d = diags["dense_exact_search"]
            lines.append(f"- dense with exact (brute-force) search instead of Chroma's HNSW: nDCG@10 "
                         f"{fmt(d['ndcg_at_10'])}, recall@100 {fmt(d['recall_at_100'])}")
    labels = {"bm25": "BM25, the guide's tokenizer", "dense": "dense, the guide's store (HNSW)",
              "bm25_standard_tokens": "BM25, standard tokenizer", "dense_exact_search": "dense, exact search"}
    lines += ["", "Anchors (must hold before anything is claimed about the hybrid):", ""]
    for name, a in r["anchors"].items():
        verdict = ("reproduced" if a["reproduced"] else "NOT reproduced") if a["comparable"] else "not comparable (slice)"
        lines.append(f"- {labels.get(name, name)}: ours {fmt(a['ours'])} vs published {a['published']} "
                     f"(Δ {signed(a['delta'])}, tolerance ±{a['tolerance']}): **{verdict}**")
    lines += ["", "Paired bootstrap (10,000 resamples of the claims, 95% CI):", "",
              "| comparison | metric | difference | 95% CI | p | wins / losses / ties |", "|---|---|---:|---|---:|---|"]
    for name, per in r["retrieval"]["paired_bootstrap"].items():
        for metric, b in per.items():
            lines.append(f"| {name.replace('_', ' ')} | {metric} | {signed(b['diff'])} | {signed(b['lo'])} to "
                         f"{signed(b['hi'])} | {b['p']:.4f} | {b['wins']} / {b['losses']} / {b['ties']} |")
    sent = (r.get("sentences") or {}).get("summary") or {}
    if sent.get("pairs"):
        ce, co, b = sent["cross_encoder_p_at_1_ci"], sent["cosine_p_at_1_ci"], sent["cross_encoder_vs_cosine"]
        lines += [
            "", "## Evidence sentences, given the gold abstract", "",
            "Each abstract's sentences ranked for the claim; P@1 = the first is a gold evidence sentence "
            "(no composition, no abstention).", "",
            "| ranking | P@1 (95% CI) | n |", "|---|---:|---:|",
            f"| cross-encoder (`{r['setup'].get('reranker', '')}`) | {fmt(sent['cross_encoder_p_at_1'])} "
            f"({fmt(ce['lo'])}–{fmt(ce['hi'])}) | {sent['pairs']} |",
            f"| MiniLM cosine | {fmt(sent['cosine_p_at_1'])} ({fmt(co['lo'])}–{fmt(co['hi'])}) | {sent['pairs']} |",
            f"| chance | {fmt(sent['chance_p_at_1'])} | |",
            "", f"Cross-encoder − cosine: {signed(b['diff'])} ({signed(b['lo'])} to {signed(b['hi'])}, p {b['p']:.4f}; "
                f"wins / losses / ties {b['wins']} / {b['losses']} / {b['ties']}).",
        ]
    q = (r.get("quotes") or {}).get("summary")
    if q:
        ga, e2e, nei = q["gold_abstract"], q["end_to_end"], q["no_evidence"]
        lines += [
            "", "## Quotes (through `Guide.ask`, the chat's path)", "",
            f"A quote counts as a gold sentence when it contains a SciFact evidence sentence of that abstract, or "
            f"overlaps one on at least half of the quote's words. Abstain threshold: {q['abstain_threshold']}.", "",
            "| measure | value | n |", "|---|---:|---:|",
            f"| first quote is a gold sentence, given the gold abstract | {fmt(ga['first_quote_gold'])} | {ga['pairs']} |",
            f"| … the same, counting only answers (not abstentions) | {fmt(ga['first_quote_gold_when_answered'])} | |",
            f"| some quote is a gold sentence, given the gold abstract | {fmt(ga['any_quote_gold'])} | {ga['pairs']} |",
            f"| abstained although the gold abstract has evidence | {fmt(ga['abstained'])} | {ga['pairs']} |",
            f"| first quote is a gold sentence, end to end | {fmt(e2e['first_quote_gold'])} | {e2e['claims']} |",
            f"| some quote is a gold sentence, end to end | {fmt(e2e['any_quote_gold'])} | {e2e['claims']} |",
            f"| abstained end to end on claims with evidence | {fmt(e2e['abstained'])} | {e2e['claims']} |",
            f"| abstained when the cited abstract has no evidence | {fmt(nei['abstained_given_cited_abstract'])} | {nei['pairs']} |",
            f"| abstained end to end on claims without evidence | {fmt(nei['abstained_end_to_end'])} | {nei['claims']} |",
            f"| verbatim rate of shown quotes | {fmt(q['verbatim_rate'])} | {q['shown_quotes']} |",
            f"| citation precision | {fmt(q['citation_precision'])} | {q['shown_quotes']} |",
            f"| latency p50 / p95 (ms) | {fmt(q['latency_p50_ms'], 0)} / {fmt(q['latency_p95_ms'], 0)} | |",
            "", "Grounding (best evidence score) given the cited abstract:", "",
            "| abstracts | n | p25 | median | p75 |", "|---|---:|---:|---:|---:|",
        ]
        for label, dist in (("with evidence", ga["grounding"]), ("without evidence", nei["grounding"])):
            lines.append(f"| {label} | {dist['n']} | {fmt(dist['p25'])} | {fmt(dist['p50'])} | {fmt(dist['p75'])} |")
    lines += ["", *_gate_md(r)]
    comp = r.get("comparison")
    if comp:
        lines += [f"## Change against `{r.get('compared_with', 'the previous report')}`", "",
                  "| metric | before | now | change |", "|---|---:|---:|---:|"]
        lines += [f"| {k} | {fmt(v['before'])} | {fmt(v['now'])} | {signed(v['delta'])} |" for k, v in comp.items()]
    return "\n".join(lines) + "\n"


# --- charts -------------------------------------------------------------------------------
def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


LOWER_IS_BETTER = ("false_abstention_rate", "latency_p50_ms", "latency_p95_ms", "errors")


def _delta_panel(ax, comp: dict, keys, note: str = "") -> None:
    keys = [k for k in keys if k in comp]
    if not keys:
        ax.text(0.5, 0.5, "no previous report to compare with\n(use --compare PREVIOUS_REPORT)",
                ha="center", va="center", transform=ax.transAxes, color="0.4")
        ax.set_axis_off()
        return
    vals = [comp[k]["delta"] for k in keys]
    better = [(-v if k in LOWER_IS_BETTER else v) for k, v in zip(keys, vals)]
    colors = ["#2a9d8f" if b > 1e-12 else "#e76f51" if b < -1e-12 else "0.6" for b in better]
    ax.barh(range(len(keys)), vals, color=colors)
    ax.set_yticks(range(len(keys)), keys, fontsize=8)
    ax.axvline(0, color="0.3", lw=0.8)
    lim = max(0.05, max(abs(v) for v in vals) * 1.15)
    ax.set_xlim(-lim, lim)
    ax.invert_yaxis()
    ax.set_title("change against the previous report (green: better)" + (f"\n{note}" if note else ""), fontsize=9)


def questions_chart(r: dict, path: Path) -> None:
    plt = _pyplot()
    t = r["totals"]
    keys = [k for k in QUESTION_RATES if t.get(k) is not None]
    fig, axes = plt.subplots(1, 3, figsize=(17, 5.5), gridspec_kw={"width_ratios": [2.2, 1.4, 1.4]})
    ax = axes[0]
    vals = [t[k] for k in keys]
    ax.bar(range(len(keys)), vals, color="#264653", label="now")
    comp = r.get("comparison", {})
    before = [comp[k]["before"] if k in comp else None for k in keys]
    if any(b is not None for b in before):
        ax.scatter([i for i, b in enumerate(before) if b is not None], [b for b in before if b is not None],
                   marker="D", color="#f4a261", zorder=3, label="previous")
    bounds = {c["metric"]: c["bound"] for c in (r.get("gate") or {}).get("checks", []) if c["kind"] == "min"}
    for i, k in enumerate(keys):
        if k in bounds:
            ax.hlines(bounds[k], i - 0.4, i + 0.4, colors="#e63946", lw=2, label="threshold" if i == min(
                j for j, kk in enumerate(keys) if kk in bounds) else None)
    ax.set_xticks(range(len(keys)), keys, rotation=35, ha="right", fontsize=8)
    ax.set_ylim(0, 1.05)
    verdict = "" if not r.get("gate") else (" — gate passed" if r["gate"]["passed"] else " — gate FAILED")
    ax.set_title(f"{t['questions']} questions{verdict}")
    ax.legend(fontsize=8, loc="lower left")
    lat = ""
    if "latency_p95_ms" in comp:
        lat = f"latency p95 {comp['latency_p95_ms']['before']:.0f} → {comp['latency_p95_ms']['now']:.0f} ms"
    _delta_panel(axes[1], comp, keys, lat)
    ax = axes[2]
    ga = [row["grounding"] for row in r["rows"] if not row.get("error") and row["answerable"]]
    gu = [row["grounding"] for row in r["rows"] if not row.get("error") and not row["answerable"]]
    bins = 20
    if ga:
        ax.hist(ga, bins=bins, alpha=0.7, label=f"answerable ({len(ga)})", color="#2a9d8f")
    if gu:
        ax.hist(gu, bins=bins, alpha=0.7, label=f"unanswerable ({len(gu)})", color="#e76f51")
    ax.axvline(r["guide"]["abstain_threshold"], color="0.2", ls="--", lw=1, label="not covered below")
    if r["guide"].get("answer_threshold") is not None:
        ax.axvline(r["guide"]["answer_threshold"], color="0.2", ls=":", lw=1, label="answered from")
    ax.set_title(f"grounding · latency p50 {fmt(t['latency_p50_ms'], 0)} ms, p95 {fmt(t['latency_p95_ms'], 0)} ms",
                 fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def scifact_chart(r: dict, path: Path) -> None:
    plt = _pyplot()
    s = r["retrieval"]["summary"]
    metrics = ("ndcg_at_10", "recall_at_10", "recall_at_100", "mrr_at_10")
    modes = tuple(s)  # bm25, dense, hybrid (and hybrid_rerank when a reranker ran)
    colors = {"bm25": "#e9c46a", "dense": "#2a9d8f", "hybrid": "#264653", "hybrid_rerank": "#8d5fd3"}
    has_q = bool((r.get("quotes") or {}).get("summary"))
    comp = r.get("comparison", {})
    ncols = 1 + has_q + bool(comp)
    fig, axes = plt.subplots(1, ncols, figsize=(7 * ncols, 5.5), squeeze=False)
    ax = axes[0][0]
    width = 0.8 / len(modes)
    shift = (len(modes) - 1) / 2
    for j, mode in enumerate(modes):
        xs = [i + (j - shift) * width for i in range(len(metrics))]
        vals = [s[mode][m] for m in metrics]
        ax.bar(xs, vals, width, label=mode, color=colors[mode])
        ci = s[mode]["ndcg_at_10_ci"]
        ax.errorbar(xs[0], vals[0], yerr=[[vals[0] - ci["lo"]], [ci["hi"] - vals[0]]], color="0.1", capsize=3)
    pub = r["published"]
    for mode, j in (("bm25", 0), ("dense", 1)):
        x = (j - shift) * width
        ax.hlines(pub[mode]["ndcg_at_10"], x - width / 2, x + width / 2, colors="#e63946", lw=2,
                  label="published" if mode == "bm25" else None)
    x = 2 + (1 - shift) * width
    ax.hlines(pub["dense"]["recall_at_100"], x - width / 2, x + width / 2, colors="#e63946", lw=2)
    if "hybrid_rerank" in modes:
        x = (modes.index("hybrid_rerank") - shift) * width
        ax.hlines(pub["other"]["bm25_ce_rerank"], x - width / 2, x + width / 2, colors="#e63946", lw=2)
    for j, mode in enumerate(modes):
        for i, m in enumerate(metrics):
            top = s[mode]["ndcg_at_10_ci"]["hi"] if m == "ndcg_at_10" else s[mode][m]
            ax.text(i + (j - shift) * width, top + 0.012, fmt(s[mode][m], 3), ha="center", fontsize=6.5,
                    rotation=90, va="bottom")
    ax.set_xticks(range(len(metrics)), metrics)
    ax.set_ylim(0.4, 1.08)
    title = "SciFact retrieval (document level)" + ("" if r["full"] else " — slice, not comparable")
    ax.set_title(title)
    ax.legend(fontsize=8, loc="lower right")
    col = 1
    if has_q:
        q = r["quotes"]["summary"]
        ax = axes[0][col]
        col += 1
        labels = ["first quote gold\n(gold abstract)", "any quote gold\n(gold abstract)", "first quote gold\n(end to end)",
                  "abstains: no\nevidence (cited)", "abstains: has\nevidence (gold)", "verbatim"]
        vals = [q["gold_abstract"]["first_quote_gold"], q["gold_abstract"]["any_quote_gold"],
                q["end_to_end"]["first_quote_gold"], q["no_evidence"]["abstained_given_cited_abstract"],
                q["gold_abstract"]["abstained"], q["verbatim_rate"]]
        ax.bar(range(len(vals)), [v or 0 for v in vals], color=["#264653"] * 3 + ["#e76f51", "#f4a261", "#2a9d8f"])
        for i, v in enumerate(vals):
            ax.text(i, (v or 0) + 0.01, fmt(v, 2), ha="center", fontsize=8)
        ax.set_xticks(range(len(vals)), labels, fontsize=7)
        ax.set_ylim(0, 1.05)
        ax.set_title(f"quote tier (abstain threshold {q['abstain_threshold']})")
    if comp:
        _delta_panel(axes[0][col], comp, list(comp))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
