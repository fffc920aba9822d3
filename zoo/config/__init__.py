"""Checking a run's config before any work, and building objects from recorded configs.

- :mod:`zoo.config.command_line`: ``train.py``'s check of its command line before Hydra runs
  (no torch import: a misspelled option is refused in a second);
- :mod:`zoo.config.sections`: each instantiated section's keys against the signature of its
  ``_target_``, and the value ranges of the trainer and callbacks;
- :mod:`zoo.config.checks`: the composed config as a whole (model, data, task and options
  agree), and the resolvers the configs use;
- :mod:`zoo.config.sweep`: every job of a sweep checked by its first job;
- :mod:`zoo.config.recorded`: objects rebuilt from configs recorded in files, never through
  Hydra (a shared run folder runs no code).
- :mod:`zoo.config.values`: the value predicates every check shares (``is_int``,
  ``is_positive_int``, ``is_number``); it imports nothing, so any module may use them.

May import: zoo.errors, zoo.kinds, zoo.resources, zoo.registry, zoo.models, zoo.data,
zoo.tasks, zoo.augment, zoo.weights. This ``__init__`` imports nothing, so that
``zoo.config.command_line`` stays light.
"""
