"""Whether a conditional model writes the label it is given.

A conditional model (``traits.conditional``, the CVAE) decodes any code z with any label y. Whether the
decoded image is a y is judged by a classifier that knows nothing of the model: a 3-nearest-neighbour
classifier on the raw pixels of the training images (its own test accuracy is reported beside it, ~0.97 on
MNIST). It judges two sets of codes, each decoded with every label: draws from the prior p(z), and the
codes (posterior means given their own label) of the first test images, the analogies of the figures.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.neighbors import KNeighborsClassifier

from .data import DeviceSplit, flat_pixels, to_float
from .progress import status

CLASSIFIER = "3-NN on the raw pixels of the training images"
PRIOR_DRAWS = 100  # z ~ p(z), each decoded with every label
CODED_IMAGES = 100  # the first test images, their codes decoded with every label


@torch.no_grad()
def every_label(model, z: torch.Tensor, classes: int, batch_size: int = 1000) -> torch.Tensor:
    """Each code of ``z`` (N, D) decoded with each label 0..classes-1: (N, classes, 1, 28, 28) on the CPU."""
    device = next(model.parameters()).device
    codes = z.to(device).repeat_interleave(classes, dim=0)  # (N * classes, D): each code, once per label
    labels = torch.arange(classes, device=device).repeat(len(z))  # (N * classes,): 0..C-1, then again
    decoded = torch.cat(
        [
            model.decode(part, y).float().cpu()
            for part, y in zip(codes.split(batch_size), labels.split(batch_size), strict=True)
        ]
    )
    return decoded.view(len(z), classes, 1, 28, 28)


@torch.no_grad()
def label_obedience(model, train: DeviceSplit, test: DeviceSplit, seed: int) -> dict:
    """How often the classifier recognises the label a code was decoded with, overall and per class, for
    the prior's draws (seeded with ``seed``) and for the first test images' codes; and the classifier's own
    accuracy on the test images."""
    classes = test.classes
    with status(f"{CLASSIFIER}: fitting, and its accuracy on the test images"):
        classifier = KNeighborsClassifier(n_neighbors=3).fit(flat_pixels(train.images), train.labels.cpu().numpy())
        results = {
            "label_classifier": CLASSIFIER,
            "label_classifier_test_accuracy": float(
                classifier.score(flat_pixels(test.images), test.labels.cpu().numpy())
            ),
        }
    n = min(CODED_IMAGES, len(test))
    sources = {
        "prior": model.prior.sample(PRIOR_DRAWS, torch.Generator().manual_seed(seed)),
        "test_codes": model.code(to_float(test.images[:n]), test.labels[:n]).cpu(),
    }
    for source, z in sources.items():
        with status(f"classifying {len(z)} {source.replace('_', ' ')} decoded with every label"):
            predicted = classifier.predict(flat_pixels(every_label(model, z, len(classes)).flatten(0, 1)))
        asked = np.tile(np.arange(len(classes)), len(z))  # the label each decoded image was given
        hit = predicted == asked
        results[f"label_accuracy_{source}"] = float(hit.mean())
        results[f"label_accuracy_{source}_per_class"] = {
            name: float(hit[asked == c].mean()) for c, name in enumerate(classes.names)
        }
    return results
