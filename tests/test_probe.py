"""A probe of bad values (issue 28, items 6-8): every value a config or a command line takes
has its range checked by its owner, every folder a run writes is checked before training, a
name that becomes a path stays inside its folder, data is loaded and checked before the
trainer is built, a size that could never fit in memory is refused before it is allocated,
and every refusal is one line.

The sizes are absurd on purpose (terabytes): were a check to regress, the allocation would
fail at once instead of filling the memory of the machine running the tests."""

from __future__ import annotations

import errno
import io
import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import named
from PIL import Image

from zoo import ZooError, create_model, load_pretrained, save_pretrained

# PIL's pixel limit in these tests: an image over it warns, over twice it is refused
PIXEL_LIMIT = 10_000


def _png(path: Path, size: int, mode: str = "L") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = (np.random.default_rng(0).random((size, size)) * 255).astype("uint8")
    Image.fromarray(pixels).convert(mode).save(path)


def _image_folder(root: Path, classes: list[str], extra: dict[str, bytes | int] | None = None):
    """A folder of 8x8 images in class sub-folders; ``extra`` files by name: bytes, or the
    side of a square image."""
    for name in classes:
        for i in range(5):
            _png(root / name / f"{i}.png", 8)
    for name, content in (extra or {}).items():
        if isinstance(content, int):
            _png(root / name, content)
        else:
            (root / name).write_bytes(content)
    return str(root)


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("probe")
    _png(root / "whole.png", 32)
    whole = (root / "whole.png").read_bytes()
    truncated = whole[: len(whole) // 2]  # its header whole, its pixels cut
    (root / "a_file").write_text("not a folder\n")
    (root / "one_symbol.txt").write_text("a" * 2000)
    found = {
        "file": str(root / "a_file"),
        "one_symbol": str(root / "one_symbol.txt"),
        "one_class": _image_folder(root / "one_class", ["cat"]),
        "corrupt": _image_folder(root / "corrupt", ["a", "b"], {"a/bad.png": b"\x89PNG\r\n"}),
        "truncated": _image_folder(root / "truncated", ["a", "b"], {"a/cut.png": truncated}),
        # over twice the pixel limit PIL refuses an image; over it, PIL only warns
        "bomb": _image_folder(root / "bomb", ["a", "b"], {"a/big.png": 150}),
        "near_bomb": _image_folder(root / "near_bomb", ["a", "b"], {"a/big.png": 110}),
        "escape_class": _image_folder(root / "escape_class", ["c\x1b[2Jat"]),
    }
    for name, cell in (("empty_target", ""), ("nan_target", "nan")):
        rows = ["x1,x2,y", "0.1,0.2,1.5", f"0.3,0.4,{cell}", "0.5,0.6,2.5"]
        (root / f"{name}.csv").write_text("\n".join(rows * 1) + "\n")
        found[name] = str(root / f"{name}.csv")
    return found


SERIES = ["model=lstm", "data=sine", "task=regression"]
REGRESSION = ["model=mlp", "task=regression"]
# (overrides, what the one line says). "{name}" is a file of the ``files`` fixture.
CASES = [
    # Lightning's callbacks: what their constructors refuse, named by section
    (["callbacks.model_checkpoint.save_top_k=-5"], r"^callbacks\.model_checkpoint: .*top_k=-5"),
    (["+callbacks.model_checkpoint.every_n_train_steps=-1"], r"every_n_train_steps=-1\. Must be"),
    (
        ["callbacks.early_stopping.mode=foo", "callbacks.early_stopping.monitor=val/loss"],
        r"^callbacks\.early_stopping: `mode` can be min, max, got foo\.$",
    ),
    (["callbacks.early_stopping.min_delta=-1"], r"min_delta must be a number >= 0, got -1"),
    # the trainer's: those it refuses after printing the devices, mid-fit, or never
    (["trainer.gradient_clip_algorithm=foo"], r"gradient_clip_algorithm must be norm or value"),
    (["trainer.gradient_clip_val=-1"], r"trainer\.gradient_clip_val must be a number >= 0"),
    (["trainer.max_steps=0"], r"max_steps must be -1 \(no limit\) or .*>= 1 .*got 0\.$"),
    (["trainer.max_steps=-5"], r"trainer\.max_steps must be -1 .* got -5"),
    (["+trainer.min_steps=-3"], r"trainer\.min_steps must be an integer >= 0"),
    (["trainer.max_steps=10", "+trainer.min_steps=20"], r"min_steps=20 is more than .*=10"),
    (["trainer.min_epochs=5", "trainer.max_epochs=2"], r"min_epochs=5 is more than .*=2"),
    (["+trainer.limit_train_batches=0"], r"limit_train_batches must be .*\(0 trains nothing\)"),
    (["+trainer.limit_train_batches=1.5"], r"limit_train_batches must be .* got 1\.5"),
    (["+trainer.limit_val_batches=-1"], r"limit_val_batches must be .* got -1"),
    (["+trainer.val_check_interval=0"], r"val_check_interval must be .* got 0"),
    (["+trainer.val_check_interval=100000"], r"=100000 is more than the \d+ training batches"),
    (["+trainer.accumulate_grad_batches=0"], r"accumulate_grad_batches must be an integer >= 1"),
    (["+trainer.num_nodes=0"], r"trainer\.num_nodes must be an integer >= 1, got 0"),
    (["+trainer.num_sanity_val_steps=-5"], r"num_sanity_val_steps must be .* -1 for every"),
    (["+trainer.overfit_batches=-1"], r"trainer\.overfit_batches must be"),
    (["+trainer.fast_dev_run=-1"], r"trainer\.fast_dev_run must be true, false or"),
    (["+trainer.profiler=foo"], r"trainer\.profiler must be simple, advanced, pytorch, xla"),
    (["+trainer.strategy=fsdpp"], r"unknown trainer\.strategy .fsdpp.\. Did you mean .fsdp."),
    (["seed=5000000000"], r"seed \(the random seed\) must be an integer from 0 to 4294967295"),
    (["data.split_seed=5000000000"], r"data\.split_seed .* from 0 to 4294967295"),
    # names that become paths stay inside their folder; folders written are writable
    (["logger.csv.name=../../../../tmp/x"], r"logger\.csv\.name='\.\./.*' would write outside"),
    (["logger.csv.name=/tmp/x"], r"logger\.csv\.name='/tmp/x' would write outside"),
    (["logger.csv.version=../v"], r"logger\.csv\.version='\.\./v' would write outside"),
    (["logger=tensorboard", "logger.tensorboard.name=../tb"], r"logger\.tensorboard\.name="),
    (["callbacks.model_checkpoint.filename=../../x"], r"model_checkpoint\.filename='\.\./\.\./x'"),
    (["callbacks.model_checkpoint.dirpath={file}/ck"], r"dirpath '.*a_file/ck' cannot be written"),
    (["logger.csv.save_dir={file}/logs"], r"logger\.csv\.save_dir '.*' cannot be written"),
    (["trainer.default_root_dir={file}/x"], r"trainer\.default_root_dir '.*' cannot be written"),
    # sizes that could never fit in memory, refused before they are allocated
    (
        ["model=mlp", "data=digits_flat", "model.hidden_sizes=[1000000000000]"],
        r"^model 'mlp' with hidden_sizes=\[1000000000000\] would take .* TB of memory, more "
        r"than this machine's .*; lower hidden_sizes\.$",
    ),
    (["data.image_size=1000000"], r"^model 'lenet5' with input_size=1000000 would take"),
    (["model=resnet20", "data.image_size=1000000"], r"^data=digits with data\.image_size=1000000"),
    (
        ["model=lstm", "data=sine", "task=regression", "data.length=1000000000000"],
        r"^data=sine with data\.length=1000000000000, data\.window=48 would take",
    ),
    (
        ["model=lstm", "data=adding", "task=regression", "data.num_samples=1000000000000"],
        r"^data=adding with data\.num_samples=1000000000000, data\.length=100 would take",
    ),
    (["model=gru", "data=copy", "data.num_samples=1000000000000"], r"^data=copy with data\.num"),
    # data checked before the trainer is built
    (
        ["model=gpt", "data=text", "task=language_model", "data.path={one_symbol}"],
        r"one_symbol\.txt' is one character, 'a', repeated: .*at least 2 distinct characters",
    ),
    (["data.root={one_class}"], r"has 1 class folder \(cat\); classification needs at least 2"),
    (["data.root={corrupt}"], r"^cannot read image .*bad\.png: "),
    (["data.root={truncated}"], r"^cannot read image .*cut\.png: image file is truncated"),
    (["data.root={bomb}"], r"^cannot read image .*big\.png: it has 22,500 pixels, more than the"),
    (["data.root={near_bomb}"], r"^cannot read image .*big\.png: it has 12,100 pixels"),
    # a control character in a name is shown escaped
    (["data.root={escape_class}"], r"class folder \(c\\x1b\[2Jat\)"),
    # missing regression targets: refused as the data is read, naming the column and line
    (
        ["data=arrays", "data.path={empty_target}", "data.target_column=y", *REGRESSION],
        r"target column 'y' line 3 holds '', a missing value",
    ),
    (
        ["data=arrays", "data.path={nan_target}", "data.target_column=y", *REGRESSION],
        r"target column 'y' line 3 holds 'nan', a missing value",
    ),
    (["ckpt_path="], r"^ckpt_path is empty"),
    # augmentation values bounded by the data they apply to, refused before training
    (["augmentation=crop", "augmentation.crop.padding=1000000"], r"crop: .*padding .*1000000"),
    (
        [*SERIES, "augmentation=time_mask", "augmentation.time_mask.num_masks=1000000000"],
        r"time_mask num_masks must be at most the sequence length .*got 1000000000",
    ),
    ([*SERIES, "augmentation=jitter", "augmentation.jitter.sigma=inf"], r"jitter sigma .*inf"),
    ([*SERIES, "augmentation=scaling", "augmentation.scaling.sigma=1e300"], r"sigma .*1e\+300"),
    ([*SERIES, "augmentation=time_mask", "augmentation.time_mask.value=abc"], r"value .*'abc'"),
    (["augmentation=rotate", "augmentation.rotate.degrees=1e300"], r"degrees .*1e\+300"),
    (["augmentation=color", "augmentation.color.brightness=1e300"], r"brightness .*1e\+300"),
    (["augmentation=erasing", "+augmentation.erasing.ratio=[0.3,1000]"], r"ratio .*1000"),
    (["+augmentation.digits.scale=[0.0001,1.0]"], r"digits: RandomAffine scale .*0\.0001"),
    (["augmentation=crop", "augmentation.crop.size=[100,100]"], r"crop: .*size \[100, 100\]"),
    (
        ["task=autoencoder", "model=autoencoder", "task.noise=gaussian", "task.noise_level=inf"],
        r"task\.noise_level .* got inf",
    ),
    # Lightning's and torch's arguments: ranges and types they check late, or never
    (
        ["+callbacks.summary={{_target_:lightning.pytorch.callbacks.ModelSummary,max_depth:-5}}"],
        r"callbacks\.summary\.max_depth must be -1 .* got -5",
    ),
    (["logger=tensorboard", "+logger.tensorboard.flush_secs=abc"], r"flush_secs must be .*'abc'"),
    (["optimizer=adam", "+optimizer.amsgrad=flase"], r"optimizer\.amsgrad must be true or false"),
    (["optimizer=rmsprop", "+optimizer.centered=3"], r"optimizer\.centered must be .*got 3"),
    (["optimizer=sgd", "+optimizer.dampening=-1"], r"optimizer\.dampening must be .*>= 0.*-1"),
]
IMAGE_FOLDER = ["data=image_folder", "data.image_size=32", "data.channels=1"]


@pytest.mark.parametrize(("overrides", "message"), CASES, ids=[" ".join(c[0]) for c in CASES])
def test_refused_in_one_line_before_the_trainer_is_built(
    overrides, message, files, refusal, monkeypatch
):
    """In-process, as train.py runs it (train.py prints the refusal as its one line and exits
    with 2): the refusal comes before Lightning's Trainer exists, so before it prints the
    devices it found, and before any training (conftest.py's ``refusal``)."""
    overrides = [o.format(**files) for o in overrides]
    if any(o.startswith("data.root=") for o in overrides):
        overrides = IMAGE_FOLDER + overrides
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", PIXEL_LIMIT)
    line = refusal("trainer.max_epochs=1", *overrides)
    assert line.isprintable() and re.search(message, line), line


@pytest.mark.parametrize(
    "overrides",
    [
        ["trainer.max_steps=-1"],
        ["trainer.max_steps=10", "+trainer.min_steps=5"],
        ["+trainer.limit_train_batches=0.5", "+trainer.limit_val_batches=0"],
        ["+trainer.limit_train_batches=3", "+trainer.val_check_interval=0.5"],
        ["+trainer.val_check_interval=2", "+trainer.num_sanity_val_steps=-1"],
        ["+trainer.fast_dev_run=3", "trainer.gradient_clip_algorithm=value"],
        ["+trainer.overfit_batches=0.1", "+trainer.accumulate_grad_batches=2"],
        ["logger.csv.name=metrics/csv", "logger.csv.version=v1"],
        ["callbacks.model_checkpoint.filename='ckpt/{epoch}'"],
    ],
)
def test_what_lightning_takes_passes(overrides, make_config):
    from zoo.config.checks import check_config

    check_config(make_config(*overrides))


def test_data_loaded_before_the_trainer_still_goes_to_the_trainers_device():
    """zoo.training.run loads the data before the trainer exists; the trainer's own setup calls then
    move it to the training device, as when it was first loaded there ("meta" stands in for
    a GPU)."""
    from types import SimpleNamespace

    from zoo.data.digits import DigitsDataModule
    from zoo.data.text import CharTextDataModule

    trainer = SimpleNamespace(strategy=SimpleNamespace(root_device=torch.device("meta")))
    digits, text = DigitsDataModule(on_device="always"), CharTextDataModule(on_device="always")
    for data in (digits, text):
        data.setup("fit")  # as zoo.training.run does, without a trainer
        data.trainer = trainer
        data.setup("fit")  # as the trainer does
    assert digits.splits["train"][0].device.type == "meta"
    assert text.split_ids["train"].device.type == "meta"


def test_a_model_too_large_for_memory_is_refused_before_it_is_allocated(tmp_path):
    """A config.json whose latent_dim makes terabytes of weights: load_pretrained refuses it
    in one line naming the argument, before anything is allocated (and create_model too)."""
    folder = save_pretrained(create_model("vae", image_size=32, latent_dim=4), tmp_path / "vae")
    config = json.loads((folder / "config.json").read_text())
    config["model"]["kwargs"]["latent_dim"] = 2_000_000_000_000
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ZooError, match=named("'vae'", "latent_dim=2000000000000")) as refused:
        load_pretrained(folder)
    assert "\n" not in str(refused.value)
    with pytest.raises(ZooError, match=named("'gpt'", "n_embd=1000000")):
        create_model("gpt", vocab_size=10, n_embd=1_000_000, n_head=1)


def test_counting_the_parameters_first_changes_no_weight():
    """The size is counted on a model built on the meta device: the random weights drawn
    for the model itself are those drawn without the count."""
    from zoo.models import get_model_info

    for name in ("lenet5", "gpt", "vit_tiny"):
        torch.manual_seed(0)
        counted = create_model(name).state_dict()
        torch.manual_seed(0)
        plain = get_model_info(name).raw_builder().state_dict()
        assert all(torch.equal(counted[k], plain[k]) for k in plain), name


# -- the commands ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def models(tmp_path_factory, files) -> dict[str, str]:
    root = tmp_path_factory.mktemp("models")
    torch.manual_seed(0)
    vocab = sorted(set("abcdefgh \n"))
    gpt = create_model("gpt", vocab_size=len(vocab), n_layer=1, n_head=1, n_embd=8, block_size=16)
    save_pretrained(gpt, root / "lm", data={"vocab": vocab})
    save_pretrained(create_model("dcgan", image_size=32, latent_dim=8, width=4), root / "gan")
    shutil.copy(Path(files["bomb"]) / "a" / "big.png", root / "big.png")
    (root / "cut.png").write_bytes(Path(files["truncated"], "a", "cut.png").read_bytes())
    _png(root / "digit.png", 8)
    (root / "folder.csv").mkdir()
    return {"lm": str(root / "lm"), "gan": str(root / "gan"), "root": str(root)}


UNWRITABLE = "/proc/zoo-probe"  # no file can be made there, not even by root

COMMANDS = [
    # argparse's own mistakes: one line, not the usage and then the error
    ("generate", ["{lm}", "--length", "abc"], r"^error: python -m zoo\.generate: argument --le"),
    ("generate", [], r"^error: python -m zoo\.generate: the following arguments are required"),
    ("sample", ["{gan}", "--n", "x"], r"^error: python -m zoo\.sample: argument --n: invalid"),
    ("predict", [], r"^error: python -m zoo\.predict: the following arguments are required"),
    ("autoencode", ["latents"], r"^error: python -m zoo\.autoencode latents: the following"),
    ("autoencode", ["bogus"], r"^error: python -m zoo\.autoencode: argument SUBCOMMAND"),
    # ranges
    ("generate", ["{lm}", "--length", "1000000000"], r"length must be at most 100000, got 1000"),
    ("generate", ["{lm}", "--temperature", "inf"], r"temperature must be > 0, got inf"),
    ("generate", ["{lm}", "--seed", "-1"], r"seed must be an integer from 0 to 1844674407"),
    ("generate", ["{lm}", "--seed", str(2**70)], r"seed must be an integer from 0 to"),
    ("sample", ["{gan}", "--seed", str(2**70)], r"seed must be an integer from 0 to"),
    ("autoencode", ["denoise", "{root}", "--seed", str(2**70)], r"--seed must be an integer"),
    ("autoencode", ["denoise", "{root}", "--seed", "-5"], r"--seed must be an integer"),
    # files written, checked before the work
    ("sample", ["{gan}", "--out", UNWRITABLE + "/x.png"], r"--out's folder '/proc/zoo-probe'"),
    ("sample", ["{gan}", "--individual", UNWRITABLE], r"--individual '/proc/zoo-probe' cannot be"),
    ("autoencode", ["latents", "{root}", "--out", UNWRITABLE + "/c.csv"], r"--out's folder"),
    ("autoencode", ["anomaly", "{root}", "--out", UNWRITABLE + "/s.csv"], r"--out's folder"),
    ("autoencode", ["denoise", "{root}", "--out", UNWRITABLE + "/d.png"], r"--out's folder"),
    ("autoencode", ["latents", "{root}", "--out", "{root}/folder.csv"], r"folder\.csv' is a fo"),
    ("autoencode", ["latents", "{root}", "--out", "{root}/digit.png/c.csv"], r"digit\.png', which"),
    # files read
    ("predict", ["lenet5.digits", "{root}/big.png"], r"big\.png': it has 22,500 pixels"),
    ("predict", ["lenet5.digits", "{root}/cut.png"], r"cut\.png': image file is truncated"),
]


def _main(command: str):
    import importlib

    return importlib.import_module(f"zoo.{command}").main


@pytest.mark.parametrize(
    ("command", "argv", "message"), COMMANDS, ids=[" ".join([c[0], *c[1]]) for c in COMMANDS]
)
def test_a_command_refuses_in_one_line(
    command, argv, message, models, tmp_path, capsys, monkeypatch
):
    if UNWRITABLE in " ".join(argv) and not Path("/proc").is_dir():
        pytest.skip("needs /proc, where no file can be created")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", PIXEL_LIMIT)
    monkeypatch.chdir(tmp_path)  # zoo.apps.sample's default --out
    try:
        code = _main(command)([a.format(**models) for a in argv])
    except SystemExit as exit_:
        code = exit_.code
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: "), err
    assert re.search(message, lines[0]), lines[0]
    assert not any(tmp_path.iterdir())  # nothing was written


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root writes into read-only folders"
)
def test_sample_into_a_read_only_folder_is_refused_before_the_work(models, tmp_path, capsys):
    from zoo.apps.sample import main

    folder = tmp_path / "read_only"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        code = main([models["gan"], "--out", str(folder / "x.png")])
    finally:
        folder.chmod(0o755)
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "cannot be written" in lines[0], lines


def test_a_temperature_near_zero_is_greedy_decoding(models):
    """A temperature so small that the logits divided by it overflow (1e-300, the smallest
    float) gave NaN probabilities and a traceback; it is greedy decoding, as --top-k 1."""
    from zoo.apps.generate import generate_text, load_for_generation

    model = load_for_generation(models["lm"])
    greedy = generate_text(model, "ab", 20, top_k=1)
    for temperature in (1e-300, 5e-324, 1e-40):
        assert generate_text(model, "ab", 20, temperature=temperature, seed=0) == greedy


def _no_space(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


class _FullStdout(io.StringIO):
    """A standard output on a full disk (``> /dev/full``)."""

    write = flush = _no_space


NO_SPACE = r"\(No space left on device, ENOSPC\)"
# (command, arguments, what fails, the one line): exit 74, as train.py's failed writes
WRITE_FAILURES = [
    ("generate", ["{lm}", "--length", "5"], "stdout", r"standard output could not be written"),
    ("predict", ["lenet5.digits", "{root}/digit.png"], "stdout", r"standard output could not"),
    ("sample", ["{gan}", "--out", "s.png"], "image", r"writing --out 's\.png' failed"),
    ("autoencode", ["latents", "{root}", "--out", "c.npy"], "numpy", r"writing --out 'c\.npy'"),
]


@pytest.mark.parametrize(
    ("command", "argv", "failing", "message"),
    WRITE_FAILURES,
    ids=[" ".join([c[0], c[2]]) for c in WRITE_FAILURES],
)
def test_a_full_disk_is_one_line_and_exit_74(
    command, argv, failing, message, models, tmp_path, capsys, monkeypatch
):
    from types import SimpleNamespace

    import torchvision.utils

    from zoo.apps import autoencode
    from zoo.apps.command import run_command

    monkeypatch.chdir(tmp_path)
    if failing == "stdout":
        monkeypatch.setattr("sys.stdout", _FullStdout())
    elif failing == "image":
        monkeypatch.setattr(torchvision.utils, "save_image", _no_space)
    else:  # an autoencoder's codes, written by numpy on a full disk
        run = SimpleNamespace(model_name="autoencoder", class_names=None)
        monkeypatch.setattr(autoencode, "load_run", lambda source: run)
        codes = (np.zeros((3, 2), dtype=np.float32), np.zeros(3, dtype=np.int64))
        monkeypatch.setattr(autoencode, "encode_split", lambda run, split: codes)
        monkeypatch.setattr(np, "save", _no_space)
    main = _main(command)
    with pytest.raises(SystemExit) as exit_:
        run_command(lambda: main([a.format(**models) for a in argv]))
    lines = capsys.readouterr().err.strip().splitlines()
    assert exit_.value.code == 74 and len(lines) == 1 and lines[0].startswith("error: "), lines
    assert re.search(message, lines[0]) and re.search(NO_SPACE, lines[0]), lines[0]
    assert models["root"] not in lines[0]  # the run or model folder is not blamed


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["hydra.job_logging.handlers.file.filename=" + UNWRITABLE + "/train.log"],
            r"handlers\.file\.filename='/proc/zoo-probe/train\.log': the log file cannot be",
        ),
        (["hydra.job_logging.handlers.file.filename={file}/train.log"], r"cannot be written"),
        (["hydra.run.dir=" + UNWRITABLE + "/\x1b[31mx"], r"zoo-probe/\\x1b\[31mx"),
    ],
)
def test_the_command_line_refuses_in_one_line_before_hydra(arguments, message, files):
    """train.py's command line, checked before Hydra opens its log file (a log file that
    cannot be written was Hydra's traceback) or makes the run folder."""
    from zoo.config.command_line import check_command_line

    if not Path("/proc").is_dir():
        pytest.skip("needs /proc, where no file can be created")
    configs = Path(__file__).resolve().parents[1] / "configs"
    with pytest.raises(ZooError) as refused:
        check_command_line([a.format(**files) for a in arguments], configs)
    line = str(refused.value)
    assert line.isprintable() and re.search(message, line), line
