"""ASL intrinsic functions (``States.Format``, ``States.Array``, ...): parser and evaluator.

An intrinsic is parsed once into a tree of closures; arguments are literals (``'text'``,
numbers, ``true``/``false``/``null``), paths (``$.x``, ``$$.x``, ``$var``) or nested
intrinsics::

    >>> fn = compile_intrinsic("States.Format('Hello, {}!', $.name)", field="greeting.$")
    >>> fn({"name": "Ana"}, NO_ENV)
    'Hello, Ana!'
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import random
import uuid
from collections.abc import Callable
from typing import Any

from cirrus.engine.errors import INTRINSIC_FAILURE, RUNTIME, StatesError
from cirrus.engine.paths import (
    NO_ENV,
    Env,
    Getter,
    PathMissing,
    PathSyntaxError,
    compile_path,
    dumps,
)

__all__ = ["FUNCTIONS", "NO_ENV", "compile_intrinsic"]

_MAX_NESTING = 10


class _Parser:
    """Recursive-descent parser over the text of one intrinsic call."""

    def __init__(self, text: str, field: str) -> None:
        self.text = text
        self.field = field
        self.pos = 0
        self.depth = 0
        self.last_template: FormatTemplate | None = None

    def fail(self, problem: str) -> PathSyntaxError:
        return PathSyntaxError(
            f"invalid intrinsic function in {self.field!r}: {problem} "
            f"at position {self.pos} of {self.text!r}"
        )

    def skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] == " ":
            self.pos += 1

    def parse(self) -> Getter:
        self.skip_space()
        getter = self.call()
        self.skip_space()
        if self.pos != len(self.text):
            raise self.fail("unexpected text after the closing parenthesis")
        return getter

    def call(self) -> Getter:
        start = self.pos
        while self.pos < len(self.text) and (
            self.text[self.pos].isalnum() or self.text[self.pos] in "._"
        ):
            self.pos += 1
        name = self.text[start : self.pos]
        if name not in FUNCTIONS:
            self.pos = start
            raise self.fail(f"unknown function {name!r}")
        if self.pos >= len(self.text) or self.text[self.pos] != "(":
            raise self.fail(f"expected '(' after {name}")
        self.pos += 1
        self.depth += 1
        if self.depth > _MAX_NESTING:
            raise self.fail(f"more than {_MAX_NESTING} nested intrinsic functions")
        args: list[tuple[Getter, str]] = []
        self.skip_space()
        if self.pos < len(self.text) and self.text[self.pos] == ")":
            self.pos += 1
        else:
            while True:
                self.skip_space()
                arg_start = self.pos
                self.last_template = None
                getter = self.argument()
                if name == "States.Format" and not args and self.last_template is not None:
                    template = self.last_template
                    getter = lambda data, env, template=template: template  # noqa: E731
                args.append((getter, self.text[arg_start : self.pos].strip()))
                self.skip_space()
                if self.pos >= len(self.text):
                    raise self.fail("missing ')'")
                char = self.text[self.pos]
                self.pos += 1
                if char == ")":
                    break
                if char != ",":
                    self.pos -= 1
                    raise self.fail("expected ',' or ')'")
        self.depth -= 1
        arity = ARITY[name]
        if not arity[0] <= len(args) <= arity[1]:
            expected = str(arity[0]) if arity[0] == arity[1] else f"{arity[0]} to {arity[1]}"
            if arity[1] == _MANY:
                expected = f"at least {arity[0]}"
            raise PathSyntaxError(
                f"invalid intrinsic function in {self.field!r}: {name} takes {expected} "
                f"argument(s), got {len(args)} in {self.text!r}"
            )
        return _bind(name, tuple(args), self.text, self.field)

    def argument(self) -> Getter:
        text = self.text
        char = text[self.pos] if self.pos < len(text) else ""
        if char == "'":
            literal, template = self.string()
            self.last_template = template
            return lambda data, env: literal
        if char == "$":
            return self.path()
        if text.startswith("States.", self.pos):
            return self.call()
        start = self.pos
        while self.pos < len(text) and text[self.pos] not in ",) ":
            self.pos += 1
        word = text[start : self.pos]
        constant: Any
        if word == "true":
            constant = True
        elif word == "false":
            constant = False
        elif word == "null":
            constant = None
        else:
            try:
                constant = json.loads(word)
            except ValueError:
                self.pos = start
                raise self.fail(f"invalid argument {word!r}") from None
            if not isinstance(constant, int | float) or isinstance(constant, bool):
                self.pos = start
                raise self.fail(f"invalid argument {word!r}")
        return lambda data, env: constant

    def string(self) -> tuple[str, FormatTemplate]:
        """A string literal: its value, and its pieces as a States.Format template."""
        self.pos += 1  # opening quote
        out: list[str] = []
        pieces: list[str | None] = [""]  # None marks a '{}' placeholder
        text = self.text
        while self.pos < len(text):
            char = text[self.pos]
            if char == "\\" and self.pos + 1 < len(text):
                out.append(text[self.pos + 1])
                pieces[-1] = (pieces[-1] or "") + text[self.pos + 1]
                self.pos += 2
                continue
            if char == "'":
                self.pos += 1
                return "".join(out), FormatTemplate(tuple(pieces))
            if text.startswith("{}", self.pos):
                out.append("{}")
                pieces.extend([None, ""])
                self.pos += 2
                continue
            out.append(char)
            pieces[-1] = (pieces[-1] or "") + char
            self.pos += 1
        raise self.fail("unterminated string literal")

    def path(self) -> Getter:
        start = self.pos
        depth = 0
        quote = ""
        text = self.text
        while self.pos < len(text):
            char = text[self.pos]
            if quote:
                if char == quote:
                    quote = ""
            elif char in "'\"":
                quote = char
            elif char in "[(":
                depth += 1
            elif char in "])":
                if depth == 0:
                    break
                depth -= 1
            elif char == "," and depth == 0:
                break
            self.pos += 1
        path = text[start : self.pos].strip()
        getter = compile_path(path, field=self.field)
        field = self.field

        def value(data: Any, env: Env) -> Any:
            try:
                return getter(data, env)
            except PathMissing as missing:
                raise StatesError(
                    RUNTIME,
                    f"The JSONPath '{path}' specified for the field '{field}' "
                    f"could not be found in the input '{dumps(missing.data)}'",
                ) from None

        return value


def compile_intrinsic(text: str, *, field: str) -> Getter:
    """Parse an intrinsic function call into ``getter(data, env)``.

    Raises:
        PathSyntaxError: the text is not a valid intrinsic call (checked at load time).
    """
    return _Parser(text, field).parse()


def _bind(name: str, args: tuple[tuple[Getter, str], ...], text: str, field: str) -> Getter:
    impl = FUNCTIONS[name]
    getters = tuple(getter for getter, _ in args)

    def call(data: Any, env: Env) -> Any:
        values = [getter(data, env) for getter in getters]
        try:
            return impl(*values)
        except _Invalid as err:
            raise StatesError(
                INTRINSIC_FAILURE,
                f"The function '{text}' specified for the field '{field}' failed: {err}",
            ) from None

    return call


class _Invalid(Exception):
    """An intrinsic's arguments are wrong at run time."""


def _require(condition: bool, problem: str) -> None:
    if not condition:
        raise _Invalid(problem)


def _is_int(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


class FormatTemplate:
    """A States.Format template literal split at its ``{}`` placeholders (None)."""

    __slots__ = ("pieces",)

    def __init__(self, pieces: tuple[str | None, ...]) -> None:
        self.pieces = pieces


def _format(template: Any, *values: Any) -> str:
    if isinstance(template, str):
        parts = template.split("{}")
        pieces_of: list[str | None] = [parts[0]]
        for part in parts[1:]:
            pieces_of.extend([None, part])
        template = FormatTemplate(tuple(pieces_of))
    _require(isinstance(template, FormatTemplate), "the first argument must be a string")
    pieces: list[str] = []
    count = 0
    for value in values:
        pieces.append(value if isinstance(value, str) else _java_text(value))
    out: list[str] = []
    for piece in template.pieces:
        if piece is None:
            _require(count < len(pieces), "fewer arguments than '{}' placeholders")
            out.append(pieces[count])
            count += 1
        else:
            out.append(piece)
    _require(count == len(pieces), "more arguments than '{}' placeholders")
    return "".join(out)


def _java_text(value: Any) -> str:
    """A value as AWS's States.Format prints it: Java's ``toString`` of the parsed JSON,
    so objects are ``{a=1, b=[]}`` and strings inside them are not quoted."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}={_java_text(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_java_text(item) for item in value) + "]"
    if isinstance(value, str):
        return value
    return dumps(value)


def _string_to_json(value: Any) -> Any:
    _require(isinstance(value, str), "the argument must be a string")
    try:
        return json.loads(value) if value.strip() else None
    except ValueError as err:
        raise _Invalid(f"the string is not valid JSON: {err}") from None


def _json_to_string(value: Any) -> str:
    return dumps(value)


def _array(*values: Any) -> list[Any]:
    return list(values)


def _array_partition(array: Any, size: Any) -> list[Any]:
    _require(isinstance(array, list), "the first argument must be an array")
    _require(_is_int(size) and size > 0, "the chunk size must be a positive integer")
    step = int(size)
    return [array[i : i + step] for i in range(0, len(array), step)]


def _array_contains(array: Any, looking_for: Any) -> bool:
    _require(isinstance(array, list), "the first argument must be an array")
    return any(_json_equal(item, looking_for) for item in array)


def _json_equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return bool(a == b)


def _array_range(start: Any, end: Any, step: Any) -> list[int]:
    _require(_is_int(start) and _is_int(end) and _is_int(step), "arguments must be integers")
    _require(step != 0, "the step must not be 0")
    first, last, by = int(start), int(end), int(step)
    values = list(range(first, last + (1 if by > 0 else -1), by))
    _require(len(values) <= 1000, "the range has more than 1000 items")
    return values


def _array_get_item(array: Any, index: Any) -> Any:
    _require(isinstance(array, list), "the first argument must be an array")
    _require(_is_int(index) and index >= 0, "the index must be a non-negative integer")
    _require(int(index) < len(array), "the index provided is out of bounds")
    return array[int(index)]


def _array_length(array: Any) -> int:
    _require(isinstance(array, list), "the argument must be an array")
    return len(array)


def _array_unique(array: Any) -> list[Any]:
    _require(isinstance(array, list), "the argument must be an array")
    seen: list[Any] = []
    for item in array:
        if not any(_json_equal(item, other) for other in seen):
            seen.append(item)
    return seen


def _base64_encode(value: Any) -> str:
    _require(isinstance(value, str), "the argument must be a string")
    _require(len(value) <= 10000, "the input is longer than 10000 characters")
    return base64.b64encode(value.encode("utf-8")).decode("ascii")


def _base64_decode(value: Any) -> str:
    _require(isinstance(value, str), "the argument must be a string")
    _require(len(value) <= 10000, "the input is longer than 10000 characters")
    try:
        return base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as err:
        raise _Invalid(f"the input is not valid base64: {err}") from None


_HASHES = {
    "MD5": "md5",
    "SHA-1": "sha1",
    "SHA-256": "sha256",
    "SHA-384": "sha384",
    "SHA-512": "sha512",
}


def _hash(value: Any, algorithm: Any) -> str:
    _require(isinstance(value, str), "the data to hash must be a string")
    _require(len(value) <= 10000, "the input is longer than 10000 characters")
    _require(
        algorithm in _HASHES,
        f"the algorithm must be one of {', '.join(_HASHES)}, got {dumps(algorithm)}",
    )
    digest = hashlib.new(_HASHES[algorithm], value.encode("utf-8"))
    return digest.hexdigest()


def _json_merge(first: Any, second: Any, deep: Any) -> dict[str, Any]:
    _require(isinstance(first, dict) and isinstance(second, dict), "both inputs must be objects")
    _require(deep is False, "only a shallow merge is supported: the third argument must be false")
    merged = dict(first)
    merged.update(second)
    return merged


def _java_round(value: Any, what: str) -> int:
    """A number rounded as AWS's math intrinsics round it (Java ``Math.round``: halves go
    up, so 1.5 is 2 and -1.5 is -1)."""
    _require(
        isinstance(value, int | float) and not isinstance(value, bool), f"{what} must be numbers"
    )
    return int(value) if isinstance(value, int) else math.floor(value + 0.5)


def _math_random(start: Any, end: Any, seed: Any = None) -> int:
    low = _java_round(start, "start and end")
    high = _java_round(end, "start and end")
    _require(low < high, "start must be less than end")
    if seed is not None:
        rng = random.Random(_java_round(seed, "the seed"))  # noqa: S311 - not for security
        return rng.randrange(low, high)
    return random.randrange(low, high)  # noqa: S311 - not for security


def _math_add(a: Any, b: Any) -> int:
    return _java_round(a, "both arguments") + _java_round(b, "both arguments")


def _string_split(value: Any, delimiters: Any) -> list[str]:
    _require(isinstance(value, str), "the first argument must be a string")
    _require(isinstance(delimiters, str), "the delimiter must be a string")
    parts: list[str] = []
    current: list[str] = []
    for char in value:
        if char in delimiters:
            if current:
                parts.append("".join(current))
            current = []
        else:
            current.append(char)
    if current:
        parts.append("".join(current))
    return parts


def _uuid() -> str:
    return str(uuid.uuid4())


_MANY = math.inf

FUNCTIONS: dict[str, Callable[..., Any]] = {
    "States.Format": _format,
    "States.StringToJson": _string_to_json,
    "States.JsonToString": _json_to_string,
    "States.Array": _array,
    "States.ArrayPartition": _array_partition,
    "States.ArrayContains": _array_contains,
    "States.ArrayRange": _array_range,
    "States.ArrayGetItem": _array_get_item,
    "States.ArrayLength": _array_length,
    "States.ArrayUnique": _array_unique,
    "States.Base64Encode": _base64_encode,
    "States.Base64Decode": _base64_decode,
    "States.Hash": _hash,
    "States.JsonMerge": _json_merge,
    "States.MathRandom": _math_random,
    "States.MathAdd": _math_add,
    "States.StringSplit": _string_split,
    "States.UUID": _uuid,
}

ARITY: dict[str, tuple[int, float]] = {
    "States.Format": (1, _MANY),
    "States.StringToJson": (1, 1),
    "States.JsonToString": (1, 1),
    "States.Array": (0, _MANY),
    "States.ArrayPartition": (2, 2),
    "States.ArrayContains": (2, 2),
    "States.ArrayRange": (3, 3),
    "States.ArrayGetItem": (2, 2),
    "States.ArrayLength": (1, 1),
    "States.ArrayUnique": (1, 1),
    "States.Base64Encode": (1, 1),
    "States.Base64Decode": (1, 1),
    "States.Hash": (2, 2),
    "States.JsonMerge": (3, 3),
    "States.MathRandom": (2, 3),
    "States.MathAdd": (2, 2),
    "States.StringSplit": (2, 2),
    "States.UUID": (0, 0),
}
