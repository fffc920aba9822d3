"""The weights registry by its short name: :mod:`zoo.models.pretrained`
(``from zoo.pretrained import get_pretrained, list_pretrained``)."""

from zoo.models.pretrained import PretrainedWeights, get_pretrained, list_pretrained

__all__ = ["PretrainedWeights", "get_pretrained", "list_pretrained"]
