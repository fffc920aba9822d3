"""Model builders, one file per family. Importing this package registers every builder.

Model files import torch only: never Lightning or Hydra.
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
from zoo.models.gan import GAN, dcgan, gan
from zoo.models.gpt import GPT, gpt
from zoo.models.inception import GoogLeNet, InceptionV3, googlenet, inception_v3
from zoo.models.lenet import LeNet5, lenet5
from zoo.models.mlp import MLP, mlp
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

__all__ = [
    "GAN",
    "GPT",
    "MLP",
    "VGG",
    "AlexNet",
    "Autoencoder",
    "CifarResNet",
    "GoogLeNet",
    "InceptionV3",
    "LeNet5",
    "MultiHeadAttention",
    "RecurrentNetwork",
    "ResNet",
    "TransformerClassifier",
    "VariationalAutoencoder",
    "VisionTransformer",
    "alexnet",
    "autoencoder",
    "conv_autoencoder",
    "conv_vae",
    "dcgan",
    "gan",
    "googlenet",
    "gpt",
    "gru",
    "inception_v3",
    "lenet5",
    "linear_autoencoder",
    "lstm",
    "mlp",
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
