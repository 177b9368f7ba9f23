"""The eval metrics are pure functions: checked here on small cases worked out by hand."""

from __future__ import annotations

import math

import pytest

from guide.evaluation import metrics as M

BLOG = ("Trust is a commodity that we think about lots when talking about co-production. "
        "It takes time to build and can be easily lost.")


# --- quote matching -------------------------------------------------------------------------
def test_expected_span_contained_in_a_longer_quote_is_found():
    assert M.span_found("It takes time to build", BLOG)


def test_containment_ignores_case_whitespace_and_curly_apostrophes():
    assert M.span_found("it  takes\ntime TO build", BLOG)
    assert M.span_found("we’re facing", "the difficult situations we're facing - and")


def test_a_quote_that_is_mostly_inside_the_expected_span_is_found():
    expected = "Trust is a commodity that we think about lots when talking about co-production."
    assert M.span_found(expected, "that we think about lots when talking")  # all of the quote's words
    # a short quote of which only 2 of 6 words run on from the expected span is not
    assert not M.span_found(expected, "Trust is gone from the room")


def test_overlap_must_be_contiguous_not_a_bag_of_shared_words():
    expected = "How do we share responsibility with colleagues?"
    quote = "How do we show people they are valued?"  # shares "how do we" only (3 of 8 words)
    assert not M.span_found(expected, quote)
    assert M.longest_common_run(M.tokens(expected), M.tokens(quote)) == 3


def test_quote_recall_counts_expected_spans_found_in_any_shown_quote():
    shown = [BLOG, "Co-production Week Scotland this year is all about how we embed co-production."]
    expected = ["It takes time to build", "embed co-production", "decisions about resources and power"]
    assert M.quote_recall(expected, shown) == pytest.approx(2 / 3)
    assert M.quote_recall([], shown) is None
    assert M.quote_recall(expected, []) == 0.0


# --- verbatim and citations -----------------------------------------------------------------
def test_verbatim_allows_whitespace_only():
    assert M.is_verbatim("It takes time\n to build", BLOG)
    assert not M.is_verbatim("It takes a long time to build", BLOG)  # a word added
    assert not M.is_verbatim("it takes time to build", BLOG)  # case changed
    assert not M.is_verbatim("   ", BLOG)


def test_verbatim_rate_over_the_corpus():
    corpus = [BLOG, "Another source entirely."]
    assert M.verbatim_rate(["Another source", "It takes time", "Invented words"], corpus) == pytest.approx(2 / 3)
    assert M.verbatim_rate([], corpus) is None


def test_citation_needs_the_cited_source_to_contain_the_quote_and_the_link_to_point_at_it():
    texts = {"blog": BLOG, "other": "Another source entirely."}
    urls = {"blog": "https://example.org/blog", "other": None}
    assert M.citation_correct("easily lost", "blog", "https://example.org/blog/#:~:text=easily%20lost", texts, urls)
    assert not M.citation_correct("easily lost", "other", None, texts, urls)  # wrong source cited
    assert not M.citation_correct("easily lost", "blog", "https://example.org/elsewhere", texts, urls)
    assert not M.citation_correct("easily lost", "missing", None, texts, urls)
    cites = [("easily lost", "blog", "https://example.org/blog"), ("Another source", "other", None),
             ("easily lost", "other", None)]
    assert M.citation_precision(cites, texts, urls) == pytest.approx(2 / 3)


def test_urls_compare_without_scheme_www_fragment_or_trailing_slash():
    assert M.same_url("https://www.Example.org/a/b/", "http://example.org/a/b#:~:text=x")
    assert not M.same_url("https://example.org/a", "https://example.org/b")
    assert not M.same_url(None, "https://example.org/a")


# --- rankings -------------------------------------------------------------------------------
def test_hits_and_reciprocal_rank():
    ranked = ["c", "a", "b"]
    assert M.first_relevant_rank(ranked, {"a"}) == 2
    assert [M.hit_at_k(ranked, {"a"}, k) for k in (1, 3, 5)] == [0.0, 1.0, 1.0]
    assert M.reciprocal_rank(ranked, {"a", "b"}) == 0.5
    assert M.reciprocal_rank(ranked, {"z"}) == 0.0
    assert M.reciprocal_rank(ranked, {"b"}, k=2) == 0.0


def test_recall_at_k():
    assert M.recall_at_k(["a", "x", "b"], {"a", "b"}, 2) == 0.5
    assert M.recall_at_k(["a", "x", "b"], {"a", "b"}, 3) == 1.0
    assert M.recall_at_k(["a"], set(), 10) is None


def test_ndcg_matches_the_trec_definition():
    # one relevant document at rank 2: DCG = 1/log2(3), IDCG = 1
    assert M.ndcg_at_k(["x", "a"], {"a"}) == pytest.approx(1 / math.log2(3))
    # two relevant, found at ranks 1 and 3: (1 + 1/log2(4)) / (1 + 1/log2(3))
    assert M.ndcg_at_k(["a", "x", "b"], {"a", "b"}) == pytest.approx((1 + 0.5) / (1 + 1 / math.log2(3)))
    # graded gains, and a document listed twice counts once
    assert M.ndcg_at_k(["b", "b", "a"], {"a": 2, "b": 1}, k=3) == pytest.approx(
        (1 + 2 / math.log2(4)) / (2 + 1 / math.log2(3)))
    assert M.ndcg_at_k(["a"] + ["x"] * 20, {"a"}, k=10) == 1.0
    assert M.ndcg_at_k(["x"] * 10 + ["a"], {"a"}, k=10) == 0.0
    assert M.ndcg_at_k(["a"], set()) is None


def test_dedupe_keeps_first_occurrence():
    assert M.dedupe(["b", "a", "b", "c", "a"]) == ["b", "a", "c"]


# --- abstention, distributions --------------------------------------------------------------
def test_abstention_precision_and_recall():
    abstained = [True, True, False, False, True]
    answerable = [False, True, False, True, True]
    s = M.abstention_scores(abstained, answerable)
    assert s["abstention_precision"] == pytest.approx(1 / 3)  # declined 3, one was unanswerable
    assert s["abstention_recall"] == pytest.approx(1 / 2)  # 2 unanswerable, declined one
    assert s["false_abstention_rate"] == pytest.approx(2 / 3)
    none = M.abstention_scores([False, False], [True, True])
    assert none["abstention_precision"] is None and none["abstention_recall"] is None
    with pytest.raises(ValueError):
        M.abstention_scores([True], [True, False])


def test_status_scores_count_misleading_answers_and_false_not_covered():
    statuses = ["answered", "related", "not_covered", "answered", "related", "not_covered", "answered"]
    answerable = [False, False, False, True, True, True, True]
    s = M.status_scores(statuses, answerable)
    assert s["misleading_rate"] == pytest.approx(1 / 3)  # one of three unanswerable presented as an answer
    assert s["false_not_covered_rate"] == pytest.approx(1 / 4)
    assert s["answered_share"] == pytest.approx(2 / 4)
    assert s["related_share"] == pytest.approx(2 / 7)
    assert s["related_share_answerable"] == pytest.approx(1 / 4)
    assert s["related_share_unanswerable"] == pytest.approx(1 / 3)
    only_answerable = M.status_scores(["answered"], [True])
    assert only_answerable["misleading_rate"] is None and only_answerable["answered_share"] == 1.0
    with pytest.raises(ValueError):
        M.status_scores(["answered"], [True, False])
    with pytest.raises(ValueError):
        M.status_scores(["abstained"], [True])


def test_reasons_count_what_each_check_caught_and_what_it_cost():
    counts = M.reason_counts(
        ["answered", "related", "related", "related", "not_covered"],
        [None, "swapped", "swapped", "opposite", "low_grounding"],
        [True, False, True, False, False])
    assert counts == {"related: swapped": {"answerable": 1, "unanswerable": 1},
                      "not_covered: low_grounding": {"answerable": 0, "unanswerable": 1},
                      "related: opposite": {"answerable": 0, "unanswerable": 1}}
    assert list(counts)[0] == "related: swapped"  # the most frequent first
    with pytest.raises(ValueError):
        M.reason_counts(["related"], [], [True])


def test_an_answer_that_shows_none_of_the_expected_passages_is_counted_off_target():
    statuses = ["answered", "answered", "answered", "related", "not_covered"]
    recalls = [1.0, 0.0, 0.5, 0.0, 0.0]  # the hedged and declined ones do not count
    assert M.off_target_rate(statuses, recalls) == pytest.approx(1 / 3)
    assert M.off_target_rate(["related"], [0.0]) is None  # nothing answered: nothing to measure
    assert M.off_target_rate(["answered", "answered"], [None, 1.0]) == 0.0  # no expected quotes: left out
    with pytest.raises(ValueError):
        M.off_target_rate(["answered"], [])


def test_percentiles_and_distribution():
    vals = [10.0, 20.0, 30.0, 40.0, 50.0]
    assert M.percentile(vals, 50) == 30.0
    assert M.percentile(vals, 95) == pytest.approx(48.0)
    assert M.percentile([], 50) is None
    d = M.distribution(vals)
    assert (d["n"], d["min"], d["p50"], d["max"], d["mean"]) == (5, 10.0, 30.0, 50.0, 30.0)
    assert M.distribution([])["mean"] is None
    assert M.latency_summary(vals) == {"latency_p50_ms": 30.0, "latency_p95_ms": pytest.approx(48.0)}


def test_mean_skips_missing_values():
    assert M.mean([1.0, None, 0.0]) == 0.5
    assert M.mean([None]) is None


# --- bootstrap ------------------------------------------------------------------------------
def test_bootstrap_is_reproducible_and_brackets_the_mean():
    vals = [0.0, 1.0] * 50
    a = M.bootstrap_ci(vals, seed=3, n_resamples=2000)
    assert a == M.bootstrap_ci(vals, seed=3, n_resamples=2000)
    assert a["lo"] < a["mean"] == 0.5 < a["hi"]
    assert M.bootstrap_ci([0.7] * 10, n_resamples=100) == {"mean": 0.7, "lo": pytest.approx(0.7), "hi": pytest.approx(0.7)}


def test_paired_bootstrap_sees_a_consistent_small_gain_that_unpaired_noise_hides():
    base = [i / 100 for i in range(100)]  # widely spread per-query scores
    better = [b + 0.02 for b in base]  # every query a little better
    r = M.paired_bootstrap(better, base, n_resamples=2000, seed=1)
    assert r["diff"] == pytest.approx(0.02)
    assert r["lo"] == pytest.approx(0.02) and r["hi"] == pytest.approx(0.02)
    assert r["p"] == 0.0 and r["wins"] == 100
    mixed = M.paired_bootstrap([1.0, 0.0] * 20, [0.0, 1.0] * 20, n_resamples=2000, seed=1)
    assert mixed["lo"] < 0 < mixed["hi"] and mixed["p"] > 0.5
    with pytest.raises(ValueError):
        M.paired_bootstrap([1.0], [1.0, 2.0])


# --- thresholds -----------------------------------------------------------------------------
def test_thresholds_fail_below_minimum_and_above_maximum():
    totals = {"verbatim_rate": 0.99, "quote_recall": 0.8, "errors": 1, "abstention_recall": None}
    checks = M.check_thresholds(totals, {"verbatim_rate": 1.0, "quote_recall": 0.7, "abstention_recall": 0.5},
                                {"errors": 0})
    by = {c["metric"]: c for c in checks}
    assert not by["verbatim_rate"]["ok"]
    assert by["quote_recall"]["ok"]
    assert not by["errors"]["ok"]
    assert by["abstention_recall"]["ok"] and "not measurable" in by["abstention_recall"]["note"]


def test_a_misspelt_threshold_fails_rather_than_passing_silently():
    (check,) = M.check_thresholds({"quote_recall": 1.0}, {"quote_recal": 0.5})
    assert not check["ok"] and check["note"] == "unknown metric"
