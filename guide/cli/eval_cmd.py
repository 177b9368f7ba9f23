"""`guide eval`: thin wiring over guide.evaluate, guide.scifact and guide.report."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from guide.cli.context import open_guide, pass_settings
from guide.settings import Settings

EXIT_GATE = 1  # a metric fell below (or above) its threshold


@click.command("eval")
@click.option("--questions", "questions", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="A question file (JSON lines, see evals/README.md). Repeatable. Default: evals/dev.jsonl.")
@click.option("--out", "out", type=click.Path(file_okay=False), default=None,
              help="Folder for report.json, report.md and report.png. Default: evals/reports/<time>-<kind>/.")
@click.option("--compare", "compare_with", type=click.Path(exists=True), default=None,
              help="A previous report (its report.json or folder) to show the change against.")
@click.option("--thresholds", "thresholds", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Thresholds file (default: evals/thresholds.toml). Exit 1 when a metric misses its threshold.")
@click.option("--no-gate", is_flag=True, help="Report only: do not check thresholds.")
@click.option("--benchmark", type=click.Choice(["scifact"]), default=None,
              help="Run the public SciFact benchmark instead of question sets.")
@click.option("--full", is_flag=True, help="SciFact: all 300 claims and 5,183 abstracts (the default).")
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="SciFact: a fixed-seed slice of this many claims, their abstracts and some distractors.")
@click.option("--seed", type=int, default=13, show_default=True, help="SciFact: seed of the slice and the bootstrap.")
@click.option("--no-quotes", is_flag=True,
              help="SciFact: skip the quote tier (every claim through Guide.ask; the slowest part after reranking).")
@click.option("--rerank-claims", type=click.IntRange(min=1), default=None,
              help="SciFact: rerank only a fixed-seed sample of this many claims (the cross-encoder is the slow part; "
                   "the rest of the run covers every claim). Default: every claim.")
@click.option("--corpus", "corpus_dir", type=click.Path(exists=True, file_okay=False), default=None,
              help="Evaluate on this folder's own corpus (a sources.toml and its documents, e.g. evals/corpora/rhine) "
                   "in a temporary index, without scope examples; the guide's own index is not touched. "
                   "Default questions: the folder's *.jsonl files.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@click.option("--llm", "use_llm", is_flag=True,
              help="Also measure the language model at GUIDE_LLM_URL: supported sentences, removals, fallbacks, "
                   "time to first token and latency. Without it the run is extractive even if GUIDE_LLM_URL is set.")
@pass_settings
def eval_command(settings: Settings, questions, out, compare_with, thresholds, no_gate, benchmark, full, limit, seed,
                 no_progress, use_llm, rerank_claims, no_quotes, corpus_dir) -> None:
    """Run answer-quality evals: question sets through the guide's ask path (the web chat's),
    or the SciFact benchmark. Writes JSON, Markdown and a chart; exit 1 when the gate fails."""
    from guide.evaluation.evaluate import compare, evaluate, gate, load_thresholds
    from guide.evaluation.report import default_out_dir, load_report, write_report

    progress = not no_progress
    previous = load_report(Path(compare_with)) if compare_with else None
    kind = "scifact" if benchmark else "questions"
    if previous is not None and previous.get("kind") != kind:
        from guide.errors import SettingsError

        raise SettingsError(f"{compare_with} is a {previous.get('kind')} report and this run is {kind}: "
                            f"compare like with like.")
    thresholds_path = Path(thresholds) if thresholds else settings.thresholds_file
    if benchmark == "scifact":
        if questions:
            raise click.UsageError("--questions and --benchmark are separate runs; give one of them.")
        from guide.evaluation.scifact import headline, run_benchmark

        result = run_benchmark(settings, limit=None if full else limit, seed=seed, progress=progress,
                               rerank_claims=rerank_claims, quotes=not no_quotes)
        totals = headline(result)
        section = "scifact"
        # Published-number thresholds only mean something on the full set.
        check = not no_gate and result["full"] and thresholds_path.exists()
    else:
        if full or limit or rerank_claims or no_quotes:
            raise click.UsageError("--full, --limit, --rerank-claims and --no-quotes apply to --benchmark scifact.")
        if corpus_dir and use_llm:
            raise click.UsageError("--llm measures the guide's own corpus; run it without --corpus.")
        if use_llm and not settings.llm_url:
            from guide.errors import SettingsError

            raise SettingsError("--llm needs GUIDE_LLM_URL (an OpenAI-compatible server, e.g. "
                                "`python -m guide.evaluation.llamacpp --port 8080` for SmolLM2): see README.")
        if corpus_dir:
            from guide.evaluation.evaluate import corpus_guide, corpus_question_files

            paths = [Path(q) for q in questions] or corpus_question_files(Path(corpus_dir))
            with corpus_guide(settings, Path(corpus_dir)) as guide:
                result = evaluate(guide, paths, progress=progress)
            result["corpus"] = str(corpus_dir)
        else:
            guide = open_guide(settings if use_llm else settings.replace(llm_url=None))
            paths = [Path(q) for q in questions] or [settings.dev_set]
            result = evaluate(guide, paths, progress=progress)
        totals = result["totals"]
        section = "questions"
        # the gate's thresholds are the dev set's: another corpus is gated only on thresholds given for it
        check = not no_gate and thresholds_path.exists() and (thresholds is not None or not corpus_dir)
    if check:
        result["gate"] = gate(totals, load_thresholds(thresholds_path, section)) | {"file": str(thresholds_path)}
    if previous is not None:
        result["compared_with"] = str(compare_with)
        result["comparison"] = compare(result, previous)
    out_dir = Path(out) if out else default_out_dir(settings.evals_dir, result["kind"])
    paths_written = write_report(result, out_dir)
    _print_summary(result, totals)
    click.echo(f"report: {paths_written['md']}  (also report.json, report.png in {out_dir})")
    g = result.get("gate")
    if g and not g["passed"]:
        for c in g["checks"]:
            if not c["ok"]:
                sign = ">=" if c["kind"] == "min" else "<="
                click.echo(f"gate failed: {c['metric']} = {c['value']} (needs {sign} {c['bound']}) {c['note']}".rstrip(),
                           err=True)
        sys.exit(EXIT_GATE)


def _print_summary(result: dict, totals: dict) -> None:
    from guide.evaluation.report import fmt

    comp = result.get("comparison", {})
    for k, v in totals.items():
        if isinstance(v, dict):
            continue
        change = f"  ({comp[k]['delta']:+.3f})" if k in comp else ""
        click.echo(f"{k:40} {fmt(v)}{change}")
    g = result.get("gate")
    if g:
        click.echo(f"gate: {'passed' if g['passed'] else 'FAILED'} ({g['file']})")
