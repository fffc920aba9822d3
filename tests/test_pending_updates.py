"""Metric updates gathered over steps give what per-step updates give."""

import torch
from torchmetrics import MeanMetric, MeanSquaredError
from torchmetrics.classification import MulticlassAccuracy

from zoo.tasks.pending_updates import PendingUpdates


def steps(n_steps: int = 7, classes: int = 5):
    generator = torch.Generator().manual_seed(0)
    for i in range(n_steps):
        batch = 3 + i  # batches of different sizes, as an epoch's last one
        logits = torch.randn(batch, classes, generator=generator)
        targets = torch.randint(classes, (batch,), generator=generator)
        yield logits, targets, torch.nn.functional.cross_entropy(logits, targets)


def test_gathered_updates_equal_per_step_updates_and_the_closed_form():
    pending = PendingUpdates()
    gathered_loss, gathered_acc = MeanMetric(), MulticlassAccuracy(5, average="micro")
    direct_loss, direct_acc = MeanMetric(), MulticlassAccuracy(5, average="micro")
    losses, weights, correct = [], [], 0
    for logits, targets, loss in steps():
        pending.add(gathered_loss, loss, len(targets))
        pending.add(gathered_acc, logits.argmax(-1), targets)
        direct_loss.update(loss, weight=len(targets))
        direct_acc.update(logits, targets)
        losses.append(loss.item())
        weights.append(len(targets))
        correct += (logits.argmax(-1) == targets).sum().item()
    assert gathered_loss.update_count == 0  # nothing applied before the flush
    pending.flush([gathered_loss, gathered_acc])
    assert gathered_loss.update_count == 1
    mean = sum(loss * w for loss, w in zip(losses, weights)) / sum(weights)
    torch.testing.assert_close(gathered_loss.compute(), direct_loss.compute())
    torch.testing.assert_close(gathered_loss.compute().item(), mean, rtol=1e-6, atol=0)
    torch.testing.assert_close(gathered_acc.compute(), direct_acc.compute())
    torch.testing.assert_close(gathered_acc.compute().item(), correct / sum(weights))


def test_updates_are_applied_once_the_kept_elements_pass_the_bound():
    pending = PendingUpdates(max_elements=100)
    gathered, direct = MeanSquaredError(), MeanSquaredError()
    generator = torch.Generator().manual_seed(1)
    for _ in range(10):
        predictions, targets = torch.randn(2, 2, 8, generator=generator)  # 32 elements a step
        pending.add(gathered, predictions, targets)
        direct.update(predictions, targets)
    assert gathered.update_count == 2  # after steps 4 and 8, 128 elements kept each time
    pending.flush([gathered])
    assert gathered.update_count == 3
    torch.testing.assert_close(gathered.compute(), direct.compute())


def test_discarded_values_never_reach_the_metric():
    pending = PendingUpdates()
    kept, dropped = MeanMetric(), MeanMetric()
    pending.add(kept, torch.tensor(1.0), 1)
    pending.add(dropped, torch.tensor(100.0), 1)
    pending.discard([dropped])
    pending.add(dropped, torch.tensor(3.0), 1)
    pending.flush([kept, dropped])
    assert kept.compute().item() == 1.0
    assert dropped.compute().item() == 3.0
