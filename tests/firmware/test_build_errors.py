"""A compiler failure is one error line naming what was built and the log file holding the compiler's
full output (DIR/build.log), with the first compiler error when it is short: host cc and PlatformIO."""
import pytest

from tinyq.cli import main
from tinyq.targets.build import CompileFailed, build_project

from . import dummy


def _break(project, text="int broken(void) { return undeclared_name; }\n"):
    (project / "src" / "broken.c").write_text(text)


def _check_one_line(exc: CompileFailed, project, board: str) -> str:
    message = str(exc)
    log = project / "build.log"
    assert "\n" not in message
    assert message.startswith(f"build for {board} failed: ") and message.endswith(f"full compiler output in {log}")
    assert exc.log_file == log and "undeclared_name" in log.read_text()  # the whole output is in the file
    return message


def test_host_compiler_failure_is_one_line_naming_the_log(tmp_path):
    d = dummy.make_project(tmp_path, "host")
    _break(d)
    with pytest.raises(CompileFailed) as info:
        build_project(d)
    message = _check_one_line(info.value, d, "host")
    first_error = message.removeprefix("build for host failed: ").split("; full compiler output")[0]
    assert first_error.startswith("src/broken.c:1:27: error: ") and "undeclared_name" in first_error  # path shortened


def test_long_first_error_stays_in_the_log(tmp_path):
    d = dummy.make_project(tmp_path, "host")
    _break(d, "int broken(void) { return undeclared_name_" + "x" * 300 + "; }\n")
    with pytest.raises(CompileFailed) as info:
        build_project(d)
    assert str(info.value) == f"build for host failed: full compiler output in {d / 'build.log'}"


def test_a_successful_build_keeps_its_log(tmp_path):
    d = dummy.make_project(tmp_path, "host")
    build_project(d)
    text = (d / "build.log").read_text()
    assert text.startswith("$ cc ") and "-DTQ_ENABLE_ASSERT" in text  # the host runner checks kernel contracts


def test_cli_ends_with_the_one_line_error(tmp_path, capsys):
    d = dummy.make_project(tmp_path, "host")
    _break(d)
    assert main(["build", str(d)]) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("tinyq: error: build for host failed: ") and last.endswith(f"{d / 'build.log'}")


@pytest.mark.firmware
@pytest.mark.slow
def test_platformio_failure_is_one_line_naming_the_log(tmp_path):
    d = dummy.make_project(tmp_path, "mps2-an386")
    _break(d)
    with pytest.raises(CompileFailed) as info:
        build_project(d)
    message = _check_one_line(info.value, d, "mps2-an386")
    assert "undeclared_name" in message
