"""The training system: ``train(cfg)`` and what a run needs around Lightning.

- :mod:`zoo.training.run`: orchestration (check, build, fit, test, export);
- :mod:`zoo.training.stopping`: how a run stops (Ctrl-C, SIGTERM, a full disk, a mistake) and
  the one line, exit code and resume command that say so;
- :mod:`zoo.training.run_folder`: one run per folder (its lock) and Hydra's record;
- :mod:`zoo.training.checkpointing`: atomic background checkpoint writes, resumable
  ``ModelCheckpoint``; :mod:`zoo.training.resume`: resuming an epoch-end checkpoint with the
  next epoch under every stopping rule;
- :mod:`zoo.training.curves`: the run's curves.png at its end;
  :mod:`zoo.training.sweep_summary`: a sweep's table and summary.csv (a Hydra callback);
- callbacks and loggers: :mod:`~zoo.training.progress_bar`, :mod:`~zoo.training.precise_bn`,
  :mod:`~zoo.training.attention_logging`, :mod:`~zoo.training.csv_logger`,
  :mod:`~zoo.training.model_summary`, :mod:`~zoo.training.loggers` (MLflow, W&B offline).

May import everything below it: zoo.errors, zoo.kinds, zoo.resources, zoo.registry,
zoo.models, zoo.data, zoo.tasks, zoo.augment, zoo.weights, zoo.figures, zoo.config. Nothing
imports it but train.py, zoo.apps and the scripts.
"""
