"""Figures for the TransformerLens chapter's pages, built from the shipped model's figure data.

The exercises' `pictures.py` hooks call these. Everything is computed with the shipped model and
the reference definitions of the scores (``mi_exercise.models.induction_numpy.figure_data``: numpy,
no TransformerLens import, cached for the build), never by running the learner's code: learner
code runs only in the grading worker. When the workspace's progress says the exercise is passed,
a caption says that the learner's code finds the same heads (the grader checked that it does).

    from mi_exercise.site_builder.induction_figures import pattern_figure, score_figure
"""

from __future__ import annotations

from mi_exercise.models.induction_numpy import figure_data

PATTERN_SEQ_LEN = 10  # [BOS] + 10 + 10 = 21 positions: readable cells, a small page
SCORE_NOTE = "scores from the shipped model on 16 sequences [BOS] + seq + seq with seq_len 30"


def pattern_data(seq_len: int = PATTERN_SEQ_LEN) -> dict:
    return figure_data(seq_len=seq_len, seed=0)


def score_data() -> dict:
    """head_scores of the shipped model (the same for every figure_data call)."""
    return figure_data(seq_len=PATTERN_SEQ_LEN, seed=0)["head_scores"]


def token_labels(tokens: list[int]) -> list[str]:
    return ["BOS" if i == 0 else str(t) for i, t in enumerate(tokens)]


def head_name(head) -> str:
    return f"{head[0]}.{head[1]}"


def heads_text(heads) -> str:
    return ", ".join(head_name(h) for h in heads) if heads else "none"


def heads_above(scores: list[list[float]], threshold: float) -> list[list[int]]:
    return [[layer, head] for layer, row in enumerate(scores) for head, s in enumerate(row) if s > threshold]


def pattern_figure(data: dict, layer: int, head: int, title: str | None = None, caption: str = "") -> dict:
    """One head's attention pattern on data's first sequence: a T x T heatmap, queries as rows."""
    labels = token_labels(data["tokens"])
    return {"kind": "heatmap", "title": title or f"Head {layer}.{head}", "data": data["patterns"][layer][head],
            "x_labels": labels, "y_labels": labels, "x_title": "key position (token)",
            "y_title": "query position (token)", "vmin": 0.0, "vmax": 1.0, "caption": caption}


def score_figure(scores: list[list[float]], title: str, caption: str) -> dict:
    """A [n_layers, n_heads] score heatmap: layers as rows, heads as columns, 0 to 1."""
    return {"kind": "heatmap", "title": title, "data": scores,
            "x_labels": [str(h) for h in range(len(scores[0]))], "y_labels": [str(l) for l in range(len(scores))],
            "x_title": "head", "y_title": "layer", "vmin": 0.0, "vmax": 1.0, "caption": caption}


def passed(context: dict) -> bool:
    return context.get("status") == "passed"


def found_note(context: dict, what: str) -> str:
    """A sentence on whose heads these are: the reference computation's, and the learner's when passed."""
    slug = context["exercise"].slug
    if passed(context):
        return (f"Your code passed the grader of {slug}, which checks that it finds these {what} on this model: "
                "these are the heads your code found.")
    if context.get("workspace") is not None:
        return f"When your code passes mi-exercise check {slug}, it finds these same {what}."
    return f"Code that passes mi-exercise check {slug} finds these same {what}."


def sequence_note(data: dict) -> str:
    return (f"One sequence [BOS] + seq + seq with seq_len {data['seq_len']} ({len(data['tokens'])} positions); "
            "rows are queries, columns keys; pale is 0, dark is 1.")
