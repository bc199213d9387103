"""The numbers a reader can put next to the literature: baselines, latent quality, likelihood bounds.

``evaluate`` adds to a run's metrics.json (all on the test split):
  pca_test_mse                      PCA with as many components as the latent, fitted on the training images
  knn5_accuracy, linear_probe_accuracy     classifiers fitted on the training codes (the VAE's means)
  pca_knn5_accuracy, pca_linear_probe_accuracy   the same on PCA codes of the same size
  *_balanced_accuracy               beside each accuracy: the mean over the test classes of each one's hit rate
  majority_class_rate               the accuracy of answering the largest training class every time
  images_per_class                  {"train": {class: images}, "test": {...}}: what the two above are read against
  test_log_likelihood_is (VAE)      importance-sampled bound, Burda et al. (2015) eq. 8, with k samples
  test_nll_nats (Bernoulli VAE)     minus that bound: the number of binarized-MNIST NLL tables
  active_units (VAE)                dimensions with Var_x(E_q[z|x]) > 0.01 (Burda et al. 2015)
  label_accuracy_* (conditional)    how often the decoded image is the label asked for (conditioning.py)
``elbo_estimate`` scores single images by the ELBO with many posterior samples (the interpolation figure).
What training itself measures each epoch is in passes.py.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, balanced_accuracy_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from tqdm import tqdm

from .conditioning import label_obedience
from .data import DeviceSplit, class_counts, flat_pixels
from .distributions import diagonal_normal, kl_divergence, kl_method
from .losses import log_mean_exp, term_key
from .models import importance_log_weights, repeat_labels
from .passes import active_units, encode_split, seeded
from .progress import status


def importance_sampled_bound(
    mean: torch.Tensor,
    log_var: torch.Tensor,
    prior,
    log_likelihood,
    k: int,
    generator: torch.Generator | None = None,
    chunk: int = 100,
) -> torch.Tensor:
    """log p(x) >= log (1/k) sum_i p(x|z_i) p(z_i) / q(z_i|x), z_i ~ q(z|x) = N(mean, exp(log_var)), p(z) the
    model's ``prior``.

    ``log_likelihood(z)`` maps (S, B, D) samples to log p(x|z) of shape (S, B). Returns (B,).
    """
    return log_mean_exp(importance_log_weights(mean, log_var, prior, log_likelihood, k, generator, chunk), dim=0)


@torch.no_grad()
def per_image_bounds(
    model, split: DeviceSplit, k: int, n_test: int, seed: int = 0, batch_size: int = 100
) -> list[torch.Tensor]:
    """The importance-sampled bound of each of the first ``n_test`` images, batch by batch ((B,) each),
    in the units of the model's reconstruction term (Gaussian: constant 392 log pi dropped, as in
    the ELBO; Bernoulli: exact nats)."""
    generator = torch.Generator(device=split.device).manual_seed(seed)
    bounds, count = [], 0
    bar = tqdm(
        total=n_test, desc=f"log-likelihood bound, k={k}", unit="img", leave=False, mininterval=0.5, dynamic_ncols=True
    )
    for x, y in split.labelled_batches(batch_size):
        x, y = x[: n_test - count], y[: n_test - count]
        mean, log_var = model.encode(x, y)

        def log_likelihood(z: torch.Tensor, x: torch.Tensor = x, y: torch.Tensor = y) -> torch.Tensor:
            x_hat = model.decode(z.flatten(0, 1), repeat_labels(y, z.shape[0]))  # (S * B, 1, 28, 28)
            target = x.expand(z.shape[0], *x.shape).flatten(0, 1)
            return -model.likelihood.reconstruction_per_image(x_hat, target).view(z.shape[:2])

        bounds.append(importance_sampled_bound(mean, log_var, model.prior, log_likelihood, k, generator))
        count += len(x)
        bar.update(len(x))
        if count >= n_test:
            break
    bar.close()
    return bounds


def vae_log_likelihood(model, split: DeviceSplit, k: int, n_test: int, seed: int = 0) -> float:
    """The average importance-sampled bound over the first ``n_test`` images."""
    bounds = per_image_bounds(model, split, k, n_test, seed)
    return sum(batch.double().sum().item() for batch in bounds) / sum(len(batch) for batch in bounds)


def mean_and_se(values: torch.Tensor) -> dict:
    """The mean of per-image values (N,) and its standard error over the images: {"mean", "se"}."""
    values = values.double().cpu()
    return {"mean": values.mean().item(), "se": (values.std() / len(values) ** 0.5).item()}


def bounds_for_each_k(model, split: DeviceSplit, ks: list[int], n_test: int, seed: int = 0) -> dict:
    """The ELBO and the importance-sampled bound for each k over the first ``n_test`` images, each
    with its standard error over images: {"elbo": {...}, "bounds": [{"k", "mean", "se"}, ...]}."""
    elbos, count = [], 0
    with seeded(seed, split.device), torch.no_grad():
        for x, y in split.labelled_batches(100):
            elbos.append(-sum(model.loss_per_image(x, y).values()))  # (B,): -(reconstruction + KL)
            count += len(x)
            if count >= n_test:
                break
    elbo = torch.cat(elbos)[:n_test]
    bounds = [{"k": k, **mean_and_se(torch.cat(per_image_bounds(model, split, k, n_test, seed)))} for k in ks]
    return {"n_test": min(n_test, len(split)), "elbo": mean_and_se(elbo), "bounds": bounds}


@torch.no_grad()
def elbo_estimate(
    model: torch.nn.Module, x: torch.Tensor, samples: int = 100, seed: int = 0, y: torch.Tensor | None = None
) -> torch.Tensor:
    """ELBO of each image (B,) (given its label y, for a conditional kind), its expected reconstruction
    averaged over ``samples`` posterior draws.

    -( E_q[ -log p(x | decode(z)) ] + KL(q(z|x) || p(z)) ), the KL in closed form where it has one
    (``distributions.kl_divergence``; else from the first of the draws).
    Every image uses the same ``samples`` standard-normal draws (common random numbers):
    each estimate stays unbiased, an image's value does not depend on the batch it is
    in, and differences between images are not sampling noise.
    """
    mean, log_var = model.encode(x, y)  # (B, D) each
    with seeded(seed, x.device):
        eps = torch.randn((samples, 1, mean.shape[1]), device=x.device)  # (S, 1, D), shared by the batch
    z = model.reparameterization_trick(mean, log_var, eps)  # (S, B, D)
    x_hat = model.decode(z.flatten(0, 1), repeat_labels(y, samples)).view(samples, *x.shape)  # (S, B, 1, 28, 28)
    recon = model.likelihood.reconstruction_per_image(x_hat.flatten(0, 1), x.repeat(samples, 1, 1, 1))
    kl = kl_divergence(diagonal_normal(mean, log_var), model.prior, z[0])
    return -(recon.view(samples, -1).mean(0) + kl)  # (B,)


def _knn(train_codes: np.ndarray, train_labels: np.ndarray, neighbours: int = 5):
    # min(): a folder of a few own images may hold fewer than five training images
    return KNeighborsClassifier(n_neighbors=min(neighbours, len(train_codes))).fit(train_codes, train_labels)


def _linear_probe(train_codes: np.ndarray, train_labels: np.ndarray):
    """Multinomial logistic regression on standardised codes."""
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(train_codes, train_labels)


def knn_accuracy(
    train_codes: np.ndarray,
    train_labels: np.ndarray,
    test_codes: np.ndarray,
    test_labels: np.ndarray,
    neighbours: int = 5,
) -> float:
    return float(_knn(train_codes, train_labels, neighbours).score(test_codes, test_labels))


def linear_probe_accuracy(
    train_codes: np.ndarray, train_labels: np.ndarray, test_codes: np.ndarray, test_labels: np.ndarray
) -> float:
    return float(_linear_probe(train_codes, train_labels).score(test_codes, test_labels))


def _balanced_accuracy(test_labels: np.ndarray, predicted: np.ndarray) -> float:
    with warnings.catch_warnings():
        # A class the test split lacks may still be predicted; its rate is undefined and left out, as it should be.
        warnings.filterwarnings("ignore", message="y_pred contains classes not in y_true")
        return float(balanced_accuracy_score(test_labels, predicted))


def classifier_scores(
    train_codes: np.ndarray, train_labels: np.ndarray, test_codes: np.ndarray, test_labels: np.ndarray
) -> dict:
    """The 5-NN's and the linear probe's accuracy on the test codes, each with its balanced accuracy: with
    unequal classes an accuracy near the largest class's share may mean the classifier answers that class
    every time, while the balanced accuracy of such a classifier is one over the number of classes."""
    scores = {}
    for name, fitted in (
        ("knn5", _knn(train_codes, train_labels)),
        ("linear_probe", _linear_probe(train_codes, train_labels)),
    ):
        predicted = fitted.predict(test_codes)
        scores[f"{name}_accuracy"] = float(accuracy_score(test_labels, predicted))
        scores[f"{name}_balanced_accuracy"] = _balanced_accuracy(test_labels, predicted)
    return scores


def class_balance(train: DeviceSplit, test: DeviceSplit) -> dict:
    """The images per class of both splits, and the accuracy of answering the largest training class always."""
    train_labels, test_labels = train.labels.cpu().numpy(), test.labels.cpu().numpy()
    majority = DummyClassifier(strategy="most_frequent").fit(np.zeros((len(train_labels), 1)), train_labels)
    return {
        "images_per_class": {
            "train": class_counts(train.labels, train.classes),
            "test": class_counts(test.labels, test.classes),
        },
        "majority_class_rate": float(majority.score(np.zeros((len(test_labels), 1)), test_labels)),
    }


def pca_baseline(train_images: np.ndarray, test_images: np.ndarray, components: int) -> dict:
    """PCA fitted on flattened training images (N, 784) in [0, 1]: test MSE per pixel and the codes."""
    components = min(components, *train_images.shape)  # PCA has at most as many components as images
    pca = PCA(n_components=components, random_state=0).fit(train_images)
    test_codes = pca.transform(test_images)
    reconstruction = pca.inverse_transform(test_codes)
    return {
        "mse": float(np.mean((reconstruction - test_images) ** 2)),
        "train_codes": pca.transform(train_images),
        "test_codes": test_codes,
    }


def evaluate(
    model, config, train: DeviceSplit, test: DeviceSplit, k: int, n_test: int, measured: dict, test_codes: torch.Tensor
) -> dict:
    """Every evaluation number of one trained model (see the module docstring). ``measured`` and ``test_codes``:
    ``passes.losses_and_codes`` of the test split, one pass for these numbers and the figures alike."""
    model.eval()
    results = {"test_mse": measured["mse"], "test_recon_sse": measured["recon_sse"]}
    train_labels, test_labels = train.labels.cpu().numpy(), test.labels.cpu().numpy()
    with status(f"encoding {len(train):,} training images"):
        train_codes, test_codes = encode_split(model, train).numpy(), test_codes.numpy()
    with status("5-NN and linear probes on the codes"):
        results.update(classifier_scores(train_codes, train_labels, test_codes, test_labels))
    with status(f"PCA baseline with {model.latent_dim} components, and its probes"):
        pca = pca_baseline(flat_pixels(train.images), flat_pixels(test.images), model.latent_dim)
        results["pca_test_mse"] = pca["mse"]
        scores = classifier_scores(pca["train_codes"], train_labels, pca["test_codes"], test_labels)
        results.update({f"pca_{key}": value for key, value in scores.items()})
    results.update(class_balance(train, test))
    results["evaluated_on"] = {"train_images": len(train), "test_images": len(test)}
    for name in model.terms:  # every term beyond the reconstruction, by name: test_kl for the VAE
        if name != "reconstruction":
            results[f"test_{term_key(name)}"] = measured[term_key(name)]
    if model.traits.likelihood_bound:
        results["test_kl_method"] = kl_method(model.prior)
        results["test_elbo"] = -(measured["recon"] + measured["kl"])
        n = min(n_test, len(test))
        bound = vae_log_likelihood(model, test, k=k, n_test=n, seed=config.seed)
        results["test_log_likelihood_is"] = bound
        results["bound_samples"] = k
        results["bound_test_images"] = n
        results.update(model.likelihood.nll_metrics(bound))  # the NLL, where the decoder's -log p(x|z) is exact
        results["active_units"] = active_units(torch.from_numpy(test_codes))[0]
    if model.traits.conditional:
        results.update(label_obedience(model, train, test, seed=config.seed))
    return results
