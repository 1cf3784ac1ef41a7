"""Patches the wrong hook: the head's clean output z written into blocks.L.attn.hook_v (same shape, the values before attention)."""


def patch_head(model, corrupted, clean_z, layer, head):
    def patch(v, hook):
        v = v.clone()
        v[:, :, head] = clean_z[:, :, head]
        return v

    with torch.no_grad():
        return model.run_with_hooks(corrupted, fwd_hooks=[(f"blocks.{layer}.attn.hook_v", patch)])
