"""Reverse-engineer the induction circuit yourself: find_circuit(model) returns it as data.

Fill in find_circuit, then run `mi-exercise check reverse-engineer-induction`. The grader runs it
on the shipped model AND on other models whose heads sit elsewhere, and compares your answer
with what it measures itself: nothing about the shipped model's heads may be written into your
code. Use anything from the chapter (attention patterns, composition scores, patching).

    from mi_exercise.models.induction import load_circuits_model, repeated_tokens
    model = load_circuits_model()                             # the chapter's model
    other = load_circuits_model(name="attn-only-circuits-3l")  # 3 layers, heads elsewhere
    tokens = repeated_tokens(20, batch=8, d_vocab=model.cfg.d_vocab)
"""

import torch

from mi_exercise.models.induction import load_circuits_model, load_induction_model, repeated_tokens  # noqa: F401


def find_circuit(model) -> dict:
    """The model's induction circuit:

    {"previous_token_heads": [[layer, head], ...],  # heads that attend to the previous position
     "induction_heads":      [[layer, head], ...],  # heads that attend to the token after the
                                                    # earlier occurrence of the current token
     "k_composition": [[[layer, head], [layer, head]], ...],  # (previous-token head, induction
                                                    # head) pairs whose K-composition stands out
     "offsets": {"previous_token": int,   # key position minus query position for those heads
                 "induction": int}}       # key position minus the position of the query token's
                                          # earlier occurrence for those heads
    Heads in any order."""
    raise NotImplementedError("find_circuit")
