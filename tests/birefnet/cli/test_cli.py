"""`python -m birefnet` itself: without a command it prints the help and exits with code 2."""

from birefnet.cli import main


def test_no_command_prints_help_and_exits_2(capsys):
    assert main([]) == 2
    assert "cutout" in capsys.readouterr().err
