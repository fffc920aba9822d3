"""Model builders, one file per family. Importing this package registers every builder.

Model files import torch only: never Lightning or Hydra. Beside them: :mod:`~zoo.models.layers`
and :mod:`~zoo.models.attention` (parts the families share) and :mod:`~zoo.models.pretrained`
(weights by name or folder: the loader behind every builder's ``weights=...``, installed
here). Look models up here (``zoo.models.get_model_info``): importing this package is what
fills the registry.
"""

from zoo.models.alexnet import AlexNet, alexnet
from zoo.models.attention import MultiHeadAttention
from zoo.models.autoencoder import (
    Autoencoder,
    VariationalAutoencoder,
    autoencoder,
    conv_autoencoder,
    conv_vae,
    linear_autoencoder,
    vae,
)
from zoo.models.cnn1d import CNN1d, cnn1d
from zoo.models.gan import GAN, dcgan, gan
from zoo.models.gpt import GPT, gpt
from zoo.models.inception import GoogLeNet, InceptionV3, googlenet, inception_v3
from zoo.models.lenet import LeNet5, lenet5
from zoo.models.mlp import MLP, mlp
from zoo.models.pretrained import build_with_weights
from zoo.models.recurrent import RecurrentNetwork, gru, lstm, rnn
from zoo.models.resnet import (
    CifarResNet,
    ResNet,
    resnet18,
    resnet20,
    resnet32,
    resnet34,
    resnet44,
    resnet50,
    resnet56,
    resnet101,
    resnet110,
    resnet152,
)
from zoo.models.transformer import TransformerClassifier, transformer
from zoo.models.vgg import (
    VGG,
    vgg11,
    vgg11_bn,
    vgg13,
    vgg13_bn,
    vgg16,
    vgg16_bn,
    vgg19,
    vgg19_bn,
)
from zoo.models.vit import VisionTransformer, vit_b_16, vit_b_32, vit_l_16, vit_l_32, vit_tiny
from zoo.registry import (
    ModelInfo,
    create_model,
    get_model_info,
    list_models,
    register_model,
    set_weights_loader,
)

set_weights_loader(build_with_weights)

__all__ = [
    "GAN",
    "GPT",
    "MLP",
    "VGG",
    "AlexNet",
    "Autoencoder",
    "CNN1d",
    "CifarResNet",
    "GoogLeNet",
    "InceptionV3",
    "LeNet5",
    "ModelInfo",
    "MultiHeadAttention",
    "RecurrentNetwork",
    "ResNet",
    "TransformerClassifier",
    "VariationalAutoencoder",
    "VisionTransformer",
    "alexnet",
    "autoencoder",
    "cnn1d",
    "conv_autoencoder",
    "conv_vae",
    "create_model",
    "dcgan",
    "gan",
    "get_model_info",
    "googlenet",
    "gpt",
    "gru",
    "inception_v3",
    "lenet5",
    "linear_autoencoder",
    "list_models",
    "lstm",
    "mlp",
    "register_model",
    "resnet18",
    "resnet20",
    "resnet32",
    "resnet34",
    "resnet44",
    "resnet50",
    "resnet56",
    "resnet101",
    "resnet110",
    "resnet152",
    "rnn",
    "transformer",
    "vae",
    "vgg11",
    "vgg11_bn",
    "vgg13",
    "vgg13_bn",
    "vgg16",
    "vgg16_bn",
    "vgg19",
    "vgg19_bn",
    "vit_b_16",
    "vit_b_32",
    "vit_l_16",
    "vit_l_32",
    "vit_tiny",
]
