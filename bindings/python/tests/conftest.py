"""Fixtures: a real batond on a socket in a fresh temporary directory.

Environment (tests/python.sh sets it from the build tree):
  BATOND        the batond binary to run (required)
  BATON_LIBDIR  where libbaton-agent.so.0 and libbaton-verify.so.0 are
"""

import os
import pathlib
import shutil
import subprocess
import tempfile
import time

import pytest

import baton

TOP_SRCDIR = pathlib.Path(os.environ.get(
    "top_srcdir", pathlib.Path(__file__).resolve().parents[3]))


class Broker:
    """One batond process on its own socket and state directory."""

    def __init__(self, exe: str, conf: str = None, agents: str = None) -> None:
        self.exe = exe
        self.dir = tempfile.mkdtemp(prefix="baton-py.")
        os.chmod(self.dir, 0o700)
        self.socket = os.path.join(self.dir, "batond.sock")
        self.state = os.path.join(self.dir, "state")
        os.mkdir(self.state, 0o700)
        self.log = os.path.join(self.dir, "batond.log")
        self.args = []
        if conf is not None:
            # batond wants both files writable by nobody but their owner
            path = os.path.join(self.dir, "baton.conf")
            if agents is not None:
                apath = os.path.join(self.dir, "agents")
                self._write(apath, agents)
                conf = "agents-file %s\n%s" % (apath, conf)
            self._write(path, conf)
            self.args = ["-c", path]
        self.proc = None

    @staticmethod
    def _write(path: str, text: str) -> None:
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(path, 0o600)

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [self.exe, "-f"] + self.args + ["--socket", self.socket,
                                                "--state-dir", self.state],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("batond exited early:\n" + self.logtext())
            if os.path.exists(self.socket):
                try:
                    with baton.Client(self.socket, timeout=1) as c:
                        c.status()
                    return
                except baton.BrokerUnavailable:
                    pass
            time.sleep(0.05)
        raise RuntimeError("batond did not come up:\n" + self.logtext())

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def logtext(self) -> str:
        try:
            with open(self.log, encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def _batond() -> str:
    exe = os.environ.get("BATOND")
    if not exe or not os.access(exe, os.X_OK):
        pytest.exit("set BATOND to a built batond binary (tests/python.sh "
                    "does), got %r" % exe, returncode=2)
    return exe


@pytest.fixture(scope="session")
def broker():
    """A broker shared by the tests that leave it running."""
    b = Broker(_batond())
    b.start()
    yield b
    b.cleanup()


@pytest.fixture
def own_broker():
    """A broker of this test's own, which it may stop and restart."""
    b = Broker(_batond())
    b.start()
    yield b
    b.cleanup()


@pytest.fixture(scope="session")
def configured_broker():
    """A broker with an agents map: this uid may act only as
    "orchestrator", and verify only for the audience "mcp-db"."""
    b = Broker(_batond(), conf="rate-limit 0\n", agents=(
        "agent orchestrator uid=%d verify=mcp-db\n" % os.getuid()))
    b.start()
    yield b
    b.cleanup()


@pytest.fixture
def client(broker):
    with baton.Client(broker.socket) as c:
        yield c


@pytest.fixture
def dead_socket(tmp_path):
    """A socket path where no broker listens."""
    return str(tmp_path / "nobody.sock")


@pytest.fixture(scope="session")
def expiring(broker):
    """A token with a one-second lifetime, minted once per session;
    call it to wait until it has expired."""
    with baton.Client(broker.socket) as c:
        tok = c.mint(["db_query:read"], 1, aud="mcp-db")

    def wait():
        while time.time() < tok.exp + 1:
            time.sleep(0.1)
        return tok
    return wait
