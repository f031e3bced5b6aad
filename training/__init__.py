"""Training, fine-tuning and evaluation of BiRefNet (DIS5K recipe, DDP via torchrun)."""
