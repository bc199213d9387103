"""What the literature reports, written once: the published numbers that RESULTS.md and bound_vs_k.png set ours
against, each with its source."""

# Published test NLLs on dynamically binarized MNIST, in nats: (the figure's label, the table's label,
# NLL, source). bound_vs_k.png draws them as lines; RESULTS.md lists them.
BINARIZED_MNIST_NLL = [
    (
        "VAE, Burda et al. 2015",
        "Test NLL, VAE, 1 stochastic layer, k = 1",
        86.76,
        "Burda, Grosse & Salakhutdinov (2015), IWAE, Table 1",
    ),
    (
        "IWAE k=50, Burda et al. 2015",
        "Test NLL, IWAE, 1 stochastic layer, k = 50",
        84.78,
        "Burda et al. (2015), Table 1",
    ),
    (
        "IWAE, 2 layers, Burda et al. 2015",
        "Test NLL, IWAE, 2 stochastic layers, k = 50",
        82.90,
        "Burda et al. (2015), Table 1",
    ),
    (
        "ResNet VAE, Kingma et al. 2016",
        "Test NLL, conv. ResNet VAE, 1 stochastic layer of 32 units, diagonal posterior",
        81.08,
        "Kingma et al. (2016), IAF",
    ),
]
# By the decoder's likelihood: only a Bernoulli decoder's bound is an NLL that a published table reports.
PUBLISHED_NLL = {"bernoulli": BINARIZED_MNIST_NLL}

UMAP_AE, UMAP_VAE, UMAP_VAE_64, DEEP_AE_MSE = 0.793, 0.765, 0.979, 0.0038
PUBLISHED = [
    ("5-NN accuracy, 2-D conv AE", f"{UMAP_AE:.3f}", "Sainburg, McInnes & Gentner (2021), Parametric UMAP, Table 2"),
    ("5-NN accuracy, 2-D conv VAE", f"{UMAP_VAE:.3f}", "Sainburg et al. (2021), Table 2"),
    ("5-NN accuracy, 2-D PCA", "0.420", "Sainburg et al. (2021), Table 2"),
    ("5-NN accuracy, 64-D VAE", f"{UMAP_VAE_64:.3f}", "Sainburg et al. (2021), Table 2"),
    *[(label, f"{nll:.2f} nats", source) for _, label, nll, source in BINARIZED_MNIST_NLL],
    ("Test MSE per pixel, PCA with 32 components", "0.0168", "this repository's PCA baseline (see the table above)"),
    ("Test MSE per pixel, deep AE, 30-D code", f"{DEEP_AE_MSE}", "Hinton & Salakhutdinov (2006), Science"),
]
