"""Tools that use registered and trained models, each a ``python -m zoo.<name>`` command and a
Python API: :mod:`~zoo.apps.predict`, :mod:`~zoo.apps.generate`, :mod:`~zoo.apps.sample`,
:mod:`~zoo.apps.autoencode`; ``model_info`` (:mod:`~zoo.apps.info`) and what every command
shares (:mod:`~zoo.apps.command`).

May import: zoo.errors, zoo.kinds, zoo.resources, zoo.registry, zoo.models, zoo.data,
zoo.preprocessing, zoo.weights, zoo.figures, zoo.augment, zoo.config.recorded.
Never zoo.training: a tool reads what a run wrote, it does not train.
"""
