"""Nothing keeps running when its parent is killed (issue #10, item 7).

The chain is ``dvc repro`` -> stage runner (``python -m robopercept.stage``) -> notebook kernel -> pool
workers. Killing ``dvc`` alone (not its process group) once left the stage runner training on,
orphaned, into the folder a rerun then also trained into. Each link now exits with its parent.
"""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux process semantics")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (exited, not yet reaped by init) counts as gone
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def _wait_gone(pid: int, timeout: float = 10.0) -> bool:
    end = time.time() + timeout
    while time.time() < end:
        if not _alive(pid):
            return True
        time.sleep(0.1)
    return False


def _run_middle(tmp_path: Path, child_code: str) -> int:
    """Start a middle process that starts a child running ``child_code`` (which writes its pid, or its
    worker's, to pid.txt); kill the middle with SIGKILL; return the pid to watch."""
    pid_file = tmp_path / "pid.txt"
    child = tmp_path / "child.py"
    child.write_text(textwrap.dedent(child_code).replace("PID_FILE", repr(str(pid_file))))
    middle = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import subprocess, sys, time
        subprocess.Popen([sys.executable, {str(child)!r}])
        time.sleep(120)
        """)], start_new_session=True)
    try:
        end = time.time() + 60
        while not (pid_file.exists() and pid_file.read_text().strip()):
            assert time.time() < end, "the child never started"
            time.sleep(0.1)
        pid = int(pid_file.read_text())
        assert _alive(pid)
    finally:
        middle.send_signal(signal.SIGKILL)
        middle.wait()
    return pid


def test_stage_runner_and_kernel_exit_when_their_parent_is_killed(tmp_path):
    pid = _run_middle(tmp_path, """
        import os, time
        from robopercept.notebook import watch_parent
        watch_parent(0.1)
        open(PID_FILE, "w").write(str(os.getpid()))
        time.sleep(120)
        """)
    assert _wait_gone(pid), "the process outlived its killed parent"


# a child that starts a one-worker pool (as a stage's notebook does) and runs WORK in it; AFTER runs in the child
POOL_CHILD = """
    import os, time
    from multiprocessing import resource_tracker
    from robopercept.world.shards import process_pool

    def work():
        WORK
        time.sleep(120)

    if __name__ == "__main__":
        from robopercept.notebook import watch_parent
        watch_parent(0.1)
        pool = process_pool(1)
        pool.submit(work)
        AFTER
        time.sleep(120)
    """


def _pool_child(work: str = "pass", after: str = "pass") -> str:
    return textwrap.dedent(POOL_CHILD).replace("WORK", work).replace("AFTER", after)


def test_pool_workers_die_with_the_process_that_started_them(tmp_path):
    pid = _run_middle(tmp_path, _pool_child(work='open(PID_FILE, "w").write(str(os.getpid()))'))
    assert _wait_gone(pid), "a pool worker outlived the process that started it"


def test_stage_main_installs_the_watchdog_first(monkeypatch, capsys):
    import robopercept.notebook
    from robopercept import stage

    calls = []
    monkeypatch.setattr(robopercept.notebook, "watch_parent", lambda *a, **k: calls.append(a))
    # an unknown profile is refused before anything runs; the watchdog was installed before that
    assert stage.main(["notebooks/00_environment.py", "--profile", "no-such-profile"]) == 2
    assert calls == [()]
    assert "no-such-profile" in capsys.readouterr().err


def test_the_pools_resource_tracker_exits_with_the_killed_chain(tmp_path):
    """Issue #10 item 7 also found multiprocessing's resource tracker (~100 MB) alive after a kill -9 of the
    chain. It lives while any process holds its pipe: once the starter and its workers are gone, it exits."""
    # the pool's tracker is started on demand (its queues need it); after ensure_running() its pid is known
    pid = _run_middle(tmp_path, _pool_child(after="time.sleep(1); resource_tracker.ensure_running(); "
                                                  'open(PID_FILE, "w").write(str(resource_tracker._resource_tracker._pid))'))
    assert _wait_gone(pid, timeout=20), "the resource tracker outlived the chain that started it"
