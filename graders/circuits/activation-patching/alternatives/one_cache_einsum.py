"""activation-patching written differently: boolean masks instead of index writes, torch.where to
patch, logits picked with advanced indexing, the sweeps over hook names and heads as comprehensions."""

import torch

from mi_exercise.models.induction import load_induction_model, repeated_tokens  # noqa: F401


def residual_hook_names(n_layers):
    return [f"blocks.{layer}.hook_resid_pre" for layer in range(n_layers)] + [f"blocks.{n_layers - 1}.hook_resid_post"]


def corrupt_copied_token(tokens, seq_len, k, wrong):
    mask = torch.zeros_like(tokens, dtype=torch.bool)
    mask[:, 2 + k] = True
    return torch.where(mask, wrong[:, None].expand_as(tokens), tokens)


def logit_difference(logits, pos, correct, wrong):
    rows = torch.arange(logits.shape[0], device=logits.device)
    return logits[rows, pos, correct] - logits[rows, pos, wrong]


def normalised(patched, clean, corrupted):
    return 1 - (clean - patched) / (clean - corrupted)


def _run(model, corrupted, name, fn):
    with torch.no_grad():
        return model.run_with_hooks(corrupted, fwd_hooks=[(name, fn)])


def patch_residual(model, corrupted, clean_resid, hook_name, pos):
    def fn(resid, hook):
        keep = torch.arange(resid.shape[1], device=resid.device) == pos
        return torch.where(keep[None, :, None], clean_resid, resid)
    return _run(model, corrupted, hook_name, fn)


def patch_head(model, corrupted, clean_z, layer, head):
    def fn(z, hook):
        keep = torch.arange(z.shape[2], device=z.device) == head
        return torch.where(keep[None, None, :, None], clean_z, z)
    return _run(model, corrupted, f"blocks.{layer}.attn.hook_z", fn)


def _metric(model, tokens, pos, correct, wrong, **kw):
    with torch.no_grad():
        return logit_difference(model(tokens, **kw) if kw else model(tokens), pos, correct, wrong).mean()


def residual_patching(model, clean, corrupted, pos, correct, wrong):
    with torch.no_grad():
        clean_logits, cache = model.run_with_cache(clean)
    hi = logit_difference(clean_logits, pos, correct, wrong).mean()
    lo = _metric(model, corrupted, pos, correct, wrong)
    return torch.stack([torch.stack([normalised(logit_difference(patch_residual(model, corrupted, cache[n], n, p), pos,
                                                                 correct, wrong).mean(), hi, lo)
                                     for p in range(clean.shape[1])])
                        for n in residual_hook_names(model.cfg.n_layers)]).cpu()


def head_patching(model, clean, corrupted, pos, correct, wrong):
    with torch.no_grad():
        clean_logits, cache = model.run_with_cache(clean)
    hi = logit_difference(clean_logits, pos, correct, wrong).mean()
    lo = _metric(model, corrupted, pos, correct, wrong)
    return torch.stack([torch.stack([normalised(logit_difference(
        patch_head(model, corrupted, cache[f"blocks.{layer}.attn.hook_z"], layer, h), pos, correct, wrong).mean(), hi, lo)
        for h in range(model.cfg.n_heads)]) for layer in range(model.cfg.n_layers)]).cpu()
