"""Model files: the released variants (``registry``), reading checkpoint files (``files``), building a model
from one (``load``), and finding or downloading them (``hub``).
"""
