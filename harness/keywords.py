"""Wrong keyword arguments to the public API: a TypeError that says what was meant and what is valid.

Python's own error (``assert_dsn() got an unexpected keyword argument 'final_recipient'``) leaves the user to find
the valid keywords in the source. A function, method or class decorated with `keywords` raises `KeywordError` (a
`TypeError` and a `MailharnessError`) instead, with the nearest valid keyword (difflib, or a hint the API gives for
a name users are known to try) and the list of valid ones in the order of the signature::

    assert_dsn() got an unexpected keyword argument 'final_recipient'; did you mean 'recipient'? Valid: ...

On a class, the check is made in ``__new__``, so it covers the class's subclasses too (every fault, a user's own
fault) and whatever makes their ``__init__`` (dataclasses), whose signature the class keeps. Only unknown
keywords are checked here; anything else (a missing argument, one given twice) is Python's usual TypeError.
"""

from __future__ import annotations

import difflib
import functools
import inspect
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any, TypeVar, overload

from .errors import KeywordError

_T = TypeVar("_T")
_KEYWORD_KINDS = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


def valid_keywords(func: Callable[..., Any]) -> tuple[str, ...] | None:
    """The names `func` takes as keywords, in the order of its signature (not `self`); None when it takes any
    (``**kwargs``)."""
    params = list(inspect.signature(func).parameters.values())
    if params and params[0].name in ("self", "cls"):
        params = params[1:]
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return None
    return tuple(p.name for p in params if p.kind in _KEYWORD_KINDS)


def nearest(name: str, valid: Collection[str], hints: Mapping[str, str] | None = None) -> str | None:
    """The valid keyword `name` was most likely meant to be: the API's hint for it, else the closest spelling."""
    if hints and hints.get(name) in valid:
        return hints[name]
    close = difflib.get_close_matches(name, list(valid), n=1, cutoff=0.6)
    return close[0] if close else None


def message(what: str, unknown: Iterable[str], valid: Collection[str], hints: Mapping[str, str] | None = None) -> str:
    """The error's text: `what` is how the call reads ("assert_dsn()", "NodeSpec()")."""
    bad = list(unknown)

    def one(name: str) -> str:
        near = nearest(name, valid, hints)
        return f"{name!r}" + (f" (did you mean {near!r}?)" if near else "")

    if len(bad) == 1:
        near = nearest(bad[0], valid, hints)
        head = f"{what} got an unexpected keyword argument {bad[0]!r}" + (f"; did you mean {near!r}?" if near else "")
    else:
        head = f"{what} got unexpected keyword arguments {', '.join(one(b) for b in bad)}"
    return f"{head}{' ' if head.endswith('?') else '. '}Valid: {', '.join(valid) or '(none)'}"


def check(what: str, given: Iterable[str], valid: Collection[str], hints: Mapping[str, str] | None = None) -> None:
    """Raise KeywordError when a keyword in `given` is not in `valid`."""
    unknown = [k for k in given if k not in valid]
    if unknown:
        raise KeywordError(message(what, unknown, valid, hints))


@functools.cache
def _init_keywords(cls: type) -> tuple[str, ...] | None:
    return valid_keywords(cls.__init__)  # type: ignore[misc]


def _checked_function(func: Callable[..., Any], hints: Mapping[str, str] | None) -> Callable[..., Any]:
    valid = valid_keywords(func)
    if valid is None:
        return func
    allowed = frozenset(valid)
    what = f"{func.__qualname__}()"

    @functools.wraps(func)
    def checked(*args: Any, **kwargs: Any) -> Any:
        __tracebackhide__ = True  # pytest shows the caller's line, not this one
        if not allowed.issuperset(kwargs):
            check(what, kwargs, valid, hints)
        return func(*args, **kwargs)

    return checked


@functools.cache
def _init_signature(cls: type) -> inspect.Signature:
    sig = inspect.signature(cls.__init__)  # type: ignore[misc]
    return sig.replace(parameters=list(sig.parameters.values())[1:], return_annotation=inspect.Signature.empty)


class _InitSignature:
    """A class's ``__signature__``, read on the class or any subclass: its ``__init__``'s, without ``self``."""

    def __get__(self, instance: object, owner: type) -> inspect.Signature:
        return _init_signature(owner)


def _checked_class(cls: type, hints: Mapping[str, str] | None) -> type:
    base_new = cls.__new__

    def __new__(klass: type, *args: Any, **kwargs: Any) -> Any:  # noqa: N807  (it is the class's __new__)
        __tracebackhide__ = True
        if kwargs:
            valid = _init_keywords(klass)
            if valid is not None:
                check(f"{klass.__qualname__}()", kwargs, valid, hints)
        if base_new is object.__new__:  # object's own takes no more than the class
            return object.__new__(klass)
        return base_new(klass, *args, **kwargs)

    setattr(cls, "__new__", staticmethod(__new__))  # noqa: B010  (mypy: a method cannot be assigned)
    # help(), inspect.signature and the API reference would read the signature of this __new__ (anything): each
    # class, a subclass too, shows its own __init__'s instead.
    setattr(cls, "__signature__", _InitSignature())  # noqa: B010
    return cls


@overload
def keywords(target: _T, /) -> _T: ...
@overload
def keywords(*, hints: Mapping[str, str]) -> Callable[[_T], _T]: ...
def keywords(target: Any = None, /, *, hints: Mapping[str, str] | None = None) -> Any:
    """Decorate a public function, method or class: a wrong keyword raises KeywordError naming the nearest valid
    one and listing them all. `hints` maps names users are known to try to the keyword they mean
    (``{"final_recipient": "recipient"}``: the DSN's field is Final-Recipient)."""

    def apply(obj: Any) -> Any:
        return _checked_class(obj, hints) if isinstance(obj, type) else _checked_function(obj, hints)

    return apply if target is None else apply(target)
