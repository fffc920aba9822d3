"""Every user mistake is refused before any work: through train.py's entry point, exit code
2, exactly one line on stderr naming the bad value and what is allowed, no traceback, no run
folder left behind, and nothing written into an existing run."""

from __future__ import annotations

import contextlib
import io
import re
import runpy
import sys
from pathlib import Path

import pytest
import torch

from zoo import ZooError
from zoo.training.run import train

REPO_ROOT = Path(__file__).resolve().parents[1]

# (overrides, the one line's pattern). A "{ckpt}" in an override is a file the test writes.
CASES = [
    # names
    (["modle=vae"], r"no config key 'modle'; did you mean model\?"),
    (["trainer.max_epoch=3"], r"no config key 'trainer\.max_epoch'; did you mean trainer\.max_"),
    (["model.name=lenett"], r"unknown model 'lenett'\. Did you mean 'lenet5'.*Available: "),
    (["model._target_=does.not.Exist"], r"model\._target_ must be zoo\.create_model .*'does"),
    (["model._target_=zoo.models.mlp"], r"model\._target_ must be zoo\.create_model"),
    (["task._target_=does.not.Exist"], r"task\._target_ 'does\.not\.Exist' cannot be imported"),
    (["task._target_=zoo.create_model"], r"task\._target_ must name a zoo task class"),
    # values of the wrong type or range
    (["optimizer.lr=0"], r"optimizer\.lr must be a finite number > 0, got 0"),
    (["optimizer.lr=-0.1"], r"optimizer\.lr must be a finite number > 0, got -0\.1"),
    (["optimizer.lr=abc"], r"optimizer\.lr must be a finite number > 0, got 'abc'"),
    (["optimizer.lr=inf"], r"optimizer\.lr must be a finite number > 0, got inf"),
    (["optimizer.lr=null"], r"optimizer\.lr must be a finite number > 0, got None"),
    (["optimizer.lr=${{foo}}"], r"optimizer\.lr: Interpolation key 'foo' not found; allowed: "),
    # a callback argument against its annotation (EarlyStopping's patience: int)
    (
        ["callbacks.early_stopping.patience=abc"],
        r"callbacks\.early_stopping\.patience .* must be an integer >= 0, got 'abc'",
    ),
    (  # Literal values: ModelCheckpoint's save_last is bool | Literal["link"] | None
        ["callbacks.model_checkpoint.save_last=maybe"],
        r"save_last must be true or false or 'link', got 'maybe'",
    ),
    (
        ["callbacks.rich_progress_bar.leave=yes"],
        r"callbacks\.rich_progress_bar\.leave must be true or false, got 'yes'",
    ),
    (
        ["callbacks.rich_progress_bar.refresh_rate=-1"],
        r"refresh_rate must be an integer >= 0 .*0 hides the bar.*, got -1",
    ),
    (["trainer.max_epochs=0"], r"trainer\.max_epochs must be an integer >= 1, got 0"),
    (["trainer.max_epochs=abc"], r"trainer\.max_epochs must be an integer >= 1, got 'abc'"),
    (["trainer.max_epochs=1.5"], r"trainer\.max_epochs must be an integer >= 1, got 1\.5"),
    (["data.batch_size=0"], r"data\.batch_size \(.*\) must be an integer >= 1, got 0"),
    (["data.batch_size=2.5"], r"data\.batch_size \(.*\) must be an integer >= 1, got 2\.5"),
    (["seed=-1"], r"seed \(the random seed\) must be an integer >= 0, got -1"),
    (["seed=abc"], r"seed \(the random seed\) must be an integer >= 0, got 'abc'"),
    (["data.image_size=abc"], r"data\.image_size \(.*\) must be an integer >= 1, got 'abc'"),
    (["data.split_seed=-1"], r"data\.split_seed \(.*\) must be an integer >= 0, got -1"),
    (["train=maybe"], r"train must be true or false, got 'maybe'"),
    (
        ["regularization.dropout=1.0", "model=mlp"],
        r"regularization\.dropout must be a number in \[0, 1\), got 1\.0",
    ),
    (["model=mlp", "model.dropout=-0.2"], r"model\.dropout must be a number in \[0, 1\)"),
    (["regularization.norm=group", "model=mlp"], r"regularization\.norm must be one of none"),
    (["regularization.l1=-1"], r"regularization\.l1 must be a number >= 0, got -1"),
    (["regularization.label_smoothing=1.0"], r"label_smoothing must be a number in \[0, 1\)"),
    (["model.num_classes=0"], r"model 'lenet5': num_classes must be an integer >= 1, got 0"),
    (
        ["model=mlp", "model.hidden_sizes=10"],
        r"model 'mlp': hidden_sizes must be a list of integers >= 1 \(e\.g\. \[256,128\]; \[\] for",
    ),
    (["trainer.max_time=abc"], r'trainer\.max_time must be a positive duration "DD:HH:MM:SS"'),
    (["trainer.max_time={{minute:1}}"], r"trainer\.max_time must be .* got \{'minute': 1\}\.$"),
    (["model=mlp", "model.hidden_sizes=[abc]"], r"hidden_sizes must be a .* got \['abc'\]\.$"),
    (["model=mlp", "+model.depth=3"], r"model\.hidden_sizes=null \+model\.depth=3 \+model"),
    # values the optimizer or scheduler would refuse later
    (["optimizer.betas=[2,0.999]"], r"optimizer\.betas must be two numbers in \[0, 1\)"),
    (["optimizer=momentum", "optimizer.momentum=-1"], r"optimizer\.momentum must be a number"),
    (["scheduler=exponential", "scheduler.gamma=-1"], r"scheduler\.gamma must be a number > 0"),
    (["scheduler=step", "scheduler.step_epochs=0"], r"scheduler\.step_epochs must be a number"),
    (["scheduler=plateau", "scheduler.factor=2"], r"scheduler\.factor must be a number in"),
    (["+optimizer.eps=-1"], r"optimizer\.eps must be a number > 0, got -1"),
    # keys nothing reads
    (["+optimizer.lrr=0.1"], r"unknown key 'optimizer\.lrr': torch\.optim\.Adam .*'optimizer\.lr'"),
    (["+optimzer.lr=0.1"], r"unknown key 'optimzer': .*Did you mean 'optimizer'\?"),
    (["+regularization.dropuot=0.3"], r"unknown key 'regularization\.dropuot'.*'regulariza"),
    (["+trainer.max_epoch=3"], r"unknown key 'trainer\.max_epoch'.*'trainer\.max_epochs'"),
    (["+data.batchsize=3"], r"unknown key 'data\.batchsize'.*'data\.batch_size'"),
    (["+model.depth=3"], r"model 'lenet5' has no argument 'depth'; allowed: num_classes"),
    (["+monitor.patience=3"], r"unknown key 'monitor\.patience'"),
    # metrics the task does not log
    (["monitor.metric=val/accuracy"], r"monitor\.metric 'val/accuracy' is not a metric the"),
    (["optimized_metric=test/acc"], r"optimized_metric 'test/acc' is not a metric"),
    (["monitor.mode=maximum"], r"monitor\.mode must be min or max, got 'maximum'"),
    # models and data that do not fit
    (["data=digits_flat"], r"model 'lenet5' takes image inputs, but data=digits_flat gives vector"),
    (["data.image_size=16"], r"model 'lenet5' needs images of at least 32x32 pixels"),
    (
        ["data.target_kind=value"],
        r"learns from class targets, but data=digits gives value targets; model 'lenet5' does "
        r"classification \(e\.g\. data=digits\)\.",
    ),
    (
        ["data.input_kind=tokens"],
        r"model 'lenet5' takes image inputs, but data=digits gives token",
    ),
    (["data.input_kind=pixels"], r"data\.input_kind must be one of image, vector, sequence"),
    (
        ["data=digits_flat", "model=mlp", "augmentation=[rotate]"],
        r"augmentation rotate applies to image data, but the data gives vector inputs",
    ),
    (
        ["data=arrays", "data.path={values_csv}", "data.target_column=y", "model=mlp"],
        r"gives value targets; use task=regression \(or, if its values are class labels, set "
        r"data\.target_kind=class\)\.",
    ),
    # attention and Transformers
    (
        ["model=vit_tiny", "model.in_channels=3"],
        r"model\.in_channels=3 but data=digits gives 1-channel images",
    ),
    (
        ["model=gpt", "data=digits", "task=language_model"],
        r"gives class targets; model 'gpt' does language_model \(e\.g\. data=text\)\.",
    ),
    (["+model.weights=lenet5.digitz"], r"weights"),
    (
        ["model=gpt", "data=text", "task=language_model", "model.block_size=32"],
        r"model 'gpt' takes sequences of at most model\.block_size=32 steps, but data=text "
        r"gives 128; set model\.block_size >= 128 or a shorter data\.window",
    ),
    (
        ["model=transformer", "data=digits_rows", "model.max_len=4"],
        r"model 'transformer' takes sequences of at most model\.max_len=4 steps, but "
        r"data=digits_rows gives 8",
    ),
    (
        ["model=gpt", "data=text", "task=language_model", "model.n_embd=130"],
        r"n_embd=130 is not divisible by n_head=4",
    ),
    (
        ["model=transformer", "data=digits_rows", "model.d_model=30"],
        r"not divisible by num_heads=4",
    ),
    (["model=vit_tiny", "model.patch_size=5"], r"(patch|image).*32.*5|5.*32"),
    (
        ["model=gpt", "data=digits_rows"],
        r"model 'gpt' does not do classification; it does: task=language_model\.",
    ),
    (
        ["model=transformer", "data=copy"],
        r"model 'transformer' gives one output per sequence, but "
        r"data=copy gives one target per step",
    ),
    # sequences and text
    (
        ["model=lstm", "data=sine", "task=regression", "augmentation=[substitute]"],
        r"augmentation substitute applies to tokens data, but the data gives sequence inputs",
    ),
    (
        ["augmentation=[substitute]"],
        r"augmentation substitute applies to tokens data, but the "
        r"data gives image inputs",
    ),
    (
        [
            "model=lstm",
            "data=sine",
            "task=regression",
            "augmentation=[jitter]",
            "augmentation.jitter.sigma=abc",
        ],
        r"jitter sigma must be a number >= 0 .*got 'abc'",
    ),
    (
        ["model=gru", "data=digits", "data.as_sequence=row"],
        r"data\.as_sequence must be one of rows, pixels or null, got 'row'",
    ),
    (
        ["model=lstm", "data=copy", "data.length=abc"],
        r"data\.length \(the sequence length\) must be an integer >= 1, got 'abc'",
    ),
    (["model=lstm", "data=copy", "data.length=2.5"], r"data\.length .* got 2\.5"),
    (
        ["model=lstm", "data=sine", "task=regression", "data.window=24.0"],
        r"data\.window .* must be an integer >= 1, got 24\.0",
    ),
    (
        ["model=lstm", "data=text", "task=language_model", "data.window=12.5"],
        r"data\.window .* got 12\.5",
    ),
    (["model=lstm", "data=sine", "task=regression", "data.horizon=abc"], r"data\.horizon .*'abc'"),
    (
        ["model=lstm"],
        r"model 'lstm' takes sequence or token inputs, but data=digits gives image "
        r"inputs of shape \[1, 32, 32\]; read images as sequences of rows: data=digits_rows, "
        r"or data\.as_sequence=rows augmentation=\[none\] with any image data",
    ),
    (
        ["data=digits_rows"],
        r"model 'lenet5' takes image inputs, but data=digits_rows gives "
        r"sequence inputs of shape \[8, 8\]",
    ),
    (
        ["model=lstm", "data=adding", "task=regression", "data.length=1"],
        r"data\.length must be >= 2 .*got 1",
    ),
    (["model=gru", "data=copy", "data.length=0"], r"data\.length .*got 0"),
    (["model=lstm", "data=sine", "task=regression", "data.window=0"], r"data\.window .*got 0"),
    (
        ["model=lstm", "data=text", "task=language_model", "data.window=0"],
        r"data\.window .*must be an integer >= 1, got 0",
    ),
    (
        ["model=lstm", "data=text", "task=language_model", "data.path={short_text}"],
        r"data\.window=128 is longer than",
    ),
    (
        ["model=lstm", "data=text", "task=language_model", "data.path={empty_text}"],
        r"'.*empty\.txt' is empty",
    ),
    (
        ["model=lstm", "data=text", "task=language_model", "data.path={latin1_text}"],
        r"'.*latin1\.txt' is not UTF-8 text: byte 9 is b'\\xe9'",
    ),
    (
        ["model=lstm", "data=text", "task=language_model", "data.path=/no/such.txt"],
        r"'/no/such\.txt' does not exist",
    ),
    (
        [
            "model=lstm",
            "data=series_csv",
            "task=regression",
            "data.path={series_csv}",
            "data.column=sales",
        ],
        r"column 'sales'.*price",
    ),
    (
        [
            "model=lstm",
            "data=series_csv",
            "task=regression",
            "data.path={series_csv}",
            "data.column=note",
        ],
        r"column 'note' holds 'n/a' on line 9 \(data row 8\), not a number",
    ),
    (
        ["model=lstm", "data=text", "task=language_model", "model.bidirectional=true"],
        r"model 'lstm' is bidirectional: .* cannot be used for language_model; set "
        r"model\.bidirectional=false",
    ),
    (
        ["model=gru", "data=sunspots", "task=regression", "model.bidirectional=true"],
        r"cannot be used for forecasting \(data=sunspots\)",
    ),
    (
        ["model=lstm", "data=sunspots"],
        r"but data=sunspots gives value targets; use task=regression",
    ),
    (["model=lstm", "data=text"], r"data=text gives next_token targets; use task=language_model"),
    (
        ["model=lstm", "data=copy", "model.head=last"],
        r"gives one target per step: set model\.head=all",
    ),
    (
        ["model=lstm", "data=digits_rows", "model.head=all"],
        r"one target per sequence: set model\.head",
    ),
    (
        ["model=lstm", "data=digits_rows", "model.impl=cudnn"],
        r"impl must be one of fast, reference",
    ),
    (
        ["model=lstm", "data=sine", "task=regression", "task.loss=l3"],
        r"task\.loss must be one of mse, mae, huber",
    ),
    (
        ["model=lstm", "data=sine", "task=regression", "augmentation=[rotate]"],
        r"augmentation rotate applies to image data, but the data gives sequence inputs; use "
        r"augmentation=\[none\] or options for sequence data \(jitter, scaling, time_mask\)",
    ),
    (["data=image_folder", "model=mlp"], r"required value not set: data\.root; set it on the"),
    (
        ["data=image_folder", "data.root={empty_folder}"],
        r"data\.root '.*' does not hold images in one sub-folder per class \(it has no sub",
    ),
    # checkpoints
    (["ckpt_path=/no/such/last.ckpt"], r"ckpt_path '/no/such/last\.ckpt' does not exist"),
    (["ckpt_path={folder}"], r"ckpt_path '.*' is a folder, not a checkpoint file\.$"),
    (["ckpt_path={checkpoints}"], r"a folder, not a checkpoint file; did you mean '.*b_run/checkp"),
    (["ckpt_path={text}"], r"'.*notes\.ckpt' is not a checkpoint zoo can read: it is empty"),
    (
        ["scheduler=onecycle", "trainer.max_epochs=8", "ckpt_path={onecycle}"],
        r"onecycle, whose length was fixed at 120 steps \(6 epochs\) .*trainer\.max_epochs=6",
    ),
    (["ckpt_path={empty}"], r"'.*empty\.ckpt' is not a checkpoint zoo can read"),
    (["ckpt_path={objects}"], r"'.*objects\.ckpt' is not a checkpoint zoo can read"),
    (["ckpt_path={mlp}"], r"ckpt_path '.*mlp\.ckpt' holds a 'mlp' model, but the config builds"),
    (["ckpt_path={lenet5}", "model.variant=classic"], r"holds lenet5 built with variant='modern'"),
    (
        ["ckpt_path={lenet5}", "optimizer=sgd"],
        r"was trained with optimizer torch\.optim\.Adam, but",
    ),
    (
        ["ckpt_path={lenet5}", "trainer.max_epochs=3"],
        r"was written in epoch 4, past trainer\.max_epochs=3; to train on, set trainer\."
        r"max_epochs above 4; to test and export it as it is, train=false",
    ),
    (
        ["ckpt_path={lenet5}", "optimizer.lr=0.05"],
        r"resumes its optimizer and schedule as they were, but the config changes optimizer\.lr"
        r"=0\.05 \(it was 0\.002\)",
    ),
    (
        ["ckpt_path={lenet5}", "regularization=[l2]"],
        r"changes regularization\.weight_decay=0\.0005 \(it was 0\.0\)",
    ),
    (["ckpt_path={lenet5}", "scheduler=step"], r"changes scheduler\._target_="),
    (
        ["ckpt_path={lenet5}", "data.batch_size=32"],
        r"changes data\.batch_size=32 \(it was 64\).*steps per epoch the schedule was sized",
    ),
    (
        ["ckpt_path={lenet5}", "+trainer.accumulate_grad_batches=2"],
        r"changes trainer\.accumulate_grad_batches=2 \(it was 1\)",
    ),
    (["model.num_classes=5"], r"model\.num_classes=5 but the data has 10 classes"),
    (
        ["monitor.metric=val/acc"],
        r"monitor\.metric=val/acc is better when higher: set monitor\.mode",
    ),
    # keys added to a group's entry that is not one of its options: nothing would be built
    (
        ["+callbacks.precise_bn.num_samples=10"],
        r"callbacks\.precise_bn has no _target_.*callbacks=\[default,precise_bn\]",
    ),
    (["+logger.tensorboard.name=x"], r"logger\.tensorboard has no _target_.*logger=\[csv,"),
    (
        ["callbacks.precise_bn.num_samples=0", "callbacks=[default,precise_bn]"],
        r"num_samples must be an integer >= 1, got 0",
    ),
    (
        ["callbacks.model_checkpoint.monitor=val/accc"],
        r"callbacks\.model_checkpoint\.monitor 'val/",
    ),
    (["data.val_fraction=0"], r"data\.val_fraction=0 leaves no validation split"),
    (["monitor.metric=null"], r"monitor\.metric=null leaves the best checkpoint nothing to be"),
    (["trainer.devices=0"], r"trainer\.devices must be an integer >= 1, -1 or auto"),
    (["train=false"], r"train=false tests and exports the weights of ckpt_path, which is not"),
    # hardware
    (["trainer=gpu"], r"trainer\.accelerator=gpu needs a CUDA GPU, and none is visible here"),
    (
        ["callbacks.early_stopping.patience=-1"],
        r"callbacks\.early_stopping\.patience .* >= 0, got -1",
    ),
    (["trainer.accelerator=foo"], r"trainer\.accelerator must be one of auto, gpu, cpu, .*'foo'"),
    (["trainer.accelerator=tpu"], r"trainer\.accelerator=tpu is not available on this machine"),
    # autoencoders and GANs
    (["model=dcgan"], r"model 'dcgan' does not do classification; it does: task=gan"),
    (["task=gan"], r"model 'lenet5' does not do gan; it does: task=classification"),
    (["model=vae", "task=autoencoder", "task.noise=gausian"], r"task\.noise must be one of none"),
    (
        ["model=vae", "task=autoencoder", "task.noise=masking", "task.noise_level=1.5"],
        r"task\.noise_level \(a probability\) must be in \[0, 1\], got 1\.5",
    ),
    (["model=vae", "task=autoencoder", "task.beta=-1"], r"task\.beta must be a number >= 0"),
    (["model=vae", "task=autoencoder", "task.loss=l1"], r"task\.loss must be one of mse, bce"),
    (
        ["model=linear_autoencoder", "task=autoencoder", "task.loss=bce"],
        r"task\.loss=bce compares outputs in \[0, 1\].*linear_autoencoder.*use task\.loss=mse",
    ),
    (
        ["model=conv_autoencoder", "task=autoencoder", "model.image_size=28"],
        r"model\.image_size=28 but data=digits gives 32x32 images",
    ),
    (["model=dcgan", "task=gan", "model.latent_dim=0"], r"latent_dim must be an integer >= 1"),
    (
        ["model=dcgan", "task=gan", "regularization=grad_clip"],
        r"regularization\.grad_clip=.*task=gan steps its two optimizers itself",
    ),
    (
        ["model=dcgan", "task=gan", "task.discriminator_steps=0"],
        r"task\.discriminator_steps must be an integer >= 1, got 0",
    ),
    (["model=dcgan", "task=gan", "task.sample_seed=x"], r"task\.sample_seed must be an int"),
    (
        ["model=dcgan", "task=gan", "task.quality_classifier=null"],
        r"task\.quality_classifier=null leaves no val/fid",
    ),
    (
        ["model=vae", "task=autoencoder", "task.noise_level=0.3"],
        r"task\.noise_level=0\.3 with task\.noise=none corrupts nothing",
    ),
    (
        ["model=conv_autoencoder", "task=autoencoder", "task.beta=4"],
        r"task\.beta=4 weighs a variational autoencoder's KL term, but model 'conv_autoencoder'",
    ),
    (
        ["model=dcgan", "task=gan", "data.holdout_classes=3"],
        r"data\.holdout_classes must be a list of class indices, e\.g\. \[3\], got 3",
    ),
    (
        ["model=dcgan", "task=gan", "data.holdout_classes=[12]"],
        r"data\.holdout_classes \[12\] are not all classes of data=digits; it has classes 0 to 9",
    ),
    (
        ["model=dcgan", "task=gan", "data.holdout_classes=abc"],
        r"data\.holdout_classes must be a list of class indices, e\.g\. \[3\], got 'abc'",
    ),
    (
        ["data.holdout_classes=[3]"],
        r"data\.holdout_classes=\[3\] with task=classification: held-out classes are for "
        r"task=autoencoder",
    ),
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


@pytest.mark.parametrize(("overrides", "message"), CASES, ids=[" ".join(c[0]) for c in CASES])
def test_refused_in_one_line_before_any_work(overrides, message, files, tmp_path, monkeypatch):
    overrides = [o.format(**files) for o in overrides]
    run_dir = tmp_path / "run"
    code, stderr = run_entry_point(overrides, run_dir, monkeypatch)
    lines = stderr.strip().splitlines()
    assert code == 2, stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    assert "Traceback" not in stderr and "weights_only" not in stderr
    assert re.search(message, lines[0]), lines[0]
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
    with pytest.raises(
        ZooError, match=r"regularization dropout=0\.5 does not apply to model 'mlp'"
    ):
        train(cfg)


def test_required_values_must_be_set(make_config):
    cfg = make_config("data=image_folder", "model=mlp")
    with pytest.raises(ZooError, match=r"required value not set: data\.root; set it"):
        train(cfg)


def test_a_model_that_does_not_do_the_task_is_refused(make_config, monkeypatch):
    """The registry's task list decides: a model registered for regression only is refused by
    the classification task, before any work."""
    import dataclasses

    from zoo import registry

    info = registry.get_model_info("mlp")
    monkeypatch.setitem(registry._REGISTRY, "mlp", dataclasses.replace(info, tasks=("regression",)))
    cfg = make_config("model=mlp", "data=digits_flat")
    with pytest.raises(
        ZooError, match=r"model 'mlp' does not do classification; it does: task=regression\."
    ):
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
