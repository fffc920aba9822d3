"""Every user mistake is refused before any work, in one line that names the bad key or value.

A row of CASES is a command line's overrides and what its refusal must name: the key, the bad
value, a file, or the setting to change to, as short fragments, never a whole sentence, so
that a message can improve without editing the table. Each row composes its config once, in
this process, as ``python train.py`` does (the ``refusal`` fixture of conftest.py: train.py's
command-line check, then the config and ``zoo.training.run.train`` with Lightning's Trainer made
to fail if built); the tests below the table run train.py itself, for what it adds: exit code
2, one line on stderr after ``error:``, no run folder left behind, nothing written into an
existing run."""

from __future__ import annotations

import contextlib
import io
import runpy
import sys
from pathlib import Path

import pytest
import torch
from conftest import named, names

from zoo import ZooError
from zoo.training.run import train

REPO_ROOT = Path(__file__).resolve().parents[1]

# (overrides, what the one line names). A "{name}" in an override is a file the test writes
# (write_files); a misspelled key or option is refused before Hydra (tests/test_command_line.py).
CASES = [
    # names
    (["model.name=lenett"], ("lenett", "lenet5")),
    (["model._target_=does.not.Exist"], ("model._target_", "does.not.Exist")),
    (["model._target_=zoo.models.mlp"], ("model._target_", "zoo.models.mlp")),
    (["task._target_=does.not.Exist"], ("task._target_", "does.not.Exist")),
    (["task._target_=zoo.create_model"], ("task._target_", "zoo.create_model")),
    # values of the wrong type or range
    (["optimizer.lr=0"], ("optimizer.lr", "got 0")),
    (["optimizer.lr=-0.1"], ("optimizer.lr", "-0.1")),
    (["optimizer.lr=abc"], ("optimizer.lr", "'abc'")),
    (["optimizer.lr=inf"], ("optimizer.lr", "inf")),
    (["optimizer.lr=null"], ("optimizer.lr", "None")),
    (["optimizer.lr=${{foo}}"], ("optimizer.lr", "'foo'")),
    # a callback argument against its annotation (EarlyStopping's patience: int)
    (["callbacks.early_stopping.patience=abc"], ("callbacks.early_stopping.patience", "'abc'")),
    # Literal values: ModelCheckpoint's save_last is bool | Literal["link"] | None
    (
        ["callbacks.model_checkpoint.save_last=maybe"],
        ("callbacks.model_checkpoint.save_last", "'maybe'"),
    ),
    (["callbacks.rich_progress_bar.leave=yes"], ("callbacks.rich_progress_bar.leave", "'yes'")),
    (["callbacks.rich_progress_bar.refresh_rate=-1"], ("refresh_rate", "-1")),
    (["trainer.max_epochs=0"], ("trainer.max_epochs", "got 0")),
    (["trainer.max_epochs=abc"], ("trainer.max_epochs", "'abc'")),
    (["trainer.max_epochs=1.5"], ("trainer.max_epochs", "1.5")),
    (["data.batch_size=0"], ("data.batch_size", "got 0")),
    (["data.batch_size=2.5"], ("data.batch_size", "2.5")),
    (["seed=-1"], ("seed", "-1")),
    (["threads=0"], ("threads", "0")),
    (["curves=maybe"], ("curves", "'maybe'")),
    (["ckpt_path=123"], ("ckpt_path", "123")),
    (["seed=abc"], ("seed", "'abc'")),
    (["data.image_size=abc"], ("data.image_size", "'abc'")),
    (["data.split_seed=-1"], ("data.split_seed", "-1")),
    (["train=maybe"], ("train", "'maybe'")),
    (["regularization.dropout=1.0", "model=mlp"], ("regularization.dropout", "1.0")),
    (["model=mlp", "model.dropout=-0.2"], ("model.dropout", "-0.2")),
    (["regularization.norm=group", "model=mlp"], ("regularization.norm", "'group'")),
    (["regularization.l1=-1"], ("regularization.l1", "-1")),
    (["regularization.label_smoothing=1.0"], ("regularization.label_smoothing", "1.0")),
    (["model.num_classes=0"], ("lenet5", "num_classes", "got 0")),
    (["model=mlp", "model.hidden_sizes=10"], ("mlp", "hidden_sizes", "10")),
    (["trainer.max_time=abc"], ("trainer.max_time", "'abc'")),
    (["trainer.max_time={{minute:1}}"], ("trainer.max_time", "{'minute': 1}")),
    (["model=mlp", "model.hidden_sizes=[abc]"], ("hidden_sizes", "['abc']")),
    # depth is ignored while hidden_sizes is set: the line says how to unset it
    (["model=mlp", "+model.depth=3"], ("model.depth", "model.hidden_sizes=null")),
    # values the optimizer or scheduler would refuse later
    (["optimizer.betas=[2,0.999]"], ("optimizer.betas", "[2, 0.999]")),
    (["optimizer=momentum", "optimizer.momentum=-1"], ("optimizer.momentum", "-1")),
    (["scheduler=exponential", "scheduler.gamma=-1"], ("scheduler.gamma", "-1")),
    (["scheduler=step", "scheduler.step_epochs=0"], ("scheduler.step_epochs", "got 0")),
    (["scheduler=plateau", "scheduler.factor=2"], ("scheduler.factor", "2")),
    (["+optimizer.eps=-1"], ("optimizer.eps", "-1")),
    # keys nothing reads: the key, and the closest one that is read
    (["+optimizer.lrr=0.1"], ("optimizer.lrr", "optimizer.lr")),
    (["+optimzer.lr=0.1"], ("optimzer", "optimizer")),
    (["+regularization.dropuot=0.3"], ("regularization.dropuot", "regularization.dropout")),
    (["+trainer.max_epoch=3"], ("trainer.max_epoch", "trainer.max_epochs")),
    (["+data.batchsize=3"], ("data.batchsize", "data.batch_size")),
    (["+model.depth=3"], ("lenet5", "depth")),
    (["+monitor.patience=3"], ("monitor.patience",)),
    # metrics the task does not log
    (["monitor.metric=val/accuracy"], ("monitor.metric", "val/accuracy")),
    (["optimized_metric=test/acc"], ("optimized_metric", "test/acc")),
    (["monitor.mode=maximum"], ("monitor.mode", "'maximum'")),
    # models and data that do not fit
    (["data=digits_flat"], ("lenet5", "data=digits_flat")),
    (["data.image_size=16"], ("lenet5", "16x16", "data.image_size")),
    (["data.target_kind=value"], ("classification", "value")),
    (["data.input_kind=tokens"], ("lenet5", "tokens")),
    (["data.input_kind=pixels"], ("data.input_kind", "'pixels'")),
    # RGB images into LeNet-5 built for grayscale: the channels, and the value to set
    (
        ["data=cifar10", "model.in_channels=1"],
        ("model.in_channels=1", "3-channel", "model.in_channels=3"),
    ),
    (["data=digits_flat", "model=mlp", "augmentation=[rotate]"], ("rotate", "vector")),
    (
        ["data=arrays", "data.path={values_csv}", "data.target_column=y", "model=mlp"],
        ("data=arrays", "value", "task=regression"),
    ),
    # attention and Transformers
    (["model=vit_tiny", "model.in_channels=3"], ("model.in_channels=3",)),
    (["model=gpt", "data=digits", "task=language_model"], ("language_model", "data=digits")),
    (["+model.weights=lenet5.digitz"], ("lenet5.digitz", "lenet5.digits")),
    (
        ["model=gpt", "data=text", "task=language_model", "model.block_size=32"],
        ("model.block_size=32", "128"),
    ),
    (["model=transformer", "data=digits_rows", "model.max_len=4"], ("model.max_len=4", "8")),
    (
        ["model=gpt", "data=text", "task=language_model", "model.n_embd=130"],
        ("n_embd=130", "n_head=4"),
    ),
    (["model=transformer", "data=digits_rows", "model.d_model=30"], ("d_model=30", "num_heads=4")),
    (["model=vit_tiny", "model.patch_size=5"], ("patch_size=5", "image_size=32")),
    (["model=gpt", "data=digits_rows"], ("gpt", "classification")),
    (["model=transformer", "data=copy"], ("transformer", "data=copy")),
    # sequences and text
    (
        ["model=lstm", "data=sine", "task=regression", "augmentation=[substitute]"],
        ("substitute", "sequence"),
    ),
    (["augmentation=[substitute]"], ("substitute", "image")),
    (
        [
            "model=lstm",
            "data=sine",
            "task=regression",
            "augmentation=[jitter]",
            "augmentation.jitter.sigma=abc",
        ],
        ("jitter", "sigma", "'abc'"),
    ),
    (["model=gru", "data=digits", "data.as_sequence=row"], ("data.as_sequence", "'row'")),
    (["model=lstm", "data=copy", "data.length=abc"], ("data.length", "'abc'")),
    (["model=lstm", "data=copy", "data.length=2.5"], ("data.length", "2.5")),
    (["model=lstm", "data=sine", "task=regression", "data.window=24.0"], ("data.window", "24.0")),
    (
        ["model=lstm", "data=text", "task=language_model", "data.window=12.5"],
        ("data.window", "12.5"),
    ),
    (["model=lstm", "data=sine", "task=regression", "data.horizon=abc"], ("data.horizon", "'abc'")),
    # images read as sequences: the line names the data option that does it
    (["model=lstm"], ("lstm", "data=digits", "data=digits_rows")),
    (["data=digits_rows"], ("lenet5", "data=digits_rows")),
    (["model=lstm", "data=adding", "task=regression", "data.length=1"], ("data.length", "got 1")),
    (["model=gru", "data=copy", "data.length=0"], ("data.length", "got 0")),
    (["model=lstm", "data=sine", "task=regression", "data.window=0"], ("data.window", "got 0")),
    # MNIST-1D: its generation's options, and its sequences are not the MLP's vectors
    (["model=cnn1d", "data=mnist1d", "data.length=-1"], ("data.length", "-1")),
    (["model=cnn1d", "data=mnist1d", "data.train_split=1.5"], ("data.train_split", "1.5")),
    (["model=cnn1d", "data=mnist1d", "data.num_samples=5"], ("data.num_samples", "5")),
    (["model=mlp", "data=mnist1d"], ("mlp", "data=mnist1d")),
    (["model=cnn1d", "data=mnist1d", "model.kernel_sizes=[5,3]"], ("kernel_sizes", "[5, 3]")),
    (
        ["model=lstm", "data=text", "task=language_model", "data.window=0"],
        ("data.window", "got 0"),
    ),
    (
        ["model=lstm", "data=text", "task=language_model", "data.path={short_text}"],
        ("data.window=128",),
    ),
    (
        ["model=lstm", "data=text", "task=language_model", "data.path={empty_text}"],
        ("data.path", "empty.txt"),
    ),
    (
        ["model=lstm", "data=text", "task=language_model", "data.path={latin1_text}"],
        ("data.path", "latin1.txt", r"b'\xe9'"),
    ),
    (
        ["model=lstm", "data=text", "task=language_model", "data.path=/no/such.txt"],
        ("data.path", "/no/such.txt"),
    ),
    (
        [
            "model=lstm",
            "data=series_csv",
            "task=regression",
            "data.path={series_csv}",
            "data.column=sales",
        ],
        ("data.column", "'sales'", "'price'"),
    ),
    (
        [
            "model=lstm",
            "data=series_csv",
            "task=regression",
            "data.path={series_csv}",
            "data.column=note",
        ],
        ("'note'", "'n/a'", "line 9"),
    ),
    (
        ["model=lstm", "data=text", "task=language_model", "model.bidirectional=true"],
        ("lstm", "bidirectional", "language_model"),
    ),
    (
        ["model=gru", "data=sunspots", "task=regression", "model.bidirectional=true"],
        ("gru", "bidirectional", "data=sunspots"),
    ),
    (["model=lstm", "data=sunspots"], ("data=sunspots", "task=regression")),
    (["model=lstm", "data=text"], ("data=text", "task=language_model")),
    (["model=lstm", "data=copy", "model.head=last"], ("model.head=last", "data=copy")),
    (["model=lstm", "data=digits_rows", "model.head=all"], ("model.head=all", "data=digits_rows")),
    (["model=lstm", "data=digits_rows", "model.impl=cudnn"], ("impl", "'cudnn'")),
    (["model=lstm", "data=sine", "task=regression", "task.loss=l3"], ("task.loss", "'l3'")),
    (
        ["model=lstm", "data=sine", "task=regression", "augmentation=[rotate]"],
        ("rotate", "sequence"),
    ),
    (["data=image_folder", "model=mlp"], ("data.root",)),
    (["data=image_folder", "data.root={empty_folder}"], ("data.root", "a_run")),
    # checkpoints
    (["ckpt_path=/no/such/last.ckpt"], ("ckpt_path", "/no/such/last.ckpt")),
    (["ckpt_path={folder}"], ("ckpt_path", "a_run")),
    # a folder of checkpoints: the line names the checkpoint in it
    (["ckpt_path={checkpoints}"], ("ckpt_path", "b_run/checkpoints/last.ckpt")),
    (["ckpt_path={text}"], ("notes.ckpt",)),
    (
        ["scheduler=onecycle", "trainer.max_epochs=8", "ckpt_path={onecycle}"],
        ("scheduler=onecycle", "trainer.max_epochs=6"),
    ),
    (["ckpt_path={empty}"], ("empty.ckpt",)),
    (["ckpt_path={objects}"], ("objects.ckpt",)),
    (["ckpt_path={mlp}"], ("mlp.ckpt", "'mlp'", "'lenet5'")),
    (["ckpt_path={lenet5}", "model.variant=classic"], ("variant='modern'", "variant='classic'")),
    (["ckpt_path={lenet5}", "optimizer=sgd"], ("torch.optim.Adam", "torch.optim.SGD")),
    (["ckpt_path={lenet5}", "trainer.max_epochs=3"], ("epoch 4", "trainer.max_epochs=3")),
    (["ckpt_path={lenet5}", "optimizer.lr=0.05"], ("optimizer.lr=0.05", "0.002")),
    (["ckpt_path={lenet5}", "regularization=[l2]"], ("regularization.weight_decay=0.0005",)),
    (["ckpt_path={lenet5}", "scheduler=step"], ("scheduler._target_",)),
    (["ckpt_path={lenet5}", "data.batch_size=32"], ("data.batch_size=32", "64")),
    (
        ["ckpt_path={lenet5}", "+trainer.accumulate_grad_batches=2"],
        ("trainer.accumulate_grad_batches=2",),
    ),
    (["model.num_classes=5"], ("model.num_classes=5", "10")),
    (["monitor.metric=val/acc"], ("monitor.metric=val/acc", "monitor.mode")),
    # keys added to a group's entry that is not one of its options: nothing would be built
    (
        ["+callbacks.precise_bn.num_samples=10"],
        ("callbacks.precise_bn", "callbacks=[default,precise_bn]"),
    ),
    (["+logger.tensorboard.name=x"], ("logger.tensorboard", "logger=[csv,tensorboard]")),
    (
        ["callbacks.precise_bn.num_samples=0", "callbacks=[default,precise_bn]"],
        ("callbacks.precise_bn.num_samples", "got 0"),
    ),
    (
        ["callbacks.model_checkpoint.monitor=val/accc"],
        ("callbacks.model_checkpoint.monitor", "val/accc"),
    ),
    (["data.val_fraction=0"], ("data.val_fraction=0",)),
    (["monitor.metric=null"], ("monitor.metric=null",)),
    (["trainer.devices=0"], ("trainer.devices", "got 0")),
    (["train=false"], ("train=false", "ckpt_path")),
    # hardware
    (["trainer=gpu"], ("trainer.accelerator=gpu",)),
    (["callbacks.early_stopping.patience=-1"], ("callbacks.early_stopping.patience", "-1")),
    (["trainer.accelerator=foo"], ("trainer.accelerator", "'foo'")),
    (["trainer.accelerator=tpu"], ("trainer.accelerator=tpu",)),
    # autoencoders and GANs
    (["model=dcgan"], ("dcgan", "classification", "task=gan")),
    (["task=gan"], ("lenet5", "gan")),
    (["model=vae", "task=autoencoder", "task.noise=gausian"], ("task.noise", "'gausian'")),
    (
        ["model=vae", "task=autoencoder", "task.noise=masking", "task.noise_level=1.5"],
        ("task.noise_level", "1.5"),
    ),
    (["model=vae", "task=autoencoder", "task.beta=-1"], ("task.beta", "-1")),
    (["model=vae", "task=autoencoder", "task.loss=l1"], ("task.loss", "'l1'")),
    (
        ["model=linear_autoencoder", "task=autoencoder", "task.loss=bce"],
        ("task.loss=bce", "linear_autoencoder"),
    ),
    (
        ["model=conv_autoencoder", "task=autoencoder", "model.image_size=28"],
        ("model.image_size=28",),
    ),
    (["model=dcgan", "task=gan", "model.latent_dim=0"], ("dcgan", "latent_dim", "got 0")),
    (["model=dcgan", "task=gan", "regularization=grad_clip"], ("grad_clip", "task=gan")),
    (
        ["model=dcgan", "task=gan", "task.discriminator_steps=0"],
        ("task.discriminator_steps", "got 0"),
    ),
    (["model=dcgan", "task=gan", "task.sample_seed=x"], ("task.sample_seed", "'x'")),
    (
        ["model=dcgan", "task=gan", "task.quality_classifier=null"],
        ("task.quality_classifier=null",),
    ),
    (
        ["model=vae", "task=autoencoder", "task.noise_level=0.3"],
        ("task.noise_level=0.3", "task.noise=none"),
    ),
    (
        ["model=conv_autoencoder", "task=autoencoder", "task.beta=4"],
        ("task.beta=4", "conv_autoencoder"),
    ),
    (["model=dcgan", "task=gan", "data.holdout_classes=3"], ("data.holdout_classes", "got 3")),
    (["model=dcgan", "task=gan", "data.holdout_classes=[12]"], ("data.holdout_classes", "[12]")),
    (["model=dcgan", "task=gan", "data.holdout_classes=abc"], ("data.holdout_classes", "'abc'")),
    (["data.holdout_classes=[3]"], ("data.holdout_classes=[3]", "task=classification")),
]


class NotPlain:
    """Pickled into a checkpoint, it makes weights_only loading refuse the file."""


def write_files(folder: Path) -> dict[str, str]:
    """The files the ckpt_path cases name."""
    folder.mkdir(parents=True, exist_ok=True)
    from zoo import create_model

    def checkpoint(name: str) -> dict:
        model = create_model(name, **({"in_features": 64} if name == "mlp" else {}))
        state = {f"model.{k}": v for k, v in model.state_dict().items()}
        config = {
            "optimizer": {"_target_": "torch.optim.Adam", "_partial_": True, "lr": 0.002,
                          "betas": [0.9, 0.999]},
            "scheduler": {"_target_": "zoo.tasks.schedulers.cosine", "_partial_": True,
                          "min_lr_ratio": 0.0},
            "regularization": {"weight_decay": 0.0},
            "data": {"batch_size": 64},
        }  # fmt: skip
        zoo = {"model": model.zoo_spec, "config": config}
        return {"state_dict": state, "epoch": 3, "zoo": zoo}  # saved in its 4th epoch

    torch.save(checkpoint("mlp"), folder / "mlp.ckpt")
    onecycle = checkpoint("lenet5")
    onecycle["zoo"]["config"]["scheduler"] = {
        "_target_": "zoo.tasks.schedulers.onecycle", "_partial_": True, "max_lr_ratio": 10.0,
        "pct_start": 0.3,
    }  # fmt: skip
    onecycle["zoo"]["config"]["trainer"] = {"max_epochs": 6}
    onecycle["lr_schedulers"] = [{"total_steps": 120, "last_epoch": 80}]
    torch.save(onecycle, folder / "onecycle.ckpt")
    torch.save(checkpoint("lenet5"), folder / "lenet5.ckpt")
    torch.save({"state_dict": {}, "extra": NotPlain()}, folder / "objects.ckpt")
    (folder / "notes.ckpt").write_text("not a checkpoint\n")
    (folder / "empty.ckpt").write_bytes(b"")
    (folder / "a_run").mkdir(exist_ok=True)
    (folder / "b_run" / "checkpoints").mkdir(parents=True, exist_ok=True)
    torch.save(checkpoint("lenet5"), folder / "b_run" / "checkpoints" / "last.ckpt")
    (folder / "values.csv").write_text(
        "a,b,y\n" + "".join(f"{i},{i % 3},{i * 0.5}\n" for i in range(30))
    )
    (folder / "short.txt").write_text("too short for a window\n", encoding="utf-8")
    (folder / "empty.txt").write_bytes(b"")
    (folder / "latin1.txt").write_bytes("hello caf\u00e9 au lait\n".encode("latin-1"))
    rows = "".join(f"{i},{i * 1.5},{'n/a' if i == 7 else i}\n" for i in range(60))
    (folder / "series.csv").write_text("day,price,note\n" + rows)
    return {
        "values_csv": str(folder / "values.csv"),
        "short_text": str(folder / "short.txt"),
        "empty_text": str(folder / "empty.txt"),
        "latin1_text": str(folder / "latin1.txt"),
        "series_csv": str(folder / "series.csv"),
        "mlp": str(folder / "mlp.ckpt"),
        "lenet5": str(folder / "lenet5.ckpt"),
        "onecycle": str(folder / "onecycle.ckpt"),
        "objects": str(folder / "objects.ckpt"),
        "text": str(folder / "notes.ckpt"),
        "empty": str(folder / "empty.ckpt"),
        "folder": str(folder / "a_run"),
        "empty_folder": str(folder / "a_run"),
        "checkpoints": str(folder / "b_run" / "checkpoints"),
    }


def run_entry_point(overrides: list[str], run_dir: Path, monkeypatch) -> tuple[int, str]:
    """``python train.py *overrides`` in this process: its exit code and stderr."""
    monkeypatch.setattr(sys, "argv", ["train.py", *overrides, f"hydra.run.dir={run_dir}"])
    monkeypatch.delenv("HYDRA_FULL_ERROR", raising=False)
    stderr = io.StringIO()
    code = 0
    with contextlib.redirect_stderr(stderr):
        try:
            runpy.run_path(str(REPO_ROOT / "train.py"), run_name="__main__")
        except SystemExit as exit_:
            code = exit_.code
    return code, stderr.getvalue()


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, str]:
    return write_files(tmp_path_factory.mktemp("files"))


@pytest.mark.parametrize(("overrides", "named"), CASES, ids=[" ".join(c[0]) for c in CASES])
def test_refused_in_one_line_before_any_work(overrides, named, files, refusal, capfd):
    line = refusal(*(o.format(**files) for o in overrides))
    assert line.isprintable(), line  # one line: no line break, no terminal escape
    assert names(line, *named), line
    assert "weights_only" not in line, line  # torch's advice on unpickling, none to a user
    assert capfd.readouterr().err == ""  # the line is all train.py would print


# train.py itself, for one refusal of each kind it turns into its one line: a ZooError, an
# interpolation OmegaConf cannot resolve, a checkpoint torch refuses to unpickle
ENTRY_POINT = [
    (["optimizer.lr=-1"], ("optimizer.lr", "-1")),
    (["optimizer.lr=${{foo}}"], ("optimizer.lr", "'foo'")),
    (["ckpt_path={objects}"], ("objects.ckpt",)),
]


@pytest.mark.parametrize(
    ("overrides", "named"), ENTRY_POINT, ids=[" ".join(c[0]) for c in ENTRY_POINT]
)
def test_train_py_refuses_with_one_line_and_exit_2(overrides, named, files, tmp_path, monkeypatch):
    run_dir = tmp_path / "run"
    code, stderr = run_entry_point([o.format(**files) for o in overrides], run_dir, monkeypatch)
    lines = stderr.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: "), stderr
    assert names(lines[0], *named) and "weights_only" not in lines[0], lines[0]
    assert not run_dir.exists()  # a refused run leaves no folder behind


@pytest.mark.parametrize("devices", ["-1", "auto", "2", "[0,1]"])
def test_every_valid_device_count_passes(make_config, devices):
    from zoo.config.sections import check_values

    check_values(make_config(f"trainer.devices={devices}"))  # trainer=ddp uses -1


def test_a_refused_run_leaves_an_existing_run_as_it_was(files, tmp_path, monkeypatch):
    run_dir = tmp_path / "existing"
    (run_dir / "checkpoints").mkdir(parents=True)
    (run_dir / "checkpoints" / "last.ckpt").write_bytes(b"previous")
    code, _ = run_entry_point(["optimizer.lr=-1"], run_dir, monkeypatch)
    assert code == 2
    assert (run_dir / "checkpoints" / "last.ckpt").read_bytes() == b"previous"


def test_a_new_run_into_a_finished_runs_folder_is_refused(tmp_path, monkeypatch):
    """Training without ckpt_path into a folder that holds checkpoints would overwrite them:
    refused in one line naming the checkpoint to resume from; nothing in it changes."""
    run_dir = tmp_path / "existing"
    (run_dir / "checkpoints").mkdir(parents=True)
    (run_dir / "checkpoints" / "last.ckpt").write_bytes(b"previous")
    (run_dir / "results.json").write_text("{}")
    code, stderr = run_entry_point(["trainer.max_epochs=1"], run_dir, monkeypatch)
    lines = [line for line in stderr.strip().splitlines() if line.startswith("error: ")]
    assert code == 2 and len(lines) == 1, stderr
    assert "already holds a run's checkpoints" in lines[0]
    assert f"ckpt_path={run_dir / 'checkpoints' / 'last.ckpt'}" in lines[0]
    assert (run_dir / "checkpoints" / "last.ckpt").read_bytes() == b"previous"
    assert (run_dir / "results.json").read_text() == "{}"


def test_dropout_on_a_model_without_dropout(make_config, monkeypatch):
    # LeNet-5 has dropout, so use the registry to fake a builder without it.
    cfg = make_config("regularization=dropout", "model=mlp")
    from zoo.models import get_model_info

    info = get_model_info("mlp")
    params = {k: v for k, v in info.parameters.items() if k != "dropout"}
    monkeypatch.setattr(type(info), "parameters", property(lambda self: params))
    with pytest.raises(ZooError, match=named("dropout=0.5", "'mlp'")):
        train(cfg)


def test_a_model_that_does_not_do_the_task_is_refused(make_config, monkeypatch):
    """The registry's task list decides: a model registered for regression only is refused by
    the classification task, before any work."""
    import dataclasses

    from zoo import registry

    info = registry.get_model_info("mlp")
    monkeypatch.setitem(registry._REGISTRY, "mlp", dataclasses.replace(info, tasks=("regression",)))
    cfg = make_config("model=mlp", "data=digits_flat")
    with pytest.raises(ZooError, match=named("'mlp'", "classification", "task=regression")):
        train(cfg)
    assert not Path(cfg.paths.output_dir, "checkpoints").exists()


def test_a_refused_resume_repeats_the_command_line_of_the_checkpoints_run(tmp_path):
    """A checkpoint of another model or other arguments: the refusal gives the command line
    of the run that wrote it (its Hydra record), data included, which the user can repeat."""
    from zoo.config.checks import _trained_with

    run = tmp_path / "run"
    (run / ".hydra").mkdir(parents=True)
    (run / "checkpoints").mkdir()
    checkpoint = run / "checkpoints" / "last.ckpt"
    assert _trained_with(checkpoint) == ""  # no record: nothing to repeat
    (run / ".hydra" / "overrides.yaml").write_text(
        "- model=lenet5\n- data=image_folder\n- data.root=my images\n- ckpt_path=old.ckpt\n"
    )
    assert _trained_with(checkpoint) == (
        " (its run was: python train.py model=lenet5 data=image_folder 'data.root=my images')"
    )
