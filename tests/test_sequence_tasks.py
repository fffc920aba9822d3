"""The sequence tasks: every recurrent model trains through train.py on each task it
supports; regression metrics are in the data's original units; a language model's state is
carried across windows; generation samples from a trained run folder."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import lightning as L
import pytest
import torch
import torch.nn.functional as F
from conftest import named
from sklearn.metrics import mean_absolute_error, mean_squared_error

from zoo import ZooError, create_model
from zoo.apps.generate import generate, generate_text, load_for_generation
from zoo.data import CharTextDataModule, SineDataModule
from zoo.tasks.language_model import LanguageModelTask
from zoo.tasks.regression import RegressionTask
from zoo.training.run import train

REPO_ROOT = Path(__file__).resolve().parents[1]
FAST = ["debug=fdr", "data.batch_size=8", "data.eval_batch_size=8"]
SMALL_TEXT = ["data.max_chars=20000", "data.window=16"]
# (data, task, extra overrides): every task kind a recurrent model serves.
TASKS = {
    "rows": ("digits_rows", "classification", []),
    "copy": ("copy", "classification", ["data.length=5", "data.num_samples=200"]),
    "adding": ("adding", "regression", ["data.length=10", "data.num_samples=200"]),
    "sunspots": ("sunspots", "regression", []),
    "text": ("text", "language_model", SMALL_TEXT),
}


def sgd(params):
    return torch.optim.SGD(params, lr=0.1)


@pytest.mark.parametrize("model", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("task", ["rows", "adding", "text"])
def test_every_recurrent_model_trains_on_every_task_kind(make_config, model, task):
    data, kind, extra = TASKS[task]
    metrics = train(make_config(*FAST, f"model={model}", f"data={data}", f"task={kind}", *extra))
    assert math.isfinite(metrics["test/loss"])


@pytest.mark.parametrize(
    "model, task, extra",
    [
        ("gru", "copy", []),
        ("lstm", "sunspots", ["task.loss=huber"]),
        ("rnn", "sunspots", ["task.loss=mae", "model.nonlinearity=relu"]),
        ("lstm", "rows", ["model.impl=reference", "model.bidirectional=true", "model.head=mean"]),
        ("gru", "text", ["model.impl=reference", "model.num_layers=2", "data.sampling=random"]),
        ("transformer", "rows", ["model.pooling=mean", "model.norm_first=false"]),
        ("transformer", "adding", ["model.positional=learned"]),
        ("transformer", "sunspots", []),
        ("gpt", "text", ["data.sampling=random", "model.n_layer=1"]),
        ("gpt", "text", ["model.impl=reference", "model.n_layer=1"]),
    ],
)
def test_the_options_of_the_sequence_tasks_train(make_config, model, task, extra):
    data, kind, data_extra = TASKS[task]
    overrides = [*FAST, f"model={model}", f"data={data}", f"task={kind}", *data_extra, *extra]
    metrics = train(make_config(*overrides))
    assert math.isfinite(metrics["test/loss"])


def test_regression_metrics_are_in_the_series_units_beside_the_naive_forecast():
    torch.manual_seed(0)
    data = SineDataModule(length=400, window=12, batch_size=32)
    model = create_model("gru", input_size=1, num_classes=1, hidden_size=8)
    task = RegressionTask(model, sgd)
    trainer = L.Trainer(logger=False, enable_progress_bar=False, enable_model_summary=False)
    (metrics,) = trainer.test(task, datamodule=data, verbose=False)
    inputs, targets = data.splits["test"]
    # data.window_norm="revin": each window less its mean, over its std (RevIN), and back
    window_mean = inputs.mean(1, keepdim=True)  # (N, 1, 1)
    window_std = (inputs.var(1, unbiased=False, keepdim=True) + 1e-5).sqrt()
    with torch.no_grad():
        normalized = model((inputs - window_mean) / window_std)
        predictions = normalized * window_std[:, :, 0] + window_mean[:, :, 0]
    # an independent computation: undo the scaling by hand, errors by scikit-learn
    mean, std = data.target_mean, data.target_std
    truth = (targets * std + mean).numpy().ravel()
    predicted = (predictions * std + mean).numpy().ravel()
    naive = (inputs[:, -1, 0] * std + mean).numpy()
    classical = (data.classical_forecasts()["test"] * std + mean).numpy().ravel()
    assert metrics["test/mse"] == pytest.approx(mean_squared_error(truth, predicted), rel=1e-4)
    assert metrics["test/mae"] == pytest.approx(mean_absolute_error(truth, predicted), rel=1e-4)
    assert metrics["test/naive_mse"] == pytest.approx(mean_squared_error(truth, naive), rel=1e-4)
    assert metrics["test/classical_mse"] == pytest.approx(
        mean_squared_error(truth, classical), rel=1e-4
    )
    assert metrics["test/classical_mae"] == pytest.approx(
        mean_absolute_error(truth, classical), rel=1e-4
    )
    assert metrics["test/loss"] == pytest.approx(F.mse_loss(predictions, targets).item(), rel=1e-4)


def small_text_module(**kwargs) -> CharTextDataModule:
    return CharTextDataModule(max_chars=20000, window=16, batch_size=4, **kwargs)


def test_evaluation_carries_the_state_over_the_whole_split():
    """With one stream, the validation loss over windows with the state carried equals the
    loss of one pass over the whole validation text."""
    torch.manual_seed(0)
    data = small_text_module(eval_batch_size=1)
    data.setup("validate")
    vocab = data.vocab_size
    model = create_model("lstm", vocab_size=vocab, num_classes=vocab, hidden_size=16, head="all")
    task = LanguageModelTask(model, sgd)
    trainer = L.Trainer(logger=False, enable_progress_bar=False, enable_model_summary=False)
    (metrics,) = trainer.validate(task, datamodule=data, verbose=False)
    ids = data.split_ids["val"]
    with torch.no_grad():
        logits = model(ids[:-1].unsqueeze(0))[0]  # (T, V)
    whole = F.cross_entropy(logits, ids[1:]).item()
    assert metrics["val/loss"] == pytest.approx(whole, rel=1e-5)
    assert metrics["val/ppl"] == pytest.approx(math.exp(whole), rel=1e-5)
    assert metrics["val/bpc"] == pytest.approx(whole / math.log(2), rel=1e-5)


def test_training_carries_a_detached_state_between_windows():
    torch.manual_seed(0)
    data = small_text_module()
    data.setup("fit")
    vocab = data.vocab_size
    model = create_model("gru", vocab_size=vocab, num_classes=vocab, hidden_size=8, head="all")
    task = LanguageModelTask(model, sgd)
    trainer = L.Trainer(
        max_steps=2, logger=False, enable_progress_bar=False, enable_model_summary=False,
        enable_checkpointing=False, limit_val_batches=0,
    )  # fmt: skip
    seen = []
    original = model.forward

    def spy(x, *args, state=None, **kwargs):
        seen.append(state)
        return original(x, *args, state=state, **kwargs)

    model.forward = spy
    trainer.fit(task, datamodule=data)
    assert seen[0] is None and seen[1] is not None
    assert not seen[1].requires_grad and seen[1].shape == (1, 4, 8)


def test_random_windows_do_not_carry_the_state():
    data = small_text_module(sampling="random")
    data.setup("fit")
    vocab = data.vocab_size
    model = create_model("lstm", vocab_size=vocab, num_classes=vocab, hidden_size=8, head="all")
    task = LanguageModelTask(model, sgd)
    task.trainer = L.Trainer(logger=False)
    task.trainer.datamodule = data  # as fit() would set it
    assert not task.carries_state("train") and task.carries_state("val")


# -- generation ---------------------------------------------------------------------------------
def tiny_language_model(cell: str = "lstm") -> torch.nn.Module:
    torch.manual_seed(0)
    return create_model(cell, vocab_size=11, num_classes=11, hidden_size=16, head="all").eval()


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_greedy_generation_with_the_state_equals_rereading_the_context(cell):
    model = tiny_language_model(cell)
    prompt = torch.tensor([[1, 2, 3, 4]])
    carried = generate(model, prompt, 12, top_k=1)
    context = prompt
    with torch.no_grad():
        for _ in range(12):
            best = model(context)[:, -1].argmax(dim=-1, keepdim=True)
            context = torch.cat([context, best], dim=1)
    torch.testing.assert_close(carried, context[:, 4:], rtol=0, atol=0)


def test_sampling_is_reproducible_from_the_seed_and_respects_top_k():
    model = tiny_language_model()
    prompt = torch.tensor([[1, 2]])

    def draw(seed, **kwargs):
        return generate(model, prompt, 50, generator=torch.Generator().manual_seed(seed), **kwargs)

    torch.testing.assert_close(draw(0), draw(0), rtol=0, atol=0)
    assert not torch.equal(draw(0), draw(1))
    # with top_k=2 every token is one of the two most probable at its step
    tokens = draw(0, top_k=2)
    context = torch.cat([prompt, tokens], dim=1)
    with torch.no_grad():
        logits = model(context[:, :-1])[0, 1:]  # the logits that chose each new token
    top2 = logits.topk(2, dim=-1).indices
    assert all(t in row for t, row in zip(tokens[0].tolist(), top2.tolist()))


@pytest.mark.parametrize(
    "kwargs, fragments",
    [
        ({"length": 0}, ("length", ">= 1", "0")),
        ({"length": 5, "temperature": 0.0}, ("temperature", "> 0", "0.0")),
        ({"length": 5, "top_k": 0}, ("top-k", ">= 1", "0")),
    ],
)
def test_bad_sampling_values_are_refused(kwargs, fragments):
    with pytest.raises(ZooError, match=named(*fragments)):
        generate(tiny_language_model(), torch.tensor([[1]]), **kwargs)


def run_module(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, cwd=cwd, timeout=300
    )


# 17 s: with `pytest -m slow` (the suite stays under 5 minutes); generation from a run
# folder's exported vocabulary runs in every suite, in-process, through the GPT test below
@pytest.mark.slow
def test_generate_from_a_trained_run_folder(tmp_path, capsys):
    """Train a character LSTM on a text file by path, then sample from its run folder with
    nothing but the folder: the vocabulary travels in the exported config.json."""
    text = tmp_path / "poem.txt"
    text.write_text("the cat sat on the mat. " * 400, encoding="utf-8")
    run_dir = tmp_path / "run"
    result = run_module(
        str(REPO_ROOT / "train.py"), "model=lstm", "data=text", "task=language_model",
        f"data.path={text}", "data.window=16", "data.batch_size=8", "model.hidden_size=32",
        "trainer.max_epochs=3", "callbacks=none", "logger=none", f"hydra.run.dir={run_dir}",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    model, vocab = load_for_generation(run_dir)
    assert "".join(vocab.to_json()) == " .acehmnost"
    sample = generate_text((model, vocab), "the ", 40, top_k=1)
    assert sample.startswith("the ") and len(sample) == 44
    assert set(sample) <= set(" .acehmnost")

    cli = run_module("-m", "zoo.generate", str(run_dir), "--prompt", "the c", "--length",
                     "30", "--temperature", "0.5", "--seed", "0", cwd=REPO_ROOT)  # fmt: skip
    assert cli.returncode == 0, cli.stderr
    assert cli.stdout.startswith("the c") and len(cli.stdout.rstrip("\n")) == 35
    # the same command in-process (zoo.apps.generate.main): the same text for the same seed
    from zoo.apps.generate import main

    capsys.readouterr()
    assert main([str(run_dir), "--prompt", "the c", "--length", "30", "--temperature", "0.5",
                 "--seed", "0"]) == 0  # fmt: skip
    assert capsys.readouterr().out == cli.stdout
    assert main([str(run_dir), "--prompt", "the dog"]) == 2
    unknown = capsys.readouterr().err
    assert "'d'" in unknown and "'g'" in unknown
    assert len(unknown.strip().splitlines()) == 1


def test_generate_refuses_a_model_without_a_vocabulary(tmp_path, capsys):
    """In-process (zoo.apps.generate.main); `python -m zoo.generate` as a process runs in
    test_generate_from_a_trained_run_folder."""
    from zoo import save_pretrained
    from zoo.apps.generate import main

    save_pretrained(create_model("mlp"), tmp_path / "mlp")
    assert main([str(tmp_path / "mlp")]) == 2
    stderr = capsys.readouterr().err
    assert "records no vocabulary" in stderr
    assert len(stderr.strip().splitlines()) == 1


def test_a_gpt_trains_on_any_text_file_and_generates_from_its_run(make_config, tmp_path, capsys):
    """A play, say: any UTF-8 file by path; generation through the key/value cache. Trained
    and sampled in-process (train.py and `python -m zoo.generate` as processes: the slow
    test above)."""
    from zoo.apps.generate import main

    play = tmp_path / "play.txt"
    play.write_text("ROMEO: But soft, what light through yonder window breaks?\n" * 300)
    cfg = make_config(
        "experiment=char_gpt", f"data.path={play}", "data.window=32", "model.n_layer=1",
        "trainer.max_epochs=1", "trainer.limit_train_batches=20", "trainer.max_steps=20",
        "callbacks=none", "logger=none",
    )  # fmt: skip
    train(cfg)
    capsys.readouterr()
    arguments = [cfg.paths.output_dir, "--prompt", "ROMEO:", "--length", "50", "--seed", "0"]
    assert main(arguments) == 0
    stdout = capsys.readouterr().out
    assert stdout.startswith("ROMEO:") and len(stdout.rstrip("\n")) == 56
