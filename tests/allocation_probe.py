"""A dispatch mode that records the size of every tensor storage an op makes, for tests of what code allocates."""

from __future__ import annotations

from collections import defaultdict

import torch
from torch.utils._python_dispatch import TorchDispatchMode


class FreshStorages(TorchDispatchMode):
    """Bytes of every new storage an op returns (views of its inputs are not new), listed in ``sizes`` under
    the current ``label``; nothing is recorded while ``label`` is None."""

    def __init__(self, label: object = None) -> None:
        super().__init__()
        self.label = label
        self.sizes: defaultdict[object, list[int]] = defaultdict(list)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if self.label is not None:
            seen = {
                t.untyped_storage().data_ptr()
                for t in torch.utils._pytree.tree_leaves((args, kwargs))
                if isinstance(t, torch.Tensor)
            }
            for t in torch.utils._pytree.tree_leaves(out):
                if isinstance(t, torch.Tensor) and t.untyped_storage().data_ptr() not in seen:
                    self.sizes[self.label].append(t.untyped_storage().nbytes())
        return out
