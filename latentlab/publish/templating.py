"""Every generated page is a Jinja2 template in ``templates/`` filled with data.

Names from outside the code (a reader's class folders, paths, values read back from config.json or
metrics.json) reach a page only as template values, and the engine escapes each for where it lands:
autoescaping for HTML text and attributes, ``tojson`` for JSON inside a script element (it writes
``<``, ``>``, ``&`` and ``'`` as ``\\u003c``..., so no name can close the element or open a comment that
swallows the page's own script). explorer.js never parses markup: it writes names with
``textContent``.

Each page also carries a Content-Security-Policy that allows only what it needs: its one inline
script and its one style sheet, by their SHA-256 (so an injected element, attribute or handler never
runs), images from data: URLs (and, on index.html, the folder's own figures), frames of the
repository's own pages on compare.html, and no network request of any kind.
"""

from __future__ import annotations

import base64
import hashlib

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

ENVIRONMENT = Environment(
    loader=PackageLoader("latentlab.publish", "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)
# tojson keeps the keys in the order written (the pages' data blocks read as before) and non-ASCII as is.
ENVIRONMENT.policies["json.dumps_kwargs"] = {"ensure_ascii": False, "sort_keys": False}
NONE = "'none'"  # a CSP source list that allows nothing


def asset(name: str) -> str:
    """A file of ``templates/`` (a style sheet) as text."""
    return ENVIRONMENT.loader.get_source(ENVIRONMENT, name)[0]


def source_hash(text: str) -> str:
    """The CSP source that allows exactly this inline script or style: 'sha256-<base64 digest>'."""
    return f"'sha256-{base64.b64encode(hashlib.sha256(text.encode('utf-8')).digest()).decode('ascii')}'"


def content_security_policy(
    style: str, script: str | None = None, images: str = "data:", frames: str | None = None
) -> str:
    """The page's policy: nothing but its own style sheet, script, images and frames; no connection."""
    directives = [
        "default-src 'none'",
        f"style-src {source_hash(style)}",
        f"script-src {source_hash(script)}" if script is not None else f"script-src {NONE}",
        f"img-src {images}",
        f"frame-src {frames or NONE}",
        "base-uri 'none'",
        "form-action 'none'",
    ]
    return "; ".join(directives)


def render(
    template: str, *, style: str, script: str | None = None, images: str = "data:", frames: str | None = None, **values
) -> str:
    """``templates/<template>`` filled with ``values`` (escaped by the engine), the trusted style sheet
    and script of the package inlined as they are, and the policy that allows exactly those."""
    policy = content_security_policy(style, script, images, frames)
    return ENVIRONMENT.get_template(template).render(
        policy=policy, style=Markup(style), script=Markup(script or ""), **values
    )
