"""A value checked against one of latentlab's published JSON Schemas (latentlab/schemas/<name>.schema.json,
draft 2020-12), and what is wrong with it in words: the field's path, what was expected and what was found
(``history[3].lr: expected a number, found the string "0.1"``). Reading and refusing a file is ``recorded``'s.
"""

from __future__ import annotations

import ast
import functools
import json
import math
import re
from pathlib import Path
from typing import Any

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"


def schema_path(name: str) -> Path:
    return SCHEMAS / f"{name}.schema.json"


def _is_whole_number(checker, instance) -> bool:
    """JSON Schema's integer is any number without a fraction (2.0 too); latentlab writes whole numbers as such,
    and its readers count, index and shape with them, so 2.0 is refused where a whole number is recorded."""
    return isinstance(instance, int) and not isinstance(instance, bool)


@functools.cache
def _validator(name: str):
    from jsonschema import Draft202012Validator, validators
    from referencing import Registry, Resource

    schemas = {path.name: json.loads(path.read_text(encoding="utf-8")) for path in SCHEMAS.glob("*.schema.json")}
    registry = Registry().with_resources((file, Resource.from_contents(contents)) for file, contents in schemas.items())
    strict = validators.extend(
        Draft202012Validator, type_checker=Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_whole_number)
    )
    return strict(schemas[schema_path(name).name], registry=registry)


def problem(value: Any, schema: str) -> str | None:
    """What is wrong with ``value`` against the schema ``schema``, in words ("test_elbo: expected a number,
    found the string "-37.5""), or None."""
    from jsonschema.exceptions import best_match

    try:
        errors = list(_validator(schema).iter_errors(value))
    except RecursionError:
        return "it is nested too deeply to be one of latentlab's files"
    except TypeError:  # a key that is not a string: only a pickle (a checkpoint) can hold one
        return "it holds an object whose field names are not all strings"
    # A field that fails inside a $ref leaves its object's every field "unevaluated": name the field that failed.
    error = best_match([e for e in errors if e.validator != "unevaluatedProperties"] or errors)
    if error is None:
        return None
    where = field_path(error.absolute_path)
    return f"{where}: {_words(error)}" if where else _words(error)


IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def field_path(parts) -> str:
    """``["history", 3, "lr"]`` -> ``history[3].lr``; a key that is not a plain name is quoted: ``train["Ankle boot"]``."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif isinstance(part, str) and IDENTIFIER.fullmatch(part):
            text += f".{part}" if text else part
        else:
            text += f"[{shown(part)}]"
    return text


TYPES = {
    "number": "a number",
    "integer": "a whole number",
    "string": "a string",
    "boolean": "true or false",
    "object": "an object",
    "array": "a list",
    "null": "null",
}


def _words(error) -> str:
    """One schema error in words: what was expected, and what was found."""
    kind, expected, found = error.validator, error.validator_value, error.instance
    if kind == "type":
        types = [expected] if isinstance(expected, str) else expected
        return f"expected {' or '.join(TYPES[t] for t in types)}, found {described(found)}"
    if kind == "required":
        missing = [name for name in expected if isinstance(found, dict) and name not in found]
        return f"the field {shown(missing[0] if missing else expected[0])} is missing"
    if kind == "dependentRequired":
        lacking = [
            (name, needed)
            for name, needs in expected.items()
            if name in found
            for needed in needs
            if needed not in found
        ]
        name, needed = lacking[0] if lacking else ("?", "?")
        return f"the field {shown(needed)} is missing, which {shown(name)} is written with"
    if kind in ("additionalProperties", "unevaluatedProperties"):
        return f"unexpected field {shown(_extra(error))}"
    if kind == "enum":
        return f"expected one of {', '.join(map(shown, expected))}, found {described(found)}"
    if kind == "const":
        return f"expected {shown(expected)}, found {described(found)}"
    if kind in LIMITS:
        return f"expected {LIMITS[kind].format(expected)}, found {described(found)}"
    if kind == "pattern":
        return f"{described(found)} is not in the expected form (the pattern {expected})"
    if kind == "multipleOf":
        return f"expected a multiple of {expected}, found {described(found)}"
    return f"{described(found)} does not satisfy the schema's {kind} {shown(expected)}"


LIMITS = {
    "minimum": "at least {}",
    "maximum": "at most {}",
    "exclusiveMinimum": "more than {}",
    "exclusiveMaximum": "less than {}",
    "minItems": "a list of at least {} items",
    "maxItems": "a list of at most {} items",
    "minLength": "a string of at least {} characters",
    "minProperties": "an object with at least {} fields",
}


def _extra(error) -> str:
    """The first field of the object in ``error`` that its schema does not allow."""
    if error.validator == "unevaluatedProperties":  # which fields the $refs evaluated, only the validator knows
        listed = re.search(r"\((.*) (?:was|were) unexpected\)", error.message)
        try:
            return ast.literal_eval(f"[{listed.group(1)}]")[0] if listed else "?"
        except (ValueError, SyntaxError, IndexError):
            return "?"
    allowed = set(error.schema.get("properties", {}))
    patterns = [re.compile(p) for p in error.schema.get("patternProperties", {})]
    extra = [key for key in error.instance if key not in allowed and not any(p.search(key) for p in patterns)]
    return extra[0] if extra else "?"


def shown(value: Any, limit: int = 60) -> str:
    """A value as JSON, cut to ``limit`` characters, with every character that is not printable escaped."""
    if isinstance(value, str) and len(value) > limit:
        value = value[:limit] + "…"
    try:
        text = json.dumps(value, ensure_ascii=False) if not isinstance(value, (list, dict)) else type(value).__name__
    except (TypeError, ValueError):  # not a JSON value: a checkpoint's pickle can hold one
        text = f"a {type(value).__name__}"
    return "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in text)


def described(value: Any) -> str:
    """What was found, in words: the string "-37.5", the number 3, a list of 2 items, an object, null."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, str):
        return f"the string {shown(value)}"
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            return f"the number {value}"
        try:
            text = str(value)
        except ValueError:  # an integer longer than Python prints
            return f"a number of {value.bit_length()} bits"
        return f"the number {text if len(text) <= 30 else text[:12] + '…' + text[-6:]}"
    if isinstance(value, list):
        return f"a list of {len(value)} item{'s' if len(value) != 1 else ''}"
    if isinstance(value, dict):
        return f"an object with {len(value)} field{'s' if len(value) != 1 else ''}"
    return f"a {type(value).__name__}"
