"""Programs of mapping operations, run on a map and on a dict side by side.

A program is a tuple of `Step`s. `run` applies each step to a fresh map and to a `dict` (the
oracle), compares what they return or raise, and checks `len(m)` after every step; the first
disagreement is a `Mismatch` naming the clause broken. Bulk steps (`fill`, `drop`, `rewrite`,
`churn`) are loops over a key formula, run one key at a time and printed as loops. `render`
prints a program as Python that shows the failure by itself.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sized
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mapbench.conformance.keys import FORMULAS, BadHash, KeysAndGetitem

_KIT = str(Path(__file__).resolve().parent)
MISSING = object()


@dataclass(frozen=True)
class Step:
    """One operation: `op` names an entry of `OPS`, `args` are its keys, values and ranges."""

    op: str
    args: tuple[Any, ...] = ()


Program = tuple[Step, ...]


@dataclass(frozen=True)
class Outcome:
    """What one call returned, or raised (and where in the map's code)."""

    value: Any = None
    error: Exception | None = None
    where: str = ""

    def describe(self) -> str:
        if self.error is None:
            return _short(repr(self.value))
        where = f" ({self.where})" if self.where else ""
        return f"raised {type(self.error).__name__}: {_short(str(self.error))}{where}"


@dataclass(frozen=True)
class Mismatch:
    """The first step where the map and dict disagree."""

    index: int
    clause: str
    expected: str
    got: str
    detail: str = ""


def observe(call: Callable[[], Any]) -> Outcome:
    try:
        return Outcome(call())
    except Exception as exc:  # the map's error is an outcome to compare, not a kit failure
        return Outcome(error=exc, where=where_raised(exc))


def where_raised(exc: BaseException) -> str:
    """Where the map's own code raised `exc` ("" if the kit itself raised it).

    The innermost frame of the traceback, as `traceback.extract_tb(tb)[-1]` names it, without
    reading every frame's source line: `observe` asks this of every error, dict's included.
    """
    tb = exc.__traceback__
    if tb is None:
        return ""
    while tb.tb_next is not None:
        tb = tb.tb_next
    code = tb.tb_frame.f_code
    if code.co_filename.startswith(_KIT):
        return ""
    return f"{Path(code.co_filename).name}:{tb.tb_lineno} in {code.co_name}"


def _short(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def agree(expected: Outcome, got: Outcome) -> bool:
    if expected.error is not None:
        return isinstance(got.error, type(expected.error))
    if got.error is not None:
        return False
    if expected.value is None:
        return got.value is None
    return bool(got.value == expected.value)


class State:
    """The map under test and its oracle, with what the kit knows of the map."""

    def __init__(self, m: Any, order: str) -> None:
        self.m = m
        self.oracle: dict[Any, Any] = {}
        self.order = order


Check = Callable[[State, tuple[Any, ...]], "Mismatch | None"]


@dataclass(frozen=True)
class Op:
    """How to run, check and print one kind of step."""

    check: Check
    render: Callable[[tuple[Any, ...], dict[Any, Any]], str]
    method: str = ""  # the map method the step needs ("" : the item methods only)


def _mismatch(clause: str, expected: Outcome, got: Outcome, detail: str = "") -> Mismatch:
    return Mismatch(-1, clause, expected.describe(), got.describe(), detail)


def _same(present: str, missing: str, call: Callable[..., Any], key_at: int | None = 0) -> Check:
    """A step whose result and error must be dict's: `call(target, *args)`."""

    def check(state: State, args: tuple[Any, ...]) -> Mismatch | None:
        stored = key_at is None or args[key_at] in state.oracle
        expected = observe(lambda: call(state.oracle, *args))
        got = observe(lambda: call(state.m, *args))
        return (
            None
            if agree(expected, got)
            else _mismatch(present if stored else missing, expected, got)
        )

    return check


def _setitem(t: Any, k: Any, v: Any) -> None:
    t[k] = v


def _delitem(t: Any, k: Any) -> None:
    del t[k]


def _check_iteration(state: State, _args: tuple[Any, ...]) -> Mismatch | None:
    got = observe(lambda: list(state.m))
    expected = Outcome(list(state.oracle))
    if got.error is not None:
        return _mismatch("iter", expected, got)
    listed: list[Any] = got.value
    if Counter(listed) != Counter(list(state.oracle)):
        return Mismatch(-1, "iter", _short(repr(expected.value)), _short(repr(listed)),
                        difference(listed, state.oracle))  # fmt: skip
    if state.order == "none":
        return None
    wanted = list(state.oracle) if state.order == "insertion" else sorted(state.oracle)
    if listed != wanted:
        return Mismatch(-1, "order", _short(repr(wanted)), _short(repr(listed)),
                        f"the map declares key_order = {state.order!r}")  # fmt: skip
    return None


def difference(listed: list[Any], oracle: dict[Any, Any]) -> str:
    """What iterating the map shows that dict would not: a short, exact account."""
    counts = Counter(listed)
    parts = []
    missing = [k for k in oracle if k not in counts]
    extra = [k for k in counts if k not in oracle]
    twice = [k for k, n in counts.items() if n > 1]
    if missing:
        parts.append(f"missing: {_short(repr(missing[:5]))}")
    if extra:
        parts.append(f"not stored: {_short(repr(extra[:5]))}")
    if twice:
        parts.append(f"yielded more than once: {_short(repr(twice[:5]))}")
    return f"{len(listed)} keys yielded, {len(oracle)} stored; " + "; ".join(parts)


def _check_values(state: State, _args: tuple[Any, ...]) -> Mismatch | None:
    m = state.m
    for key, value in state.oracle.items():
        try:
            if m[key] == value:
                continue
        except Exception:
            pass
        got = observe(lambda key=key: m[key])  # type: ignore[misc]
        return _mismatch("getitem", Outcome(value), got, f"m[{key!r}]")
    return None


def _check_read_during_iteration(state: State, _args: tuple[Any, ...]) -> Mismatch | None:
    got = observe(lambda: Counter(state.m[k] for k in state.m))
    expected = Outcome(Counter(state.oracle.values()))
    return None if agree(expected, got) else _mismatch("read-during-iteration", expected, got)


def _check_popitem(state: State, _args: tuple[Any, ...]) -> Mismatch | None:
    got = observe(state.m.popitem)
    if not state.oracle:
        expected = Outcome(error=KeyError("popitem(): dictionary is empty"))
        return None if agree(expected, got) else _mismatch("popitem", expected, got)
    pair = got.value
    if (
        got.error is None
        and isinstance(pair, tuple)
        and len(pair) == 2
        and pair[0] in state.oracle
        and state.oracle[pair[0]] == pair[1]
    ):
        del state.oracle[pair[0]]
        return None
    pairs = f"one of {_short(repr(list(state.oracle.items())))}"
    return Mismatch(-1, "popitem", pairs, got.describe())


def _check_eq(state: State, _args: tuple[Any, ...]) -> Mismatch | None:
    same = dict(state.oracle)
    longer = {**same, _Absent(): 0}
    changed = {k: (v, "changed") for k, v in same.items()}
    for expression, call, want in (
        ("m == d", lambda: state.m == same, True),
        ("m != d", lambda: state.m != same, False),
        ("m == d with one more key", lambda: state.m == longer, False),
        ("m == d with every value changed", lambda: state.m == changed, not same),
    ):
        got = observe(call)
        if not agree(Outcome(want), got):
            return _mismatch("eq", Outcome(want), got, expression)
    return None


class _Absent:
    """A key no map holds."""

    def __repr__(self) -> str:
        return "object()"


def _check_views(state: State, args: tuple[Any, ...]) -> Mismatch | None:
    (probe,) = args
    for name, wanted in (
        ("keys", Counter(list(state.oracle))),
        ("items", Counter(state.oracle.items())),
        ("values", Counter(state.oracle.values())),
    ):
        if not hasattr(state.m, name):
            continue
        view = observe(getattr(state.m, name))
        got = view if view.error else observe(lambda v=view.value: Counter(v))  # type: ignore[misc]
        if not agree(Outcome(wanted), got):
            return _mismatch("views", Outcome(wanted), got, f"m.{name}()")
        if isinstance(view.value, Sized):
            size = observe(lambda v=view.value: len(v))  # type: ignore[misc]
            if not agree(Outcome(len(state.oracle)), size):
                return _mismatch("views", Outcome(len(state.oracle)), size, f"len(m.{name}())")
        if name == "keys" and hasattr(view.value, "__contains__"):
            inside = observe(lambda v=view.value: probe in v)  # type: ignore[misc]
            if not agree(Outcome(probe in state.oracle), inside):
                return _mismatch("views", Outcome(probe in state.oracle), inside,
                                 f"{probe!r} in m.keys()")  # fmt: skip
    return None


Pattern = Callable[[Callable[[int], Any], int, int], tuple[tuple[str, Any, Any], ...]]


def _bulk(pattern: Pattern) -> Check:
    """A loop over the keys K(lo)..K(hi - 1) of a formula, run and checked key by key.

    `pattern` gives the (op, key, value) steps of one turn. Sets and deletes take a fast path
    (dict's result is known without `observe`); a disagreement is checked again through the
    step's own op, for its message."""

    def check(state: State, args: tuple[Any, ...]) -> Mismatch | None:
        formula, lo, hi, *rest = args
        make_key = FORMULAS[formula].make
        shift = rest[0] if rest else 0
        m, oracle = state.m, state.oracle
        for i in range(lo, hi):
            for op, key, value in pattern(make_key, i, shift):
                try:
                    if op == "set":
                        m[key] = oracle[key] = value
                        continue
                    if key in oracle:
                        del m[key]
                        del oracle[key]
                        continue
                except Exception:
                    pass
                step = Step(op, (key, value) if op == "set" else (key,))
                found = OPS[op].check(state, step.args)
                if found is not None:
                    line = render_step(step, state.oracle)
                    return Mismatch(-1, found.clause, found.expected, found.got,
                                    f"in the loop at i = {i}: {line}")  # fmt: skip
        return None

    return check


def _fill(key: Callable[[int], Any], i: int, _shift: int) -> tuple[tuple[str, Any, Any], ...]:
    return (("set", key(i), i),)


def _drop(key: Callable[[int], Any], i: int, _shift: int) -> tuple[tuple[str, Any, Any], ...]:
    return (("del", key(i), None),)


def _rewrite(key: Callable[[int], Any], i: int, shift: int) -> tuple[tuple[str, Any, Any], ...]:
    return (("set", key(i), i + shift),)


def _churn(key: Callable[[int], Any], i: int, shift: int) -> tuple[tuple[str, Any, Any], ...]:
    return (("del", key(i), None), ("set", key(i + shift), i))


def _loop(body: str) -> Callable[[tuple[Any, ...], dict[Any, Any]], str]:
    def render(args: tuple[Any, ...], _oracle: dict[Any, Any]) -> str:
        formula, lo, hi, *rest = args
        k = f"K_{formula}"
        text = body.format(k=k, n=rest[0] if rest else 0)
        return f"for i in range({lo}, {hi}): {text}"

    return render


def _r(template: str) -> Callable[[tuple[Any, ...], dict[Any, Any]], str]:
    return lambda args, _oracle: template.format(*map(literal, args))


def literal(obj: Any) -> str:
    """`repr(obj)`, with a long run of one character written as a product ('x' * 300)."""
    if isinstance(obj, str | bytes) and len(obj) > 20 and len(set(obj)) == 1:
        return f"{obj[:1]!r} * {len(obj)}"
    return repr(obj)


OPS: dict[str, Op] = {
    "set": Op(_same("setitem", "setitem", _setitem, None), _r("m[{}] = {}")),
    "get": Op(_same("getitem", "getitem-missing", lambda t, k: t[k]), _r("m[{}]")),
    "del": Op(_same("delitem", "delitem-missing", _delitem), _r("del m[{}]")),
    "in": Op(_same("contains", "contains", lambda t, k: k in t), _r("{} in m")),
    "len": Op(_same("len", "len", len, None), _r("len(m)")),
    "iter": Op(_check_iteration, _r("list(m)")),
    "values": Op(_check_values, _r("[m[k] for k in <every stored key>]")),
    "read-iter": Op(_check_read_during_iteration, _r("[m[k] for k in m]")),
    ".get": Op(_same("get", "get", lambda t, k: t.get(k)), _r("m.get({})"), "get"),
    ".get2": Op(
        _same("get-default", "get-default", lambda t, k, d: t.get(k, d)), _r("m.get({}, {})"), "get"
    ),
    ".pop": Op(_same("pop", "pop-missing", lambda t, k: t.pop(k)), _r("m.pop({})"), "pop"),
    ".pop2": Op(
        _same("pop", "pop-missing", lambda t, k, d: t.pop(k, d)), _r("m.pop({}, {})"), "pop"
    ),
    ".popitem": Op(_check_popitem, _r("m.popitem()"), "popitem"),
    ".setdefault": Op(
        _same("setdefault", "setdefault", lambda t, k: t.setdefault(k)),
        _r("m.setdefault({})"),
        "setdefault",
    ),
    ".setdefault2": Op(
        _same("setdefault", "setdefault", lambda t, k, d: t.setdefault(k, d)),
        _r("m.setdefault({}, {})"),
        "setdefault",
    ),
    ".update-dict": Op(
        _same("update", "update", lambda t, p: t.update(dict(p)), None),
        lambda a, _o: f"m.update({dict(a[0])!r})",
        "update",
    ),
    ".update-pairs": Op(
        _same("update", "update", lambda t, p: t.update(list(p)), None),
        lambda a, _o: f"m.update({list(a[0])!r})",
        "update",
    ),
    ".update-iter": Op(
        _same("update", "update", lambda t, p: t.update(iter(p)), None),
        lambda a, _o: f"m.update(iter({list(a[0])!r}))",
        "update",
    ),
    ".update-keys": Op(
        _same("update", "update", lambda t, p: t.update(KeysAndGetitem(dict(p))), None),
        lambda a, _o: f"m.update(KeysAndGetitem({dict(a[0])!r}))",
        "update",
    ),
    ".update-kwargs": Op(
        _same("update", "update", lambda t, p: t.update(**dict(p)), None),
        lambda a, _o: f"m.update(**{dict(a[0])!r})",
        "update",
    ),
    ".update-none": Op(
        _same("update", "update", lambda t: t.update(), None), _r("m.update()"), "update"
    ),
    ".clear": Op(_same("clear", "clear", lambda t: t.clear(), None), _r("m.clear()"), "clear"),
    ".eq": Op(_check_eq, lambda _a, o: f"m == {_short(repr(o), 200)}", "__eq__"),
    ".views": Op(_check_views, _r("m.keys(), m.items(), m.values()  # probing {}"), "keys"),
    "set-unhashable": Op(
        _same("failed-operation", "failed-operation", lambda t, v: _setitem(t, [0], v), None),
        _r("m[[0]] = {}"),
    ),
    "set-badhash": Op(
        _same("failed-operation", "failed-operation", lambda t, v: _setitem(t, BadHash(), v), None),
        _r("m[BadHash()] = {}"),
    ),
    "fill": Op(_bulk(_fill), _loop("m[{k}(i)] = i")),
    "drop": Op(_bulk(_drop), _loop("del m[{k}(i)]")),
    "rewrite": Op(_bulk(_rewrite), _loop("m[{k}(i)] = i + {n}")),
    "churn": Op(_bulk(_churn), _loop("del m[{k}(i)]; m[{k}(i + {n})] = i")),
}
BULK = ("fill", "drop", "rewrite", "churn")


def run(make: Callable[[], Any], program: Program, order: str) -> Mismatch | None:
    """Run `program` on a new map and on a dict; the first disagreement, or None."""
    state = State(make(), order)
    try:
        for index, step in enumerate(program):
            found = OPS[step.op].check(state, step.args)
            if found is None:
                size = observe(lambda: len(state.m))
                if not agree(Outcome(len(state.oracle)), size):
                    found = _mismatch("len", Outcome(len(state.oracle)), size, "len(m)")
            if found is not None:
                return Mismatch(index, found.clause, found.expected, found.got, found.detail)
        return None
    finally:
        state.m.close()


def render_step(step: Step, oracle: dict[Any, Any]) -> str:
    return OPS[step.op].render(step.args, oracle)


def render(program: Program, spec: str, failing: int) -> list[str]:
    """The program as Python lines, the failing step marked; the dict is replayed alongside to
    print what depends on its contents (`m == {...}`)."""
    formulas = sorted({s.args[0] for s in program if s.op in BULK})
    used = " ".join(repr(s.args) for s in program) + " ".join(FORMULAS[f].source for f in formulas)
    names = [
        n for n in ("Collider", "Text", "BadHash", "KeysAndGetitem") if f"{n}(" in used or n in used
    ]
    lines = [f"from mapbench.conformance.keys import {', '.join(names)}"] if names else []
    lines += [f"K_{f} = {FORMULAS[f].source}" for f in formulas]
    lines.append(f"m = make()  # a new {spec}")
    oracle: dict[Any, Any] = {}
    shadow = State(oracle, "none")
    for index, step in enumerate(program[: failing + 1]):
        line = render_step(step, oracle)
        lines.append(line + ("  # <- fails here" if index == failing else ""))
        OPS[step.op].check(_Oracle(shadow), step.args)
    return lines


class _Oracle(State):
    """A state whose map is the oracle itself: replaying a program on dict alone."""

    def __init__(self, state: State) -> None:
        super().__init__(state.oracle, state.order)
        self.oracle = state.oracle
