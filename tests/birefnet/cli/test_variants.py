"""`python -m birefnet variants`: the registry as a table and as Markdown."""

from birefnet import VARIANTS
from birefnet.cli import main


def test_variants_lists_the_registry(capsys):
    assert main(["variants"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 + len(VARIANTS)
    for name, variant in VARIANTS.items():
        row = next(line for line in lines if line.split()[0] == name)
        assert variant.backbone in row and variant.patch_order in row and variant.license in row
    assert "BiRefNet_dynamic " in "\n".join(lines) and "dynamic" in next(
        line for line in lines if line.startswith("BiRefNet_dynamic ")
    )
    assert main(["variants", "--markdown"]) == 0
    markdown = capsys.readouterr().out.splitlines()
    assert markdown[0].startswith("| name |") and len(markdown) == 2 + len(VARIANTS)
    assert "| BiRefNet_lite-2K | swin_v1_t | 2560x1440 |" in "\n".join(markdown)
