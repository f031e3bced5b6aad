"""Running a model: input sizes (``sizes``), ``predict`` (images in, masks out), precision choice
(``precision``) and ``torch.compile`` (``compile``).
"""
