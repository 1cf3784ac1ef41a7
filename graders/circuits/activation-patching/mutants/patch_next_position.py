"""Patches the wrong position: the residual stream at pos + 1 (position i predicts token i + 1, confused with the position to patch)."""


def patch_residual(model, corrupted, clean_resid, hook_name, pos):
    def patch(resid, hook):
        resid = resid.clone()
        if pos + 1 < resid.shape[1]:
            resid[:, pos + 1] = clean_resid[:, pos + 1]
        return resid

    with torch.no_grad():
        return model.run_with_hooks(corrupted, fwd_hooks=[(hook_name, patch)])
