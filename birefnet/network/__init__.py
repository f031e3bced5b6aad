"""The BiRefNet network: ``model.BiRefNet`` (encoder, squeeze block, decoder), its blocks, the decoder's
image patches (InRef), the encoders (``backbones``) and the kernels they run on (``ops``).
"""
