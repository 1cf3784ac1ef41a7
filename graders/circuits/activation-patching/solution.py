"""Reference solution for activation-patching."""

import torch

from mi_exercise.models.induction import load_induction_model  # noqa: F401  (the grader asks the worker for the model through it)


def corrupt_copied_token(tokens: torch.Tensor, seq_len: int, k: int, wrong: torch.Tensor) -> torch.Tensor:
    corrupted = tokens.clone()
    corrupted[:, 2 + k] = wrong          # first copy: seq[k + 1] sits at position 1 + (k + 1)
    return corrupted


def logit_difference(logits: torch.Tensor, pos: int, correct: torch.Tensor, wrong: torch.Tensor) -> torch.Tensor:
    at = logits[:, pos]                  # [batch, d_vocab]
    return at.gather(-1, correct[:, None])[:, 0] - at.gather(-1, wrong[:, None])[:, 0]


def normalised(patched, clean, corrupted):
    return (patched - corrupted) / (clean - corrupted)


def residual_hook_names(n_layers: int) -> list[str]:
    return [f"blocks.{layer}.hook_resid_pre" for layer in range(n_layers)] + [f"blocks.{n_layers - 1}.hook_resid_post"]


def patch_residual(model, corrupted: torch.Tensor, clean_resid: torch.Tensor, hook_name: str, pos: int) -> torch.Tensor:
    def patch(resid, hook):
        resid = resid.clone()
        resid[:, pos] = clean_resid[:, pos]
        return resid

    with torch.no_grad():
        return model.run_with_hooks(corrupted, fwd_hooks=[(hook_name, patch)])


def patch_head(model, corrupted: torch.Tensor, clean_z: torch.Tensor, layer: int, head: int) -> torch.Tensor:
    def patch(z, hook):
        z = z.clone()
        z[:, :, head] = clean_z[:, :, head]
        return z

    with torch.no_grad():
        return model.run_with_hooks(corrupted, fwd_hooks=[(f"blocks.{layer}.attn.hook_z", patch)])


def _baselines(model, clean, corrupted, pos, correct, wrong):
    with torch.no_grad():
        clean_logits, cache = model.run_with_cache(clean)
        corrupted_logits = model(corrupted)
    return (cache, logit_difference(clean_logits, pos, correct, wrong).mean(),
            logit_difference(corrupted_logits, pos, correct, wrong).mean())


def residual_patching(model, clean, corrupted, pos, correct, wrong) -> torch.Tensor:
    cache, clean_ld, corrupted_ld = _baselines(model, clean, corrupted, pos, correct, wrong)
    names = residual_hook_names(model.cfg.n_layers)
    out = torch.zeros(len(names), clean.shape[1])
    for row, name in enumerate(names):
        for p in range(clean.shape[1]):
            ld = logit_difference(patch_residual(model, corrupted, cache[name], name, p), pos, correct, wrong).mean()
            out[row, p] = normalised(ld, clean_ld, corrupted_ld)
    return out


def head_patching(model, clean, corrupted, pos, correct, wrong) -> torch.Tensor:
    cache, clean_ld, corrupted_ld = _baselines(model, clean, corrupted, pos, correct, wrong)
    out = torch.zeros(model.cfg.n_layers, model.cfg.n_heads)
    for layer in range(model.cfg.n_layers):
        for head in range(model.cfg.n_heads):
            z = cache[f"blocks.{layer}.attn.hook_z"]
            ld = logit_difference(patch_head(model, corrupted, z, layer, head), pos, correct, wrong).mean()
            out[layer, head] = normalised(ld, clean_ld, corrupted_ld)
    return out
