// The latent-space explorer: this model's own encoder and decoder, run in the browser.
//
// explorer.py inlines this file into every explorer.html, together with the weights
// (exported from model.pt) and the test codes. The network below runs the exact layers of
// latentlab.models in float32 arrays, in the same order:
//   encoder_conv: Conv2d 3x3 (padding 1), ReLU, BatchNorm (eval mode: a per-channel scale and
//     shift, after the ReLU as in the model), MaxPool2d 2, the DenseLayers (each block's output
//     appended to its input), the 1x1 Conv2d, MaxPool2d 2, Flatten; then the latent heads
//     (Linear: the AE's z, the VAE's mean and log_var).
//   decoder_conv: Linear, unflatten, the transposed convolutions with ReLU and BatchNorm, Sigmoid.
// tests/test_explorer.py runs both under Node against PyTorch's encode and decode.

"use strict";

// --- The payload: named arrays in one gzipped blob ------------------------------------

function base64Bytes(text) {
  const binary = atob(text.trim());
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

// manifest: {name: {dtype: "float32" | "uint8", shape: [...], offset: bytes}}; the blob is
// little-endian, each array starting at a multiple of 4 bytes.
function readArrays(buffer, manifest) {
  const arrays = {};
  for (const [name, spec] of Object.entries(manifest)) {
    const size = spec.shape.reduce((a, b) => a * b, 1);
    const Type = spec.dtype === "float32" ? Float32Array : Uint8Array;
    arrays[name] = new Type(buffer, spec.offset, size);
  }
  return arrays;
}

async function gunzip(bytes) {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  return await new Response(stream).arrayBuffer();
}

// --- The networks: encoder_conv and decoder_conv, layer by layer ---------------------------

// y (out) = W (out x in) z + b
function linear(z, W, b, out) {
  const n = z.length, y = new Float32Array(out);
  for (let o = 0; o < out; o++) {
    let s = b[o];
    const row = o * n;
    for (let i = 0; i < n; i++) s += W[row + i] * z[i];
    y[o] = s;
  }
  return y;
}

// ConvTranspose2d: x (cin, h, w), W (cin, cout, k, k) as PyTorch stores it, stride s, padding p.
// Input pixel (iy, ix) adds W[ci, co, ky, kx] * x into output (iy * s - p + ky, ix * s - p + kx).
// Loops run kernel tap by kernel tap, so the innermost loop is a plain multiply-add over a row
// with its valid range worked out beforehand: no bounds test per pixel.
function convTranspose(x, cin, h, w, W, b, cout, k, s, p) {
  const oh = (h - 1) * s - 2 * p + k, ow = (w - 1) * s - 2 * p + k;
  const out = new Float32Array(cout * oh * ow);
  const acc = new Float64Array(oh * ow);
  for (let co = 0; co < cout; co++) {
    acc.fill(b[co]);
    for (let ci = 0; ci < cin; ci++) {
      const plane = ci * h * w, kernel = (ci * cout + co) * k * k;
      for (let ky = 0; ky < k; ky++) {
        const iy0 = Math.max(0, Math.ceil((p - ky) / s)), iy1 = Math.min(h - 1, Math.floor((oh - 1 + p - ky) / s));
        for (let kx = 0; kx < k; kx++) {
          const weight = W[kernel + ky * k + kx];
          const ix0 = Math.max(0, Math.ceil((p - kx) / s)), ix1 = Math.min(w - 1, Math.floor((ow - 1 + p - kx) / s));
          for (let iy = iy0; iy <= iy1; iy++) {
            const row = plane + iy * w, outRow = (iy * s - p + ky) * ow - p + kx;
            for (let ix = ix0; ix <= ix1; ix++) acc[outRow + ix * s] += weight * x[row + ix];
          }
        }
      }
    }
    out.set(acc, co * oh * ow);
  }
  return {x: out, h: oh, w: ow};
}

// Conv2d with stride 1: x (cin, h, w), W (cout, cin, k, k), padding p; output (cout, h', w').
function conv2d(x, cin, h, w, W, b, cout, k, p) {
  const oh = h + 2 * p - k + 1, ow = w + 2 * p - k + 1;
  const out = new Float32Array(cout * oh * ow);
  const acc = new Float64Array(oh * ow);
  for (let co = 0; co < cout; co++) {
    acc.fill(b[co]);
    for (let ci = 0; ci < cin; ci++) {
      const plane = ci * h * w, kernel = (co * cin + ci) * k * k;
      for (let ky = 0; ky < k; ky++) {
        const oy0 = Math.max(0, p - ky), oy1 = Math.min(oh - 1, h - 1 + p - ky);
        for (let kx = 0; kx < k; kx++) {
          const weight = W[kernel + ky * k + kx];
          const ox0 = Math.max(0, p - kx), ox1 = Math.min(ow - 1, w - 1 + p - kx);
          for (let oy = oy0; oy <= oy1; oy++) {
            const row = plane + (oy + ky - p) * w + kx - p, outRow = oy * ow;
            for (let ox = ox0; ox <= ox1; ox++) acc[outRow + ox] += weight * x[row + ox];
          }
        }
      }
    }
    out.set(acc, co * oh * ow);
  }
  return {x: out, h: oh, w: ow};
}

// MaxPool2d(size): x (c, h, w) -> (c, h / size, w / size), rounding down as PyTorch does.
function maxpool(x, c, h, w, size) {
  const oh = Math.floor(h / size), ow = Math.floor(w / size), out = new Float32Array(c * oh * ow);
  for (let ch = 0; ch < c; ch++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        let best = -Infinity;
        for (let dy = 0; dy < size; dy++) {
          for (let dx = 0; dx < size; dx++) best = Math.max(best, x[(ch * h + oy * size + dy) * w + ox * size + dx]);
        }
        out[(ch * oh + oy) * ow + ox] = best;
      }
    }
  }
  return {x: out, h: oh, w: ow};
}

// One runner for both networks: the layers explorer.py writes, applied to a state {x, c, h, w}
// (x: the activations, channel-major; c, h, w: their shape). Returns the new state.
function runLayers(layers, arrays, state) {
  let {x, c, h, w} = state;
  for (const layer of layers) {
    if (layer.type === "linear") {
      x = linear(x, arrays[layer.weight], arrays[layer.bias], layer.out);
    } else if (layer.type === "unflatten") {
      [c, h, w] = layer.shape;
    } else if (layer.type === "conv") {
      const y = conv2d(x, c, h, w, arrays[layer.weight], arrays[layer.bias], layer.out, layer.kernel, layer.padding);
      x = y.x; c = layer.out; h = y.h; w = y.w;
    } else if (layer.type === "conv_transpose") {
      const y = convTranspose(x, c, h, w, arrays[layer.weight], arrays[layer.bias], layer.out, layer.kernel,
                              layer.stride, layer.padding);
      x = y.x; c = layer.out; h = y.h; w = y.w;
    } else if (layer.type === "relu") {  // in place: every layer before it made x anew
      for (let i = 0; i < x.length; i++) if (x[i] < 0) x[i] = 0;
    } else if (layer.type === "batchnorm") {  // eval mode: a per-channel scale and shift
      const scale = arrays[layer.scale], shift = arrays[layer.shift], plane = h * w;
      for (let ch = 0; ch < c; ch++) {
        for (let i = ch * plane; i < (ch + 1) * plane; i++) x[i] = x[i] * scale[ch] + shift[ch];
      }
    } else if (layer.type === "maxpool") {
      const y = maxpool(x, c, h, w, layer.size);
      x = y.x; h = y.h; w = y.w;
    } else if (layer.type === "dense") {  // DenseLayer: torch.cat([x, block(x)], dim=1)
      const y = runLayers(layer.block, arrays, {x: x.slice(), c, h, w});  // a copy: the block must not touch x
      x = joined(x, y.x); c += y.c;
    } else if (layer.type === "sigmoid") {
      for (let i = 0; i < x.length; i++) x[i] = 1 / (1 + Math.exp(-x[i]));
    } else {
      throw new Error("unknown layer " + layer.type);
    }
  }
  return {x, c, h, w};
}

// torch.cat([a, b]) of two flat vectors.
function joined(a, b) {
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

// pixels: 784 values in [0, 1], row-major (the model's input x). Returns {z} for an AE and
// {mean, log_var} for a VAE, each a Float32Array(latent_dim): what model.encode returns.
// condition: a conditional model's one-hot label, set beside the encoder's features (else null).
function encode(layers, heads, arrays, pixels, condition = null) {
  return latentHeads(heads, arrays, encoderFeatures(layers, arrays, pixels), condition);
}

// encoder_conv's features of an input (what every label's heads share: the convolutions see the image only).
function encoderFeatures(layers, arrays, pixels) {
  return runLayers(layers, arrays, {x: Float32Array.from(pixels), c: 1, h: 28, w: 28}).x;
}

// The latent heads on the features, a conditional model's one-hot label set beside them.
function latentHeads(heads, arrays, features, condition = null) {
  const input = condition ? joined(features, condition) : features, code = {};
  for (const [name, head] of Object.entries(heads)) code[name] = linear(input, arrays[head.weight], arrays[head.bias], head.out);
  return code;
}

// layers: the decoder's list explorer.py writes; arrays: the named weights. z: Float32Array(latent_dim);
// condition: a conditional model's one-hot label, set beside z (else null).
// Returns the 28 x 28 image as a Float32Array in (0, 1).
function decode(layers, arrays, z, condition = null) {
  return runLayers(layers, arrays, {x: condition ? joined(z, condition) : z, c: 0, h: 0, w: 0}).x;
}

if (typeof module !== "undefined") {
  module.exports = {decode, encode, readArrays, klDivergence, logPrior, labelPosterior, photoInk, prepareInk};
}

// --- The page ---------------------------------------------------------------------------

if (typeof document !== "undefined") window.addEventListener("DOMContentLoaded", start);

async function start() {
  const models = document.getElementById("compare");
  if (models) {  // compare.html: one pad driving every folder's own page in a frame
    window.compare = new Compare(JSON.parse(models.textContent));
    window.compare.ready();
    return;
  }
  const meta = JSON.parse(document.getElementById("meta").textContent);
  const bytes = base64Bytes(document.getElementById("payload").textContent);
  const arrays = readArrays(await gunzip(bytes), meta.manifest);
  // The pickable digits are the first test images: their scatter points, labels and
  // (for a 2-D latent) codes are the first rows of the whole test split's.
  arrays.pick_scatter = arrays.scatter.subarray(0, 2 * meta.picks);
  arrays.pick_labels = arrays.labels.subarray(0, meta.picks);
  const page = meta.latent_dim === 2 ? new PlaneExplorer(meta, arrays) : new ProjectionExplorer(meta, arrays);
  window.explorer = page;  // for the browser test and the curious reader's console
  page.ready();
}

// Two kinds of page over one core: PlaneExplorer for a 2-D latent (the plane itself, decoded under the
// pointer) and ProjectionExplorer for a larger one (the codes on their first two principal directions;
// A, B and the sliders choose the code decoded). Explorer holds what both do: the plot, your own digit,
// the frame protocol of compare.html and the API on window.explorer.
class Explorer {
  constructor(meta, arrays) {
    this.meta = meta;
    this.arrays = arrays;
    this.D = meta.latent_dim;
    this.scatter = document.getElementById("scatter");
    this.view = viewBox(meta);
    this.image = document.getElementById("decoded");
    this.background = null;
    this.current = null;  // the input of your own digit (784 values), or null
    this.yours = null;    // its code {z, sd}, drawn on the plot
    this.label = 0;       // the label a conditional model is given (analyse reads it, the buttons pick it)
    this.picked = null;   // the label the reader pressed, kept until the pad is cleared, or null
    this.own = null;      // a picked test image's own label, or null for a drawing
    this.labelProbabilities = null;  // p(y|x) of the input (labelPosterior), or null
    this.labelSource = "";
  }

  ready() {
    // Class names come from a reader's folders: they are text, never markup (no innerHTML anywhere).
    const legend = this.meta.colours.map((colour, d) => {
      const swatch = document.createElement("i"), entry = document.createElement("span");
      swatch.style.background = colour;
      entry.append(swatch, this.meta.classes[d]);
      entry.title = this.meta.classes[d];  // the whole name, which the legend may cut short
      return entry;
    });
    const note = this.legendNote();
    if (note) legend.push(document.createElement("br"), note);
    document.getElementById("legend").replaceChildren(...legend);
    if (this.meta.conditional) this.setUpLabels();
    this.drawBackground();
    this.scatter.addEventListener("click", (e) => this.click(this.toPlot(e)));
    this.scatter.addEventListener("keydown", (e) => this.key(e));  // only while the plot has the focus
    setUpPad((pixels) => this.analyse(pixels), () => this.clearYours(), this.meta.preparation);
    this.start();
    if (this.embedded) this.embed();
    document.body.dataset.ready = "yes";
  }

  // --- In a frame of compare.html (explorer.html#embed): its pad sends the input here ------
  get embedded() { return window.parent !== window && location.hash === "#embed"; }

  embed() {
    document.body.classList.add("embed", this.pageClass);
    window.addEventListener("message", (e) => {
      if (e.source !== window.parent || !e.data) return;
      if (e.data.explorer === "input") this.analyse(Float32Array.from(e.data.pixels));
      if (e.data.explorer === "clear") this.clearYours();
    });
    const tell = (message) => window.parent.postMessage({...message, title: this.meta.title}, "*");
    this.tell = tell;
    // The body's own height: the document's is never less than the frame, so the frame could not shrink.
    new ResizeObserver(() => tell({explorer: "size", height: Math.ceil(document.body.getBoundingClientRect().height) + 12}))
      .observe(document.body);
    tell({explorer: "ready"});
  }

  // Plot coordinates: z1, z2 for a 2-D latent; PC 1, PC 2 for a larger one.
  // The content box, inside the plot's border: the canvas's pixels map onto it, not onto the border.
  toPlot(e) {
    const r = this.scatter.getBoundingClientRect(), c = this.scatter;
    const px = (e.clientX - r.left - c.clientLeft) * c.width / c.clientWidth;
    const py = (e.clientY - r.top - c.clientTop) * c.height / c.clientHeight;
    return this.view.fromPixel(px, py);
  }

  // --- The API on window.explorer (README: "Your own digit") ----------------------------
  // encode(pixels): 784 values in [0, 1], row-major -> {z} (AE) or {mean, log_var} (VAE);
  // decode(z) -> 784 values in (0, 1); input() -> the 784 values the model sees now, or null.
  // A conditional model is given a label too: the one chosen on the page unless one is named.
  encode(pixels, label = this.label) {
    return encode(this.meta.encoder, this.meta.heads, this.arrays, pixels, this.condition(label));
  }
  decode(z, label = this.label) { return decode(this.meta.layers, this.arrays, Float32Array.from(z), this.condition(label)); }
  input() { return this.current ? Float32Array.from(this.current) : null; }

  // What the networks are given besides x or z: a conditional model's label as a one-hot vector, else nothing.
  condition(label) {
    if (!this.meta.conditional) return null;
    const y = new Float32Array(this.meta.classes.length);
    y[label] = 1;
    return y;
  }

  // --- A conditional model: the label, read off the input by the model itself unless the reader picks one --
  // Each button carries the bar of p(y|x) for its label (labelPosterior); a press gives the model that label
  // until the pad is cleared.
  setUpLabels() {
    const buttons = this.meta.classes.map((name, label) => {
      const button = document.createElement("button"), bar = document.createElement("span"), text = document.createElement("span");
      button.type = "button";
      bar.className = "bar";
      bar.append(document.createElement("i"));
      text.textContent = name;  // a reader's class name: text, never markup
      button.append(bar, text);
      button.addEventListener("click", () => this.setLabel(label));
      return button;
    });
    document.getElementById("label-buttons").replaceChildren(...buttons);
    document.getElementById("labels").hidden = false;
    this.showLabels();
  }

  // The reader's label: the input, the plane and its code are encoded and decoded again with it.
  setLabel(label) {
    this.picked = label;
    this.label = label;
    if (this.current) {
      this.analyse(this.current, this.own);
    } else {
      this.showLabels();
      if (this.point !== undefined) this.moveTo(this.point);
    }
  }

  // The bars of p(y|x), the pressed button and, in words, which label the model is given and why.
  showLabels() {
    const p = this.labelProbabilities, name = this.meta.classes[this.label];
    document.querySelectorAll("#label-buttons button").forEach((button, y) => {
      button.setAttribute("aria-pressed", String(y === this.label));
      button.querySelector("i").style.height = p ? `${(100 * p[y]).toFixed(1)}%` : "0";
      button.title = p ? `p(y = ${this.meta.classes[y]} | x) = ${p[y].toFixed(2)}` : "";
    });
    document.getElementById("label-text").textContent = p
      ? `Given y = ${name}: ${this.labelSource} (p(y|x) = ${p[this.label].toFixed(2)}). A press gives the model another ` +
        "label until the pad is cleared."
      : this.picked !== null ? `Given y = ${name}: your choice, kept until the pad is cleared.`
      : `Given y = ${name} (the plane above is decoded with it). Draw a ${this.meta.noun}: the model reads its label.`;
  }

  pickPixels(pick) {
    return Float32Array.from(this.arrays.pick_images.subarray(pick * 784, (pick + 1) * 784), (v) => v / 255);
  }

  // --- Your own digit: what the model makes of it ------------------------------------------
  clearYours() {
    this.current = null;
    this.yours = null;
    this.picked = this.own = this.labelProbabilities = null;
    if (this.meta.conditional) this.showLabels();
    document.getElementById("yours-result").hidden = true;
    this.moveTo(this.point);
    if (this.tell) this.tell({explorer: "result", result: null});
  }

  // The model's prior p(z) as a mixture of diagonal Gaussians, from the page's data. A page made before priors
  // were objects holds none: its model's prior was N(0, I), one component at 0 of variance 1.
  prior() {
    const d = this.meta.latent_dim, mean = this.arrays.prior_mean || new Float32Array(d);
    return {name: this.meta.prior || "N(0, I)", mean, log_var: this.arrays.prior_log_var || new Float32Array(d),
            components: mean.length / d};
  }

  // The input's terms at its point code given ``label`` (null: no label), from its encoder features: the code,
  // the reconstruction x_hat there, −log p(x|z) at z = the code, the KL (0 for an AE) and their sum, ``score``.
  pointTerms(features, label) {
    const code = latentHeads(this.meta.heads, this.arrays, features, this.condition(label));
    const z = code.z || code.mean;  // the point code: the AE's z, the VAE's posterior mean
    const x_hat = this.decode(z, label);
    const recon = reconstruction(x_hat, this.current, this.meta.likelihood);
    const kl = code.mean ? klDivergence(code.mean, code.log_var, this.prior()) : 0;
    return {code, z, x_hat, recon, kl, score: recon + kl};
  }

  // Send an input (784 values in [0, 1]) through the model: its code, its reconstruction, and for a VAE the
  // reconstruction at the posterior mean plus the KL and where that sum falls among the test images'. A
  // conditional model first reads the label: the input's terms under every label give p(y|x)
  // (labelPosterior), and the model is given the reader's pick, else ``own`` (a picked test image's label),
  // else the likeliest.
  analyse(pixels, own = null) {
    this.current = Float32Array.from(pixels);
    this.own = own;
    const features = encoderFeatures(this.meta.encoder, this.arrays, this.current);
    let terms;
    if (this.meta.conditional) {
      const every = this.meta.classes.map((_, y) => this.pointTerms(features, y));
      const p = labelPosterior(every.map((t) => t.score)), likeliest = p.indexOf(Math.max(...p));
      this.labelProbabilities = p;
      this.label = this.picked ?? own ?? likeliest;
      this.labelSource = this.picked !== null ? "your choice" : own !== null ? "the test image's own label" : "the likeliest";
      this.showLabels();
      terms = every[this.label];
      this.showEveryLabel(terms.z);
    } else {
      terms = this.pointTerms(features, null);
    }
    const {code, z, x_hat, recon, kl, score} = terms;
    const sd = code.log_var ? Array.from(code.log_var, (v) => Math.exp(0.5 * v)) : null;
    drawPixels(document.getElementById("input"), this.current);
    drawPixels(document.getElementById("recon"), x_hat);
    const test = this.arrays.test_loss;
    let below = 0;
    for (let i = 0; i < test.length; i++) if (test[i] < score) below++;
    const share = (100 * below / test.length).toFixed(1);
    const lines = [...this.codeLines(z, sd), ...this.termLines(code, recon, kl, score, share)];
    document.getElementById("yours-text").replaceChildren(...lines.map((line) => {
      const row = document.createElement("div");
      row.textContent = line;
      return row;
    }));
    document.getElementById("yours-result").hidden = false;
    this.yours = {z, sd};
    this.analysed(z);
    this.moveTo(this.point);
    if (this.tell) {
      const given = this.meta.conditional ? {given: this.meta.classes[this.label], source: this.labelSource,
                                             probability: this.labelProbabilities[this.label]} : {given: null};
      this.tell({explorer: "result", result: {latent_dim: this.D, recon, kl: code.mean ? kl : null, score, share: +share,
                                              units: this.meta.units, x_hat: Array.from(x_hat), ...given}});
    }
  }

  // The input's numbers in words, each named for what it is: the reconstruction and the KL at the posterior
  // mean, and their sum, a point estimate (the ELBO averages the reconstruction over q(z|x): the sum at the
  // mean is no bound on log p(x)), ranked among the test images' same sum.
  termLines(code, recon, kl, score, share) {
    const n = this.arrays.test_loss.length.toLocaleString("en"), units = this.meta.units;
    if (!code.mean) return [`reconstruction error ${recon.toFixed(2)}: higher than ${share} % of the ${n} test images' (${units})`];
    const given = this.meta.conditional ? ", y" : "", prior = this.prior();
    const klHow = prior.components > 1 ? " at z = mean, log q(z|x) − log p(z) (a mixture has no closed form)" : " in closed form";
    return [`reconstruction −log p(x|z${given}) at z = mean: ${recon.toFixed(2)}`,
            `KL(q(z|x${given}) ‖ ${prior.name})${klHow}: ${kl.toFixed(2)}`,
            `their sum ${score.toFixed(2)}: the −ELBO read at the mean, a point estimate and not a bound (the ELBO ` +
            `averages the reconstruction over z ~ q(z|x${given})); higher than ${share} % of the ${n} test images' ` +
            `same sum (${units})`];
  }

  // A conditional model: your digit's code, how it is written, decoded with every label.
  showEveryLabel(z) {
    const cells = this.meta.classes.map((name, label) => {
      const cell = document.createElement("figure"), canvas = document.createElement("canvas");
      canvas.width = canvas.height = 28;
      canvas.className = "digit tiny";
      drawPixels(canvas, this.decode(z, label));
      const caption = document.createElement("figcaption");
      caption.textContent = name;
      cell.append(canvas, caption);
      return cell;
    });
    const box = document.getElementById("every-label"), heading = document.createElement("div");
    heading.className = "caption";
    heading.textContent = `its code, how it is written, decoded with every label:`;
    box.replaceChildren(heading, ...cells);
    box.hidden = false;
  }

  analysed(z) {}  // what a page adds for your digit (ProjectionExplorer: its nearest test digits)

  moveTo(point) {
    this.point = point;
    this.show(this.latent(point));
  }

  show(z) {
    drawPixels(this.image, this.decode(z));
    const where = this.onPlot(z);
    document.getElementById("coords").textContent = this.coordsText(where);
    this.drawOverlay(where);
  }

  nearestPick(point, radiusPx) {
    const s = this.arrays.pick_scatter, [px, py] = this.view.toPixel(point[0], point[1]);
    let best = -1, bestD = radiusPx * radiusPx;
    for (let i = 0; i < s.length / 2; i++) {
      const [qx, qy] = this.view.toPixel(s[2 * i], s[2 * i + 1]);
      const d = (qx - px) ** 2 + (qy - py) ** 2;
      if (d < bestD) { bestD = d; best = i; }
    }
    return best;
  }

  drawBackground() {
    const ctx = this.scatter.getContext("2d"), W = this.scatter.width, H = this.scatter.height;
    ctx.fillStyle = "white";
    ctx.fillRect(0, 0, W, H);
    drawAxes(ctx, this.view, this.meta.axes);
    this.drawGuides(ctx);
    const s = this.arrays.scatter, labels = this.arrays.labels, colours = this.meta.colours;
    ctx.save();  // dots outside the data box would cover the margins and the axis labels
    const [left, top] = this.view.toPixel(this.view.x0, this.view.y1), [right, bottom] = this.view.toPixel(this.view.x1, this.view.y0);
    ctx.beginPath();
    ctx.rect(left, top, right - left, bottom - top);
    ctx.clip();
    ctx.globalAlpha = 0.55;
    for (let i = 0; i < labels.length; i++) {
      const [x, y] = this.view.toPixel(s[2 * i], s[2 * i + 1]);
      ctx.fillStyle = colours[labels[i]];
      ctx.fillRect(x - 1, y - 1, 2.2, 2.2);
    }
    ctx.globalAlpha = 1;
    const p = this.arrays.pick_scatter;  // the clickable digits: larger, outlined
    ctx.lineWidth = 0.8;
    for (let i = 0; i < p.length / 2; i++) {
      const [x, y] = this.view.toPixel(p[2 * i], p[2 * i + 1]);
      ctx.beginPath();
      ctx.arc(x, y, 3, 0, 2 * Math.PI);
      ctx.fillStyle = colours[this.arrays.pick_labels[i]];
      ctx.fill();
      ctx.strokeStyle = "white";
      ctx.stroke();
    }
    ctx.restore();
    this.background = ctx.getImageData(0, 0, W, H);
  }

  drawGuides(ctx) {}  // drawn under the dots (PlaneExplorer: the prior's circles)

  drawOverlay(where) {
    const ctx = this.scatter.getContext("2d");
    ctx.putImageData(this.background, 0, 0);
    this.drawMarks(ctx);
    if (this.yours) {  // your own digit: a black cross at its code
      const [cx, cy] = this.onPlot(this.yours.z);
      const [px, py] = this.view.toPixel(cx, cy);
      ctx.strokeStyle = "black";
      ctx.lineWidth = 3;
      ctx.beginPath();
      ctx.moveTo(px - 8, py - 8); ctx.lineTo(px + 8, py + 8); ctx.moveTo(px + 8, py - 8); ctx.lineTo(px - 8, py + 8);
      ctx.stroke();
      this.drawYours(ctx, cx, cy);
    }
    const [x, y] = this.view.toPixel(where[0], where[1]);
    ctx.beginPath();
    ctx.arc(x, y, 6, 0, 2 * Math.PI);
    ctx.lineWidth = 2.5;
    ctx.strokeStyle = this.pinned ? "#d62728" : "black";
    ctx.fillStyle = "white";
    ctx.fill();
    ctx.stroke();
  }

  drawMarks(ctx) {}             // the page's own marks over the dots
  drawYours(ctx, cx, cy) {}     // more around your digit's cross (PlaneExplorer, VAE: its 2 sd ellipse)
}

// --- A 2-D latent: the plane itself ----------------------------------------------------------
class PlaneExplorer extends Explorer {
  constructor(meta, arrays) {
    super(meta, arrays);
    this.pinned = null;  // the pinned point in plot coordinates, or null
    this.chosen = null;  // index (into the pickable digits) of the test digit clicked last
    this.arrays.pick_codes = this.arrays.pick_scatter;  // in 2-D the plot shows the codes themselves
  }

  get pageClass() { return "plane"; }

  legendNote() {
    if (!this.meta.posterior) return "";
    const prior = this.prior(), q = "a picked test image's black ellipse: 2 sd of q(z|x)";
    return prior.components > 1 ? `grey shading: the density of the prior p(z), the ${prior.name}; ${q}`
                                : `dashed circles: 1 and 2 sd of the prior ${prior.name}; ${q}`;
  }

  start() {
    this.scatter.addEventListener("pointermove", (e) => { if (!this.pinned) this.moveTo(this.toPlot(e)); });
    this.moveTo([0, 0]);
  }

  latent(point) { return Float32Array.from(point); }
  onPlot(z) { return z; }
  coordsText(where) {
    return `z = (${fmt(where[0])}, ${fmt(where[1])})` + (this.meta.conditional ? `, decoded given y = ${this.meta.classes[this.label]}` : "");
  }

  codeLines(z, sd) {
    const lines = [`code ${sd ? "(posterior mean)" : "z"} = (${fmt(z[0])}, ${fmt(z[1])})`];
    if (sd) lines.push(`posterior sd (${sd[0].toFixed(2)}, ${sd[1].toFixed(2)})`);
    return lines;
  }

  click(point) {
    const pick = this.nearestPick(point, 8);
    if (this.pinned && pick < 0) { this.unpin(); return; }  // a second click elsewhere lets the pointer decode again
    this.chosen = pick >= 0 ? pick : null;
    this.pinned = pick >= 0 ? [this.arrays.pick_codes[2 * pick], this.arrays.pick_codes[2 * pick + 1]] : point;
    if (pick >= 0) {  // a test image goes the way a drawn one does, given its own label until the reader picks one
      this.picked = null;
      this.analyse(this.pickPixels(pick), this.arrays.pick_labels[pick]);
    }
    this.moveTo(this.pinned);
    this.showChosen();
  }

  // A picked test image is the input: the pin follows its code, which moves with the label it is given.
  analysed(z) {
    if (!this.inputIsChosen) return;
    this.pinned = this.point = [z[0], z[1]];
    this.showChosen();
  }

  // Whether the input analysed last is the picked test image (not a drawing made since).
  get inputIsChosen() { return this.chosen !== null && this.own !== null && this.yours !== null; }

  unpin() {
    this.pinned = null;
    this.chosen = null;
    this.showChosen();
    this.moveTo(this.point);
  }

  key(e) {
    if (e.key === "Escape" && this.pinned) { this.unpin(); return; }
    const steps = {ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, 1], ArrowDown: [0, -1]};
    if (!(e.key in steps)) return;
    e.preventDefault();
    const step = 0.01 * this.view.span;
    const from = this.pinned || this.point;
    this.pinned = [from[0] + steps[e.key][0] * step, from[1] + steps[e.key][1] * step];
    this.moveTo(this.pinned);
  }

  showChosen() {
    const box = document.getElementById("chosen");
    if (this.chosen === null) { box.hidden = true; return; }
    box.hidden = false;
    drawDigit(document.getElementById("original"), this.arrays.pick_images, this.chosen);
    const i = this.chosen, label = this.arrays.pick_labels[i];
    // its code as the page encodes it now: a conditional model's moves with the label it is given
    const mean = this.inputIsChosen ? this.yours.z : [this.arrays.pick_codes[2 * i], this.arrays.pick_codes[2 * i + 1]];
    const given = this.meta.conditional ? ` y = ${this.meta.classes[this.label]}` : "";
    let text = `test image ${i}, ${this.meta.noun} ${this.meta.classes[label]}; ` +
      `${this.meta.point_code}${given}: (${fmt(mean[0])}, ${fmt(mean[1])})`;
    if (this.meta.posterior) {
      const sd = this.inputIsChosen ? this.yours.sd : [0, 1].map((j) => Math.exp(0.5 * this.arrays.pick_log_var[2 * i + j]));
      text += `, posterior sd (${sd[0].toFixed(2)}, ${sd[1].toFixed(2)})`;
    }
    document.getElementById("chosen-text").textContent = text;
    this.showPosterior(i);
  }

  // The picked test image's true posterior p(z|x), computed by quadrature when the page was made
  // (python -m latentlab posterior: the page's decoder is too slow to integrate here), zoomed to the
  // image's own box on axes in z units, under the 1- and 2-sd ellipses of the encoder's q(z|x) (white), of
  // q*, the best diagonal Gaussian for this image alone (dashed cyan), and, where the page has it, of q refined
  // by gradient steps on this image's ELBO (dotted green, core/refinement.py); and its numbers, each named and
  // each gap defined where it is shown (core/posterior.py: log p(x) − ELBO(q) = approximation gap + amortization gap).
  showPosterior(i) {
    const box = document.getElementById("posterior-box"), zoom = this.arrays.posterior_zoom;
    box.hidden = !zoom || i >= this.arrays.posterior_gaps.length / 3;
    if (box.hidden) return;
    const canvas = document.getElementById("posterior"), ctx = canvas.getContext("2d");
    const [x0, x1, y0, y1] = this.arrays.posterior_zoom_box.subarray(4 * i, 4 * i + 4);
    const view = insetView(canvas, [x0, x1, y0, y1]);
    ctx.fillStyle = "white";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    const n = Math.round(Math.sqrt(zoom.length / (this.arrays.posterior_gaps.length / 3)));
    const cells = zoom.subarray(i * n * n, (i + 1) * n * n), image = new ImageData(n, n);
    for (let c = 0; c < n * n; c++) {  // a dark-to-warm ramp: black where there is no mass
      const v = cells[c] / 255;
      image.data.set([Math.round(255 * Math.min(1, 1.6 * v)), Math.round(255 * v * v), Math.round(90 * v), 255], 4 * c);
    }
    const cellCanvas = document.createElement("canvas");
    cellCanvas.width = cellCanvas.height = n;
    cellCanvas.getContext("2d").putImageData(image, 0, 0);
    const [left, top] = view.toPixel(x0, y1), [right, bottom] = view.toPixel(x1, y0);
    ctx.save();
    ctx.beginPath();
    ctx.rect(left, top, right - left, bottom - top);
    ctx.clip();
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(cellCanvas, left, top, right - left, bottom - top);
    const lv = this.arrays.pick_log_var, qs = this.arrays.posterior_q_star.subarray(4 * i, 4 * i + 4);
    const refined = this.arrays.posterior_q_refined ? this.arrays.posterior_q_refined.subarray(4 * i, 4 * i + 4) : null;
    ctx.lineWidth = 1.5;
    for (const [colour, dash, [mx, my], [vx, vy]] of [
      ["white", [], [this.arrays.pick_codes[2 * i], this.arrays.pick_codes[2 * i + 1]], [lv[2 * i], lv[2 * i + 1]]],
      ["#22d3ee", [4, 3], [qs[0], qs[1]], [qs[2], qs[3]]],
      ...(refined ? [["#a3e635", [1.5, 3], [refined[0], refined[1]], [refined[2], refined[3]]]] : [])]) {
      ctx.strokeStyle = colour;
      ctx.setLineDash(dash);
      for (const r of [1, 2]) ellipse(ctx, view, mx, my, r * Math.exp(0.5 * vx), r * Math.exp(0.5 * vy));
    }
    ctx.setLineDash([]);
    ctx.restore();
    drawInsetAxes(ctx, view, this.meta.axes);
    const [logp, best, elbo] = this.arrays.posterior_gaps.subarray(3 * i, 3 * i + 3), units = this.meta.units;
    document.getElementById("posterior-text").replaceChildren(...[
      `The true posterior p(z|x) of this image, by quadrature on a grid (axes: z in its own units).`,
      `log p(x) = ${logp.toFixed(2)}: exact, up to the grid's error.`,
      `ELBO(q*) = ${best.toFixed(2)}: the bound reached by q* (dashed cyan), the best diagonal Gaussian for this image alone.`,
      `ELBO(q) = ${elbo.toFixed(2)}: the bound reached by the encoder's q(z|x) (white); both ELBOs computed on the grid, not sampled.`,
      `Approximation gap ${(logp - best).toFixed(2)} = log p(x) − ELBO(q*): what no diagonal Gaussian can capture of this posterior.`,
      `Amortization gap ${(best - elbo).toFixed(2)} = ELBO(q*) − ELBO(q): what the encoder loses by computing q for every ` +
      `image with one network instead of fitting this one alone.`,
      ...(refined ? [this.refinedLine(i, best, elbo)] : []),
      `(${units})`].map((line) => {
      const row = document.createElement("div");
      row.textContent = line;
      return row;
    }));
  }

  // The encoder's q refined for this image alone: how much of its amortization gap the steps closed.
  refinedLine(i, best, elbo) {
    const refined = this.arrays.posterior_elbo_refined[i];
    return `ELBO(q refined) = ${refined.toFixed(2)}: the encoder's q after gradient steps on this image's own ELBO ` +
      `(dotted green), ${(best - refined).toFixed(2)} short of ELBO(q*), having closed ${(refined - elbo).toFixed(2)} ` +
      `of the amortization gap.`;
  }

  drawGuides(ctx) {
    if (!this.meta.posterior) return;
    const prior = this.prior();
    if (prior.components > 1 && this.arrays.prior_density) return this.drawDensity(ctx, this.arrays.prior_density);
    ctx.strokeStyle = "#555";  // a Gaussian prior: 1 and 2 sd
    ctx.setLineDash([5, 4]);
    const sd = Array.from(prior.log_var.subarray(0, 2), (v) => Math.exp(0.5 * v));
    for (const r of [1, 2]) ellipse(ctx, this.view, prior.mean[0], prior.mean[1], r * sd[0], r * sd[1]);
    ctx.setLineDash([]);
  }

  // The prior's density on the page's bounds (explorer.py prior_density: row 0 at the top, maximum 1) as grey.
  drawDensity(ctx, density) {
    const n = Math.round(Math.sqrt(density.length)), image = new ImageData(n, n);
    for (let c = 0; c < n * n; c++) image.data.set([90, 90, 90, Math.round(110 * Math.sqrt(density[c]))], 4 * c);
    const cells = document.createElement("canvas");
    cells.width = cells.height = n;
    cells.getContext("2d").putImageData(image, 0, 0);
    const [x0, x1, y0, y1] = this.meta.bounds;
    const [left, top] = this.view.toPixel(x0, y1), [right, bottom] = this.view.toPixel(x1, y0);
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(cells, left, top, right - left, bottom - top);
  }

  drawMarks(ctx) {
    if (this.chosen === null || !this.meta.posterior) return;
    const i = this.chosen, lv = this.arrays.pick_log_var;  // q(z|x) of the picked test image: 2 sd
    // given the label the page gives it now (a conditional model's code moves with it), else as saved
    const [mx, my] = this.inputIsChosen ? this.yours.z : [this.arrays.pick_codes[2 * i], this.arrays.pick_codes[2 * i + 1]];
    const [sx, sy] = this.inputIsChosen ? this.yours.sd : [Math.exp(0.5 * lv[2 * i]), Math.exp(0.5 * lv[2 * i + 1])];
    ctx.strokeStyle = "black";
    ctx.lineWidth = 1.5;
    ellipse(ctx, this.view, mx, my, 2 * sx, 2 * sy);
  }

  drawYours(ctx, cx, cy) {
    if (!this.yours.sd) return;
    ctx.lineWidth = 1.5;
    ctx.setLineDash([3, 3]);
    ellipse(ctx, this.view, cx, cy, 2 * this.yours.sd[0], 2 * this.yours.sd[1]);
    ctx.setLineDash([]);
  }
}

// --- A larger latent: its codes on the first two principal directions ------------------------
// The decoded code is (1 - t)·A + t·B plus the PC sliders: moving over the plot decodes nothing.
class ProjectionExplorer extends Explorer {
  constructor(meta, arrays) {
    super(meta, arrays);
    this.ends = [null, null];  // the two chosen digits A and B
    this.cursor = undefined;   // the outlined digit the arrow keys reached
  }

  get pageClass() { return "many-d"; }
  legendNote() { return "black ring: where the decoded code lies on the PC plane"; }

  start() {
    this.setUpSliders();
    this.meta.default_ends.forEach((pick, end) => this.choose(end, pick));
  }

  latent() {
    const t = +document.getElementById("t").value, D = this.D;
    const [a, b] = this.ends.map((i) => this.arrays.pick_codes.subarray(i * D, (i + 1) * D));
    const z = new Float32Array(D);
    for (let j = 0; j < D; j++) z[j] = (1 - t) * a[j] + t * b[j];
    const pcs = this.arrays.pc_directions, sd = this.arrays.pc_scale;
    document.querySelectorAll("input.pc").forEach((slider, i) => {
      const amount = +slider.value * sd[i];
      for (let j = 0; j < D; j++) z[j] += amount * pcs[i * D + j];
    });
    return z;
  }

  onPlot(z) { return this.project(z); }
  coordsText(where) { return `projection on PC 1, PC 2 = (${fmt(where[0])}, ${fmt(where[1])})`; }
  codeLines(z) { return [`projection on PC 1, PC 2 = (${this.project(z).map(fmt).join(", ")})`]; }
  analysed(z) { this.showNeighbours(z); }

  project(z) {
    const mean = this.arrays.pc_mean, pcs = this.arrays.pc_directions, out = [0, 0];
    for (let i = 0; i < 2; i++) {
      for (let j = 0; j < this.D; j++) out[i] += (z[j] - mean[j]) * pcs[i * this.D + j];
    }
    return out;
  }

  // The five test images among the page's whose codes lie nearest to z (Euclidean, in the latent space).
  showNeighbours(z) {
    const codes = this.arrays.pick_codes, D = this.D, order = [];
    for (let i = 0; i < this.meta.picks; i++) {
      let d = 0;
      for (let j = 0; j < D; j++) d += (codes[i * D + j] - z[j]) ** 2;
      order.push([d, i]);
    }
    order.sort((a, b) => a[0] - b[0]);
    const box = document.getElementById("neighbours");
    box.replaceChildren();
    for (const [, i] of order.slice(0, 5)) {
      const cell = document.createElement("figure"), canvas = document.createElement("canvas");
      canvas.width = canvas.height = 28;
      canvas.className = "digit tiny";
      drawDigit(canvas, this.arrays.pick_images, i);
      const caption = document.createElement("figcaption");
      caption.textContent = `${i}: ${this.meta.classes[this.arrays.pick_labels[i]]}`;
      cell.append(canvas, caption);
      box.append(cell);
    }
  }

  click(point) {
    const pick = this.nearestPick(point, 8);
    if (pick < 0) return;
    this.picked = null;
    this.analyse(this.pickPixels(pick), this.arrays.pick_labels[pick]);  // a test image goes the way a drawn one does
    const end = this.nextEnd;
    this.choose(end, pick);
    // Two clicks choose A, then B: the next click sets the other end.
    document.querySelector(`input[name=end][value=${end === 0 ? "B" : "A"}]`).checked = true;
  }

  // From the keyboard: the arrow keys step through the outlined test digits (a ring marks the one
  // reached), Enter or Space chooses it as the next end, A or B, as a click would.
  key(e) {
    const steps = {ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1};
    if (e.key in steps) {
      e.preventDefault();
      const n = this.meta.picks;
      this.cursor = this.cursor === undefined ? 0 : (this.cursor + steps[e.key] + n) % n;
      const i = this.cursor;
      document.getElementById("coords").textContent =
        `test image ${i}, ${this.meta.noun} ${this.meta.classes[this.arrays.pick_labels[i]]}: Enter chooses it as ` +
        (this.nextEnd === 0 ? "A" : "B");
      this.drawOverlay(this.project(this.latent()));
    } else if ((e.key === "Enter" || e.key === " ") && this.cursor !== undefined) {
      e.preventDefault();
      this.click([this.arrays.pick_scatter[2 * this.cursor], this.arrays.pick_scatter[2 * this.cursor + 1]]);
    }
  }

  // which end (A or B) the next click sets
  get nextEnd() { return document.querySelector("input[name=end]:checked").value === "A" ? 0 : 1; }

  choose(end, pick) {
    this.ends[end] = pick;
    drawDigit(document.getElementById(end === 0 ? "end-a" : "end-b"), this.arrays.pick_images, pick);
    document.getElementById(end === 0 ? "end-a-text" : "end-b-text").textContent =
      `test image ${pick}, ${this.meta.noun} ${this.meta.classes[this.arrays.pick_labels[pick]]}`;
    if (this.ends[0] !== null && this.ends[1] !== null) this.moveTo(null);
  }

  setUpSliders() {
    const box = document.getElementById("pcs");
    for (let i = 0; i < this.arrays.pc_scale.length; i++) {
      const row = document.createElement("label"), slider = document.createElement("input"), shown = document.createElement("output");
      Object.assign(slider, {className: "pc", type: "range", min: -3, max: 3, step: 0.05, value: 0});
      shown.textContent = "0.00 sd";
      row.append(`PC ${i + 1} `, slider, shown);
      box.appendChild(row);
    }
    const update = () => {
      document.querySelectorAll("input.pc").forEach((s) => { s.nextElementSibling.textContent = `${(+s.value).toFixed(2)} sd`; });
      document.getElementById("t-out").textContent = (+document.getElementById("t").value).toFixed(2);
      this.moveTo(null);
    };
    document.querySelectorAll("input[type=range]").forEach((s) => s.addEventListener("input", update));
    document.getElementById("reset").addEventListener("click", () => {
      document.querySelectorAll("input.pc").forEach((s) => { s.value = 0; });
      update();
    });
  }

  drawMarks(ctx) {
    if (this.cursor !== undefined) {  // the digit the arrow keys reached
      const [x, y] = this.view.toPixel(this.arrays.pick_scatter[2 * this.cursor], this.arrays.pick_scatter[2 * this.cursor + 1]);
      ctx.beginPath();
      ctx.arc(x, y, 9, 0, 2 * Math.PI);
      ctx.lineWidth = 2;
      ctx.strokeStyle = "#1f77b4";
      ctx.stroke();
    }
    ctx.fillStyle = "black";  // the two chosen digits
    ctx.font = "bold 13px sans-serif";
    this.ends.forEach((pick, end) => {
      if (pick === null) return;
      const [x, y] = this.view.toPixel(this.arrays.pick_scatter[2 * pick], this.arrays.pick_scatter[2 * pick + 1]);
      ctx.fillText(end === 0 ? "A" : "B", x + 5, y - 5);
    });
  }
}

// The plot's data box and its mapping to canvas pixels (y up), with room for the axes.
function viewBox(meta) {
  const [x0, x1, y0, y1] = meta.bounds, margin = 44;
  const canvas = document.getElementById("scatter"), W = canvas.width, H = canvas.height;
  const sx = (W - margin - 10) / (x1 - x0), sy = (H - margin - 10) / (y1 - y0);
  return {
    x0, x1, y0, y1, span: Math.max(x1 - x0, y1 - y0), sx, sy,
    toPixel: (x, y) => [margin + (x - x0) * sx, 10 + (y1 - y) * sy],
    fromPixel: (px, py) => [x0 + (px - margin) / sx, y1 - (py - 10) / sy],
  };
}

// Round ticks between lo and hi, about ``count`` of them.
function niceTicks(lo, hi, count = 6) {
  const step0 = (hi - lo) / count, mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= step0);
  const ticks = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi; t += step) ticks.push(+t.toFixed(10));
  return ticks;
}

function drawAxes(ctx, view, axes) {
  ctx.strokeStyle = "#ddd";
  ctx.fillStyle = "#333";
  ctx.font = "11px sans-serif";
  ctx.lineWidth = 1;
  for (const t of niceTicks(view.x0, view.x1)) {
    const [x] = view.toPixel(t, view.y0);
    ctx.beginPath(); ctx.moveTo(x, 10); ctx.lineTo(x, view.toPixel(0, view.y0)[1]); ctx.stroke();
    ctx.fillText(String(t), x - 8, view.toPixel(0, view.y0)[1] + 14);
  }
  for (const t of niceTicks(view.y0, view.y1)) {
    const [, y] = view.toPixel(view.x0, t);
    ctx.beginPath(); ctx.moveTo(view.toPixel(view.x0, 0)[0], y); ctx.lineTo(view.toPixel(view.x1, 0)[0], y); ctx.stroke();
    ctx.textAlign = "right";
    ctx.fillText(String(t), view.toPixel(view.x0, 0)[0] - 6, y + 4);
    ctx.textAlign = "left";
  }
  ctx.font = "12px sans-serif";
  const [, bottom] = view.toPixel(0, view.y0);
  ctx.fillText(axes[0], (view.toPixel(view.x0, 0)[0] + view.toPixel(view.x1, 0)[0]) / 2 - 10, bottom + 30);
  ctx.save();
  ctx.translate(12, (view.toPixel(0, view.y0)[1] + view.toPixel(0, view.y1)[1]) / 2 + 10);
  ctx.rotate(-Math.PI / 2);
  ctx.fillText(axes[1], 0, 0);
  ctx.restore();
}

// The inset's box [x0, x1, y0, y1] on its canvas, with room on the left and below for the ticks.
function insetView(canvas, [x0, x1, y0, y1]) {
  const left = 38, bottom = 28, top = 6, right = 8;
  const sx = (canvas.width - left - right) / (x1 - x0), sy = (canvas.height - top - bottom) / (y1 - y0);
  return {x0, x1, y0, y1, sx, sy, toPixel: (x, y) => [left + (x - x0) * sx, top + (y1 - y) * sy]};
}

// The inset's frame, its ticks in z units and the axes' names.
function drawInsetAxes(ctx, view, axes) {
  const [left, top] = view.toPixel(view.x0, view.y1), [right, bottom] = view.toPixel(view.x1, view.y0);
  ctx.strokeStyle = "#333";
  ctx.fillStyle = "#333";
  ctx.lineWidth = 1;
  ctx.strokeRect(left, top, right - left, bottom - top);
  ctx.font = "10px sans-serif";
  ctx.textAlign = "center";
  for (const t of niceTicks(view.x0, view.x1, 3)) {
    const [x] = view.toPixel(t, view.y0);
    ctx.beginPath(); ctx.moveTo(x, bottom); ctx.lineTo(x, bottom + 4); ctx.stroke();
    ctx.fillText(String(t), x, bottom + 13);
  }
  ctx.fillText(axes[0], (left + right) / 2, bottom + 25);
  ctx.textAlign = "right";
  for (const t of niceTicks(view.y0, view.y1, 3)) {
    const [, y] = view.toPixel(view.x0, t);
    ctx.beginPath(); ctx.moveTo(left - 4, y); ctx.lineTo(left, y); ctx.stroke();
    ctx.fillText(String(t), left - 6, y + 3);
  }
  ctx.textAlign = "left";
  ctx.fillText(axes[1], 1, top + 9);
}

function ellipse(ctx, view, cx, cy, rx, ry) {
  const [x, y] = view.toPixel(cx, cy);
  ctx.beginPath();
  ctx.ellipse(x, y, rx * view.sx, ry * view.sy, 0, 0, 2 * Math.PI);
  ctx.stroke();
}

function drawDigit(canvas, images, i) {
  const ctx = canvas.getContext("2d"), img = ctx.createImageData(28, 28);
  for (let p = 0; p < 784; p++) {
    const v = images[i * 784 + p];
    img.data[4 * p] = img.data[4 * p + 1] = img.data[4 * p + 2] = v;
    img.data[4 * p + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

function fmt(v) { return (v >= 0 ? "+" : "") + v.toFixed(2); }

function drawPixels(canvas, pixels) {
  const ctx = canvas.getContext("2d"), img = ctx.createImageData(28, 28);
  for (let p = 0; p < 784; p++) {
    img.data[4 * p] = img.data[4 * p + 1] = img.data[4 * p + 2] = Math.round(255 * pixels[p]);
    img.data[4 * p + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

// -log p(x|z) of the model's likelihood (likelihoods.py): the squared error (Gaussian, constant dropped) or
// the cross-entropy with log clamped at -100 as PyTorch's binary_cross_entropy does (Bernoulli).
function reconstruction(x_hat, x, likelihood) {
  let s = 0;
  for (let i = 0; i < 784; i++) {
    if (likelihood === "bernoulli") {
      s -= x[i] * Math.max(Math.log(x_hat[i]), -100) + (1 - x[i]) * Math.max(Math.log(1 - x_hat[i]), -100);
    } else {
      s += (x_hat[i] - x[i]) ** 2;
    }
  }
  return s;
}

// KL(q(z|x) ‖ p(z)) of q = N(mean, exp(log_var)) as distributions.kl_divergence computes a test image's
// point loss: in closed form against a Gaussian prior (one component), else log q(z|x) − log p(z) at z = mean.
function klDivergence(mean, log_var, prior) {
  const d = mean.length;
  if (prior.components === 1) {
    let s = 0;
    for (let j = 0; j < d; j++) {
      const v = Math.exp(log_var[j] - prior.log_var[j]);
      s += 0.5 * (v + (mean[j] - prior.mean[j]) ** 2 / Math.exp(prior.log_var[j]) - 1 - Math.log(v));
    }
    return s;
  }
  let logQ = 0;
  for (let j = 0; j < d; j++) logQ -= 0.5 * (Math.log(2 * Math.PI) + log_var[j]);
  return logQ - logPrior(mean, prior);
}

// A conditional model's label of an input by Bayes' rule: p(y|x) = p(x|y) p(y) / sum over y' of the same, with
// log p(x|y) estimated by minus score[y] (the reconstruction at the posterior mean plus the KL, given y)
// and p(y) uniform, so that p(y|x) is the softmax of minus the scores.
function labelPosterior(scores) {
  const top = Math.max(...scores.map((s) => -s)), weights = scores.map((s) => Math.exp(-s - top));
  const total = weights.reduce((a, b) => a + b, 0);
  return weights.map((w) => w / total);
}

// log p(z) of a mixture of K diagonal Gaussians of equal weight (prior.mean, prior.log_var: K * D values).
function logPrior(z, prior) {
  const d = z.length, terms = [];
  for (let k = 0; k < prior.components; k++) {
    let s = 0;
    for (let j = 0; j < d; j++) {
      const lv = prior.log_var[k * d + j];
      s -= 0.5 * (Math.log(2 * Math.PI) + lv + (z[j] - prior.mean[k * d + j]) ** 2 / Math.exp(lv));
    }
    terms.push(s);
  }
  const top = Math.max(...terms);
  return top + Math.log(terms.reduce((sum, t) => sum + Math.exp(t - top), 0)) - Math.log(prior.components);
}

// --- Your own digit: the pad (explorer and compare pages alike) ----------------------------
// Pointer events serve mouse, touch and pen. When a stroke ends, onInput gets the 784 values the
// model sees (prepareInk, as the data set's images were made); the Clear button calls onClear. A photo
// chosen with the file picker is read here, in the browser (the page's policy lets no request leave it),
// and its ink painted on the pad, which then goes the way of a stroke.
function setUpPad(onInput, onClear, preparation = "mnist") {
  const pad = document.getElementById("pad"), ctx = pad.getContext("2d");
  const blank = () => {
    ctx.fillStyle = "black";
    ctx.fillRect(0, 0, pad.width, pad.height);
  };
  blank();
  let last = null;
  const at = (e) => {
    const r = pad.getBoundingClientRect();
    return [(e.clientX - r.left - pad.clientLeft) * pad.width / pad.clientWidth,
            (e.clientY - r.top - pad.clientTop) * pad.height / pad.clientHeight];
  };
  const stroke = (from, to) => {
    ctx.strokeStyle = "white";
    ctx.lineWidth = 22;  // about 2 pixels of the 28 x 28 input, as MNIST's pen strokes
    ctx.lineCap = ctx.lineJoin = "round";
    ctx.beginPath();
    ctx.moveTo(from[0], from[1]);
    ctx.lineTo(to[0], to[1]);
    ctx.stroke();
  };
  pad.addEventListener("pointerdown", (e) => {
    e.preventDefault();
    pad.setPointerCapture(e.pointerId);
    last = at(e);
    stroke(last, last);
  });
  pad.addEventListener("pointermove", (e) => {
    if (!last) return;
    const next = at(e);
    stroke(last, next);
    last = next;
  });
  const send = () => {
    const pixels = prepareInk(padInk(pad), pad.width, pad.height, preparation);
    if (pixels) onInput(pixels);
  };
  const end = () => {
    if (!last) return;
    last = null;
    send();
  };
  pad.addEventListener("pointerup", end);
  pad.addEventListener("pointercancel", end);
  const photo = document.getElementById("photo"), note = document.getElementById("photo-note");
  photo.addEventListener("change", async () => {
    if (!photo.files.length) return;
    const ink = await readPhoto(photo.files[0]);
    note.textContent = ink ? "" : `${photo.files[0].name}: ${ink === null ? "no digit found (an image of one grey)" : "not an image this browser reads"}`;
    if (!ink) return;
    blank();
    paintInk(ctx, ink, pad.width);
    document.body.dataset.photo = photo.files[0].name;  // for the browser test: the photo is on the pad
    send();
  });
  document.getElementById("clear").addEventListener("click", () => {
    blank();
    photo.value = "";
    note.textContent = "";
    onClear();
  });
}

// A photo file as ink ({ink, w, h}, photoInk), null when it has no contrast, undefined when the browser
// cannot decode it. Read no larger than 560 pixels on its longer side: enough for a 20 x 20 digit.
async function readPhoto(file) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    return undefined;
  }
  const scale = Math.min(1, 560 / Math.max(bitmap.width, bitmap.height));
  const w = Math.max(1, Math.round(bitmap.width * scale)), h = Math.max(1, Math.round(bitmap.height * scale));
  const canvas = document.createElement("canvas");
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "white";  // a transparent photo's background reads as paper
  ctx.fillRect(0, 0, w, h);
  ctx.drawImage(bitmap, 0, 0, w, h);
  const data = ctx.getImageData(0, 0, w, h).data, grey = new Float32Array(w * h);
  for (let i = 0; i < grey.length; i++) grey[i] = (0.299 * data[4 * i] + 0.587 * data[4 * i + 1] + 0.114 * data[4 * i + 2]) / 255;
  const ink = photoInk(grey, w, h);
  return ink && {ink, w, h};
}

// Ink fitted into the square pad (side pixels), aspect ratio kept, centred: white on black.
function paintInk(ctx, {ink, w, h}, side) {
  const canvas = document.createElement("canvas"), image = new ImageData(w, h);
  for (let i = 0; i < ink.length; i++) image.data.set([255 * ink[i], 255 * ink[i], 255 * ink[i], 255], 4 * i);
  canvas.width = w;
  canvas.height = h;
  canvas.getContext("2d").putImageData(image, 0, 0);
  const scale = side / Math.max(w, h);
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(canvas, (side - w * scale) / 2, (side - h * scale) / 2, w * scale, h * scale);
}

// --- compare.html: one pad, every model's own page in a frame ------------------------------
// Each frame is a folder's explorer.html#embed. This page sends it the input ({explorer: "input"});
// it answers with its height and with what its model made of the input ({explorer: "result"}).
// Messages work between pages opened from disk (file://), where a page cannot reach into a frame.
class Compare {
  constructor(models) {
    this.models = models;  // [{title, src}], in the order of the frames
    this.frames = models.map((m) => document.querySelector(`iframe[data-title="${CSS.escape(m.title)}"]`));
    this.waiting = new Set(models.map((m) => m.title));
    this.results = new Map();
    this.current = null;
  }

  ready() {
    setUpPad((pixels) => this.send(pixels), () => this.send(null));
    window.addEventListener("message", (e) => this.receive(e));
    document.body.dataset.ready = "yes";
  }

  // The 784 values every model sees now, or null: the same for all of them.
  input() { return this.current ? Float32Array.from(this.current) : null; }

  send(pixels) {
    this.current = pixels ? Float32Array.from(pixels) : null;
    document.getElementById("input-box").hidden = !pixels;
    if (pixels) drawPixels(document.getElementById("input"), pixels);
    this.frames.forEach((frame, i) => { if (!this.waiting.has(this.models[i].title)) this.post(frame); });
  }

  post(frame) {
    const message = this.current ? {explorer: "input", pixels: Array.from(this.current)} : {explorer: "clear"};
    frame.contentWindow.postMessage(message, "*");
  }

  receive(e) {
    const i = this.frames.findIndex((frame) => frame.contentWindow === e.source);
    if (i < 0 || !e.data) return;
    const frame = this.frames[i], title = this.models[i].title;
    if (e.data.explorer === "ready") {
      this.waiting.delete(title);
      if (this.current) this.post(frame);
      if (this.waiting.size === 0) document.body.dataset.frames = "ready";
    } else if (e.data.explorer === "size") {
      frame.style.height = `${e.data.height}px`;
    } else if (e.data.explorer === "result") {
      if (e.data.result) this.results.set(title, e.data.result);
      else this.results.delete(title);
      this.showResults();
    }
  }

  // One row per model: its reconstruction of the input, its loss terms and where they rank.
  showResults() {
    const body = document.querySelector("#summary tbody");
    body.replaceChildren();
    this.models.forEach(({title}) => {
      const r = this.results.get(title);
      if (!r) return;
      const row = document.createElement("tr"), canvas = document.createElement("canvas");
      canvas.width = canvas.height = 28;
      canvas.className = "digit tiny";
      drawPixels(canvas, r.x_hat);
      const given = r.given == null ? "" : `, given y = ${r.given} (${r.source}, p(y|x) = ${r.probability.toFixed(2)})`;
      const cells = [title + given, canvas, r.recon.toFixed(2), r.kl === null ? "–" : r.kl.toFixed(2),
                     `${r.score.toFixed(2)} (${r.kl === null ? "error" : "point −ELBO, not a bound"})`, `${r.share.toFixed(1)} %`, r.units];
      for (const value of cells) {
        const cell = document.createElement("td");
        if (value instanceof HTMLElement) cell.append(value); else cell.textContent = value;
        row.append(cell);
      }
      body.append(row);
    });
    document.getElementById("summary").hidden = this.results.size === 0;
    document.body.dataset.results = String(this.results.size);
  }
}

// --- From strokes or a photo to the model's input ----------------------------------------------
// Both go the one way their data set's images were made (explorer.py PREPARATION names it):
//   mnist:  the ink's bounding box scaled to fit 20 x 20 with its aspect ratio kept, each new pixel the mean
//           of the area it covers (the anti-aliased grey levels), then placed in the 28 x 28 field with its
//           centre of mass at the centre (LeCun, Cortes & Burges: MNIST's own recipe);
//   padded: the box scaled so that its longer side is 28 pixels, aspect ratio kept, centred, padded with black.
const PREPARATIONS = {mnist: {side: 20, byMass: true}, padded: {side: 28, byMass: false}};

// ink: w x h values in [0, 1] (light strokes on black), row-major. Returns 784 values in [0, 1], or null
// when there is no ink.
function prepareInk(ink, w, h, preparation = "mnist") {
  const box = inkBox(ink, w, h), {side, byMass} = PREPARATIONS[preparation];
  if (!box) return null;
  const scale = side / Math.max(box.bw, box.bh);
  const sw = Math.max(1, Math.round(box.bw * scale)), sh = Math.max(1, Math.round(box.bh * scale));
  const small = areaResize(ink, w, box, sw, sh);
  if (!byMass) return placed(small, sw, sh, Math.floor((28 - sw) / 2), Math.floor((28 - sh) / 2));
  let mass = 0, mx = 0, my = 0;
  for (let y = 0; y < sh; y++) {
    for (let x = 0; x < sw; x++) {
      const v = small[y * sw + x];
      mass += v; mx += v * x; my += v * y;
    }
  }
  return placed(small, sw, sh, Math.round(13.5 - mx / mass), Math.round(13.5 - my / mass));
}

// The bounding box of the pixels above 0, or null where there are none.
function inkBox(ink, w, h) {
  let x0 = w, y0 = h, x1 = -1, y1 = -1;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (ink[y * w + x] > 0) { x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y); }
    }
  }
  return x1 < 0 ? null : {x0, y0, bw: x1 - x0 + 1, bh: y1 - y0 + 1};
}

// The box of ``values`` (row width w) resampled to sw x sh: each new pixel the mean of the source area it
// covers, the pixels it covers in part weighted by the part.
function areaResize(values, w, {x0, y0, bw, bh}, sw, sh) {
  const out = new Float32Array(sw * sh), fx = bw / sw, fy = bh / sh;
  for (let oy = 0; oy < sh; oy++) {
    const ys = y0 + oy * fy, ye = ys + fy;
    for (let ox = 0; ox < sw; ox++) {
      const xs = x0 + ox * fx, xe = xs + fx;
      let s = 0;
      for (let iy = Math.floor(ys); iy < Math.ceil(ye); iy++) {
        const wy = Math.min(ye, iy + 1) - Math.max(ys, iy);
        for (let ix = Math.floor(xs); ix < Math.ceil(xe); ix++) s += wy * (Math.min(xe, ix + 1) - Math.max(xs, ix)) * values[iy * w + ix];
      }
      out[oy * sw + ox] = s / (fx * fy);
    }
  }
  return out;
}

// sw x sh values placed at (dx, dy) in the 28 x 28 field: 784 values in [0, 1].
function placed(values, sw, sh, dx, dy) {
  const out = new Float32Array(784);
  for (let y = 0; y < sh; y++) {
    for (let x = 0; x < sw; x++) {
      const tx = x + dx, ty = y + dy;
      if (tx >= 0 && tx < 28 && ty >= 0 && ty < 28) out[ty * 28 + tx] = Math.min(1, values[y * sw + x]);
    }
  }
  return out;
}

// A photo's grey levels (w x h values in [0, 1], 1 white) as ink, light on black as in MNIST: inverted when
// its border, the paper, is lighter than mid-grey; then the paper's level (the border's mean) taken to 0 and
// the darkest stroke to 1, with the lowest 30 % of that range (paper texture, shadow) cut to 0 and the top
// 20 % to 1, as a pen's stroke is in MNIST. Returns null for an image with no contrast.
function photoInk(grey, w, h) {
  let border = 0, count = 0;
  for (let x = 0; x < w; x++) { border += grey[x] + grey[(h - 1) * w + x]; count += 2; }
  for (let y = 1; y < h - 1; y++) { border += grey[y * w] + grey[y * w + w - 1]; count += 2; }
  const invert = border / count > 0.5, paper = invert ? 1 - border / count : border / count;
  const ink = Float32Array.from(grey, (v) => (invert ? 1 - v : v));
  let top = 0;
  for (const v of ink) top = Math.max(top, v);
  if (top - paper < 0.1) return null;
  return ink.map((v) => Math.min(1, Math.max(0, ((v - paper) / (top - paper) - 0.3) / 0.5)));
}

// The pad's strokes as ink: its red channel (the strokes are white on black) in [0, 1].
function padInk(pad) {
  const data = pad.getContext("2d").getImageData(0, 0, pad.width, pad.height).data;
  const ink = new Float32Array(pad.width * pad.height);
  for (let i = 0; i < ink.length; i++) ink[i] = data[4 * i] / 255;
  return ink;
}
