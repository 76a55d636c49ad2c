"""The model store (fmbench.modelstore) and `fmbench models`."""

from __future__ import annotations

import hashlib
import http.server
import json
import threading
import weakref
from pathlib import Path

import pytest
from click.testing import CliRunner

from fmbench import modelstore as fm_models
from fmbench.cli import main
from fmbench.components import ComponentInfo, ComponentKind, ModelFile
from fmbench.modelstore import (
    MissingModelError,
    ModelDownloadError,
    ModelFileError,
    ModelStore,
    check_model_files,
    default_model_dir,
    loaded_model,
    resolve_model_option,
    tree_sha256,
)
from fmbench.registry import Registry

PAYLOAD = b"tiny weights \x00\x01\x02" * 100
SHA = hashlib.sha256(PAYLOAD).hexdigest()
SIZE = len(PAYLOAD)


def _file(name="w.pt", sha=SHA, size=SIZE, url=None):
    return ModelFile(name, sha256=sha, size=size, url=url, description="tiny test weights")


def _info(*files, kind=ComponentKind.EMBEDDER, name="tiny"):
    return ComponentInfo(kind, name, lambda **o: None, "tiny", model_files=tuple(files))


def test_default_dir_follows_fmbench_home(monkeypatch, tmp_path):
    monkeypatch.setenv("FMBENCH_HOME", str(tmp_path / "m"))
    assert default_model_dir() == tmp_path / "m"
    assert ModelStore().root == tmp_path / "m"
    monkeypatch.delenv("FMBENCH_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_model_dir() == tmp_path / "xdg" / "fmbench" / "models"


def test_missing_file_message_names_file_folder_hash_and_source(tmp_path):
    store = ModelStore(tmp_path / "store")
    f = _file(url="https://example.org/w.pt")
    with pytest.raises(MissingModelError) as err:
        store.resolve(_info(f), "w.pt")
    msg = str(err.value)
    assert "'w.pt'" in msg and "embedder 'tiny'" in msg
    assert str(tmp_path / "store") in msg  # the folder to put it in
    assert SHA in msg and "https://example.org/w.pt" in msg
    assert "fmbench models add PATH --as w.pt" in msg
    assert "FMBENCH_HOME" in msg
    # no URL declared: the message says so instead of inventing one
    msg2 = store.missing_message(_file(url=None, sha=None))
    assert "no download URL" in msg2 and "not declared" in msg2


def test_resolve_verifies_size_and_sha(tmp_path):
    store = ModelStore(tmp_path)
    (tmp_path / "w.pt").write_bytes(PAYLOAD)
    assert store.resolve(_file()) == tmp_path / "w.pt"
    assert store.verify(_file()).state == "verified"
    # the verified hash is remembered beside the store
    rec = json.loads((tmp_path / ".fmbench-verified" / "w.pt.json").read_text())
    assert rec["sha256"] == SHA
    # truncated file: size mismatch, an error naming the file
    (tmp_path / "w.pt").write_bytes(PAYLOAD[:-1])
    with pytest.raises(ModelFileError, match="w.pt.*expected"):
        store.resolve(_file())
    # same size, different bytes: sha mismatch (the stale record is not trusted)
    (tmp_path / "w.pt").write_bytes(b"X" + PAYLOAD[1:])
    status = store.verify(_file())
    assert status.state == "sha256-mismatch" and status.sha256 != SHA
    # no sha declared: present, not "verified"
    assert store.verify(ModelFile("w.pt")).state == "present"


def test_add_copies_links_and_refuses_mismatch(tmp_path):
    src = tmp_path / "download.bin"
    src.write_bytes(PAYLOAD)
    store = ModelStore(tmp_path / "store")
    st = store.add(src, "w.pt", expected=_file())
    assert st.state == "verified" and (tmp_path / "store" / "w.pt").read_bytes() == PAYLOAD
    assert not (tmp_path / "store" / "w.pt").is_symlink()
    st = store.add(src, "linked.pt", link=True)
    assert (tmp_path / "store" / "linked.pt").is_symlink() and st.state == "present"
    bad = tmp_path / "bad.bin"
    bad.write_bytes(PAYLOAD[:10])
    with pytest.raises(ModelFileError, match="refusing to add"):
        store.add(bad, "w.pt", expected=_file())
    # the good entry survived and no temporary leftovers remain
    assert (tmp_path / "store" / "w.pt").read_bytes() == PAYLOAD
    assert not [p for p in (tmp_path / "store").iterdir() if p.name.endswith(".part")]
    with pytest.raises(Exception, match="invalid model file name"):
        store.where("../escape")


def test_add_folder_and_tree_hash(tmp_path):
    folder = tmp_path / "hf"
    (folder / "sub").mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    (folder / "sub" / "w.bin").write_bytes(PAYLOAD)
    digest = tree_sha256(folder)
    store = ModelStore(tmp_path / "store")
    st = store.add(folder, "hf-model", expected=ModelFile("hf-model", sha256=digest))
    assert st.state == "verified" and (tmp_path / "store" / "hf-model" / "sub" / "w.bin").exists()
    (folder / "config.json").write_text('{"a": 1}')
    assert tree_sha256(folder) != digest


def test_resolve_model_option(tmp_path):
    store = ModelStore(tmp_path / "store")
    default = _file()
    with pytest.raises(MissingModelError, match="w.pt"):
        resolve_model_option(None, default, store=store)
    explicit = tmp_path / "mine.pt"
    explicit.write_bytes(b"x")
    assert resolve_model_option(str(explicit), default, store=store) == explicit
    with pytest.raises(MissingModelError, match="does not exist"):
        resolve_model_option(str(tmp_path / "nope.pt"), default, store=store)
    with pytest.raises(MissingModelError, match="neither an existing path nor in the model store"):
        resolve_model_option("other-model", default, store=store)
    store.add(explicit, "other-model")
    assert resolve_model_option("other-model", default, store=store) == store.where("other-model")


def test_check_model_files_and_requirements(tmp_path):
    store = ModelStore(tmp_path)
    info = _info(_file())
    problems = check_model_files(info, store=store)
    assert len(problems) == 1 and "w.pt" in problems[0] and str(tmp_path) in problems[0]
    (tmp_path / "w.pt").write_bytes(PAYLOAD)
    assert check_model_files(info, store=store) == []

    # option-dependent requirements
    def make(**o):
        return None

    make.model_requirements = lambda opts: [Path(opts["model"])] if "model" in opts else ["x.pt"]
    dyn = ComponentInfo(ComponentKind.EMBEDDER, "dyn", make, "d", model_files=(_file("x.pt"),))
    assert "x.pt" in check_model_files(dyn, store=store)[0]
    assert "does not exist" in check_model_files(dyn, {"model": "/nope/dir"}, store=store)[0]
    assert check_model_files(dyn, {"model": str(tmp_path)}, store=store) == []

    # a metric's embedder option pulls in the embedder's files
    reg = Registry()
    reg.add(dyn)
    metric = ComponentInfo(
        ComponentKind.METRIC,
        "fadx",
        lambda **o: None,
        "m",
        direction="lower",
        metric_kind="set",
        arg_option="embedder",
    )
    probs = check_model_files(metric, {"embedder": "dyn"}, store=store, registry=reg)
    assert len(probs) == 1 and "embedder 'dyn'" in probs[0]
    assert check_model_files(metric, {"embedder": "unknown"}, store=store, registry=reg) == []


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server API
        if self.path == "/w.pt":
            self.send_response(200)
            self.send_header("Content-Length", str(len(PAYLOAD)))
            self.end_headers()
            self.wfile.write(PAYLOAD)
        else:
            self.send_error(404)

    def log_message(self, *args):
        pass


@pytest.fixture
def loopback_url():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_fetch_from_loopback_server(tmp_path, loopback_url):
    store = ModelStore(tmp_path)
    seen = []
    st = store.fetch(_file(url=f"{loopback_url}/w.pt"), progress=lambda d, t: seen.append((d, t)))
    assert st.state == "verified" and (tmp_path / "w.pt").read_bytes() == PAYLOAD
    assert seen[-1] == (len(PAYLOAD), len(PAYLOAD))
    # a wrong declared hash: nothing is stored
    with pytest.raises(ModelDownloadError, match="sha256"):
        store.fetch(_file("v.pt", sha="0" * 64, url=f"{loopback_url}/w.pt"))
    assert not (tmp_path / "v.pt").exists()
    with pytest.raises(ModelDownloadError, match="404"):
        store.fetch(_file("z.pt", url=f"{loopback_url}/missing"))
    with pytest.raises(ModelDownloadError, match="no download URL"):
        store.fetch(_file("z.pt"))
    with pytest.raises(ModelDownloadError, match="scheme"):
        store.fetch(_file("z.pt", url="ftp://127.0.0.1/x"))
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == ["w.pt"]


def test_loaded_model_releases(monkeypatch):
    class Big:
        pass

    released = []
    monkeypatch.setattr(fm_models, "release_memory", lambda: released.append(True))
    refs = []
    with loaded_model(Big) as m:
        refs.append(weakref.ref(m))
        assert isinstance(m, Big)
        del m
    assert released == [True] and refs[0]() is None


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    monkeypatch.setenv("FMBENCH_HOME", str(tmp_path / "home"))
    files = {"w.pt": (_file(url=None), ["metric:tiny"]), "x.pt": (_file("x.pt"), ["embedder:e"])}
    monkeypatch.setattr(fm_models, "registered_model_files", lambda registry=None: files)
    return tmp_path


def test_cli_models_list_add_verify_where(cli_env):
    runner = CliRunner()
    res = runner.invoke(main, ["models", "list", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["root"] == str(cli_env / "home")
    assert {f["name"]: f["state"] for f in data["files"]} == {"w.pt": "missing", "x.pt": "missing"}
    res = runner.invoke(main, ["models", "verify"])
    assert res.exit_code == 1 and "fmbench models add PATH --as w.pt" in res.output
    src = cli_env / "dl.bin"
    src.write_bytes(PAYLOAD)
    res = runner.invoke(main, ["models", "add", str(src), "--as", "w.pt"])
    assert res.exit_code == 0 and "verified" in res.output
    res = runner.invoke(main, ["models", "list"])
    assert "w.pt" in res.output and "verified" in res.output and "MISSING" in res.output
    assert runner.invoke(main, ["models", "verify", "w.pt"]).exit_code == 0
    res = runner.invoke(main, ["models", "where", "x.pt"])
    assert res.stdout.strip() == str(cli_env / "home" / "x.pt")
    bad = cli_env / "bad.bin"
    bad.write_bytes(b"nope")
    res = runner.invoke(main, ["models", "add", str(bad), "--as", "x.pt"])
    assert res.exit_code == 2 and "refusing to add" in res.output and "Traceback" not in res.output


def test_cli_models_fetch(cli_env, loopback_url):
    runner = CliRunner()
    res = runner.invoke(main, ["models", "fetch", "w.pt"])
    assert res.exit_code == 2 and "no download URL" in res.output
    res = runner.invoke(main, ["models", "fetch", "w.pt", "--url", f"{loopback_url}/w.pt"])
    assert res.exit_code == 0, res.output
    assert (cli_env / "home" / "w.pt").read_bytes() == PAYLOAD
    res = runner.invoke(main, ["models", "fetch", "unknown.pt"])
    assert res.exit_code == 2 and "no registered component declares" in res.output


def test_runner_stops_before_work_when_model_files_are_missing(tmp_path, monkeypatch):
    from fmbench.run.runner import RunError, plan_metrics

    monkeypatch.setenv("FMBENCH_HOME", str(tmp_path))
    reg = Registry()
    reg.add(
        ComponentInfo(
            ComponentKind.METRIC,
            "needs_weights",
            lambda **o: None,
            "m",
            direction="higher",
            metric_kind="audio",
            worst=0.0,
            model_files=(_file(),),
        )
    )
    with pytest.raises(RunError, match="needs_weights.*cannot run") as err:
        plan_metrics(reg, ["needs_weights"])
    assert "w.pt" in str(err.value) and str(tmp_path) in str(err.value)
    (tmp_path / "w.pt").write_bytes(PAYLOAD)
    assert [p.spec for p in plan_metrics(reg, ["needs_weights"])] == ["needs_weights"]


# -- declared sources, formats, fetch failures ------------------------------------------


def test_every_registered_model_file_declares_a_valid_url():
    from fmbench.components import url_problem
    from fmbench.modelstore import registered_model_files

    files = registered_model_files()
    assert {"vggish-10086976.pth", "roberta-base", "audiobox-aesthetics-checkpoint.pt"} <= set(
        files
    )
    for name, (file, _) in files.items():
        assert file.url, f"{name} declares no URL"
        assert url_problem(file.url) is None, f"{name}: {file.url!r} {url_problem(file.url)}"
        assert file.url.startswith("https://"), name


@pytest.mark.parametrize(
    "url", ["https://huggingface.co/x (file y.pt)", "https://a.b/\x07x", "ftp://a/b", "https:///x"]
)
def test_prose_or_bad_urls_are_refused_cleanly(tmp_path, url):
    from fmbench.components import url_problem

    assert url_problem(url)
    with pytest.raises(ModelDownloadError, match="refusing to fetch"):
        ModelStore(tmp_path).fetch(_file(url=url))


def test_fetch_without_network_is_a_clean_error(tmp_path, cli_env):
    # nothing listens on port 9 of the loopback interface: the connection is refused
    url = "http://127.0.0.1:9/w.pt"
    with pytest.raises(ModelDownloadError, match="could not download 'w.pt'.*models add"):
        ModelStore(tmp_path / "s").fetch(_file(url=url), timeout=5)
    assert not any((tmp_path / "s").glob("*.part"))
    res = CliRunner().invoke(main, ["models", "fetch", "w.pt", "--url", url, "--timeout", "5"])
    assert res.exit_code == 2 and "could not download" in res.output
    assert "Traceback" not in res.output


def _torch_zip(path: Path) -> None:
    """The layout of torch.save's zip format (an archive holding <name>/data.pkl)."""
    import zipfile

    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", b"\x80\x02}q\x00.")
        z.writestr("archive/version", b"3\n")


def test_text_file_declared_as_checkpoint_is_corrupt(tmp_path):
    store = ModelStore(tmp_path)
    ckpt = ModelFile("vggish-10086976.pth", format="torch")
    (tmp_path / ckpt.name).write_text("this is not a checkpoint\n")
    status = store.verify(ckpt)
    assert status.state == "corrupt" and not status.ok
    assert "not a loadable PyTorch checkpoint" in status.detail
    with pytest.raises(ModelFileError, match="not a loadable PyTorch checkpoint"):
        store.resolve(ckpt)
    _torch_zip(tmp_path / ckpt.name)
    assert store.verify(ckpt).state == "present"
    legacy = fm_models._TORCH_LEGACY_MAGIC + b".rest of a legacy torch file"
    (tmp_path / ckpt.name).write_bytes(legacy)
    assert store.verify(ckpt, hash=False).state == "present"
    # a truncated zip checkpoint is corrupt too
    _torch_zip(tmp_path / "t.pt")
    (tmp_path / ckpt.name).write_bytes((tmp_path / "t.pt").read_bytes()[:-30])
    assert store.verify(ckpt).state == "corrupt"


def test_real_torch_checkpoint_passes_the_format_check(tmp_path):
    torch = pytest.importorskip("torch")
    store = ModelStore(tmp_path)
    ckpt = ModelFile("w.pth", format="torch")
    torch.save({"w": torch.zeros(2)}, tmp_path / ckpt.name)
    assert store.verify(ckpt).state == "present"


def test_folder_entry_must_hold_its_members(tmp_path):
    store = ModelStore(tmp_path)
    tok = ModelFile("roberta-base", members=("vocab.json", "merges.txt"))
    (tmp_path / "roberta-base").mkdir()
    (tmp_path / "roberta-base" / "vocab.json").write_text("{}")
    status = store.verify(tok)
    assert status.state == "corrupt" and "lacks merges.txt" in status.detail
    (tmp_path / "roberta-base" / "merges.txt").write_text("#version: 0.2\n")
    assert store.verify(tok).state == "present"


def test_corrupt_checkpoint_stops_a_run_before_any_work(tmp_path, monkeypatch):
    from fmbench.run.runner import RunError, plan_metrics

    monkeypatch.setenv("FMBENCH_HOME", str(tmp_path))
    reg = Registry()
    ckpt = ModelFile("vggish-10086976.pth", format="torch")
    reg.add(
        ComponentInfo(
            ComponentKind.METRIC,
            "needs_ckpt",
            lambda **o: None,
            "m",
            direction="higher",
            metric_kind="audio",
            worst=0.0,
            model_files=(ckpt,),
        )
    )
    (tmp_path / ckpt.name).write_text("hello\n")
    with pytest.raises(RunError, match=r"(?s)needs_ckpt.*cannot run.*not a loadable PyTorch"):
        plan_metrics(reg, ["needs_ckpt"])


def test_cli_models_list_shows_source_size_sha_and_state(cli_env):
    (cli_env / "home").mkdir()
    (cli_env / "home" / "x.pt").write_bytes(PAYLOAD)
    res = CliRunner().invoke(main, ["models", "list"])
    assert res.exit_code == 0, res.output
    assert "no public URL" in res.output  # w.pt declares none
    assert f"sha256 {SHA}" in res.output and "metric:tiny" in res.output
    assert "verified" in res.output and "MISSING" in res.output


def test_cli_models_verify_reports_corrupt_checkpoint(cli_env, monkeypatch):
    files = {"c.pth": (ModelFile("c.pth", format="torch"), ["embedder:vggish"])}
    monkeypatch.setattr(fm_models, "registered_model_files", lambda registry=None: files)
    (cli_env / "home").mkdir()
    (cli_env / "home" / "c.pth").write_text("a text file\n")
    res = CliRunner().invoke(main, ["models", "verify"])
    assert res.exit_code == 1 and "corrupt" in res.output and "PyTorch" in res.output
    res = CliRunner().invoke(main, ["models", "list"])
    assert "CORRUPT" in res.output and "problem" in res.output


def test_folder_fetch_without_network_names_the_folder(tmp_path):
    tok = ModelFile("tok", url="http://127.0.0.1:9/base/", members=("vocab.json", "merges.txt"))
    with pytest.raises(ModelDownloadError, match=r"vocab\.json.*models add PATH --as tok"):
        ModelStore(tmp_path).fetch(tok, timeout=5)
    assert not [p for p in tmp_path.iterdir() if p.name != ".fmbench-verified"]
