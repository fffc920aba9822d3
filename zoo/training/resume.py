"""Resuming from a checkpoint written at an epoch's end continues with the next epoch, whatever
stopping rule the run has.

The checkpoints a run writes (``RunCheckpoint``'s best and ``last.ckpt``, or Lightning's own
``ModelCheckpoint`` when the zoo's is left out) are written at the end of an epoch: in a run
that validates every epoch, in ``on_train_epoch_end``, after Lightning has counted the epoch
as processed and before it counts it as completed. Lightning resumes such a checkpoint as a
finished epoch, unless ``trainer.max_steps`` is set: its ``_FitLoop`` then takes every resume
for a restart inside the epoch ("iteration-based training") and replays the end of the epoch
the checkpoint was written in. The replay counts that epoch a second time, with no batch in
it: the resumed run's epochs are one ahead of the uninterrupted run's, so
``trainer.max_epochs`` stops it one epoch early, with exit 0 (``experiment=char_gpt`` has both
limits: 8 epochs, and their 2000 steps), and its logged steps are one ahead.

:class:`EpochEndResumingFitLoop` restarts inside an epoch only when the checkpoint was
written inside one (``every_n_train_steps``, or the best checkpoint of a validation before the
epoch's end), as Lightning does without ``max_steps`` (it warns then that the rest of that
epoch is not the uninterrupted run's; ``last.ckpt`` is written at epoch ends only, see
:class:`zoo.training.checkpointing.RunCheckpoint`). Lightning has no setting for this, and
its loops are private classes: the subclass replaces the one property that decides it.
"""

from __future__ import annotations

import lightning as L
from lightning.pytorch.loops.fit_loop import _FitLoop
from lightning.pytorch.loops.loop import _Loop


class EpochEndResumingFitLoop(_FitLoop):
    """Lightning's fit loop, restarting inside an epoch only when the checkpoint it resumes
    was written before that epoch was processed (see the module's docstring)."""

    @_Loop.restarting.setter
    def restarting(self, restarting: bool) -> None:
        # Lightning's setter: `restarting and epoch_unfinished or self._iteration_based_training()`
        progress = self.epoch_progress.current
        epoch_unfinished = any(v != progress.processed for v in (progress.ready, progress.started))
        _Loop.restarting.fset(self, restarting and epoch_unfinished)


def resume_epochs_whole(trainer: L.Trainer) -> None:
    """Give ``trainer`` the fit loop that resumes an epoch-end checkpoint with the next epoch
    (before ``fit``: its loops hold no state yet)."""
    old = trainer.fit_loop
    loop = EpochEndResumingFitLoop(trainer, min_epochs=old.min_epochs, max_epochs=old.max_epochs)
    loop.epoch_loop = old.epoch_loop  # holds max_steps and min_steps
    trainer.fit_loop = loop
