"""The clauses of the mapping contract the kit checks, each with its rule and why it matters.

Every failure names one (`mapbench conform --explain CLAUSE` prints it), so an author reads the
rule broken without a checkout of mapbench's docs. The rules are those of
`collections.abc.MutableMapping` and of `dict`, which users rely on through it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Clause:
    """One rule of the contract: `rule` says what must hold, `why` how users depend on it."""

    name: str
    rule: str
    why: str

    def explain(self) -> str:
        return f"{self.name}: {self.rule}" + (f"\n  {self.why}" if self.why else "")


_CLAUSES = (
    Clause(
        "setitem",
        "m[k] = v stores v under k: afterwards m[k] is v, k in m, and len(m) counts k once.",
        "Every workload and every user writes this way; an overwrite that does not land, or "
        "lands only in some states (at one size, after a resize), corrupts data silently.",
    ),
    Clause(
        "getitem",
        "m[k] returns the value last stored under k.",
        "Lookups are most of what a map does; a map that loses a key after deletes (a broken "
        "tombstone) or a resize fails here.",
    ),
    Clause(
        "getitem-missing",
        "m[k] of a key not stored raises KeyError (not None, not another exception).",
        "Code catches KeyError to tell a missing key from a stored None.",
    ),
    Clause("delitem", "del m[k] removes k: it is no longer in m, nor counted, nor iterated.", ""),
    Clause(
        "delitem-missing",
        "del m[k] of a key not stored raises KeyError and changes nothing.",
        "",
    ),
    Clause("contains", "k in m is True exactly for the keys stored.", ""),
    Clause("len", "len(m) is the number of distinct keys stored.", ""),
    Clause(
        "iter",
        "iter(m) yields each stored key exactly once, and no other.",
        "keys(), items(), values(), dict(m), copying and comparing are built on iteration.",
    ),
    Clause(
        "order",
        "Iteration follows the order the map declares (key_order): 'insertion' as dict "
        "(overwrites keep a key's place, a deleted and re-inserted key goes last), 'sorted' "
        "in ascending key order.",
        "A map declares an order only when it promises one; undeclared, the kit compares "
        "iterations as sets.",
    ),
    Clause("get", "m.get(k) returns m[k] for a stored key and None for a missing one.", ""),
    Clause(
        "get-default",
        "m.get(k, d) returns d for a missing key (and m[k] for a stored one).",
        "",
    ),
    Clause("pop", "m.pop(k) removes k and returns its value; m.pop(k, d) too.", ""),
    Clause(
        "pop-missing",
        "m.pop(k) of a key not stored raises KeyError; m.pop(k, d) returns d. Neither changes "
        "the map.",
        "A pop that returns None for a missing key hides the difference between 'absent' and "
        "'stored None', which MutableMapping.pop exists to make.",
    ),
    Clause(
        "popitem",
        "m.popitem() removes and returns some stored (key, value) pair; on an empty map it "
        "raises KeyError.",
        "Loops `while m: k, v = m.popitem()` and `except KeyError` rely on both halves.",
    ),
    Clause(
        "setdefault",
        "m.setdefault(k, d) returns m[k] if k is stored; else it stores d under k and returns d "
        "(d defaults to None).",
        "",
    ),
    Clause(
        "update",
        "m.update(x) takes what dict.update takes: a mapping, an object with keys() and "
        "__getitem__, an iterable of (key, value) pairs, keyword arguments, or nothing; later "
        "pairs win.",
        "",
    ),
    Clause("clear", "m.clear() removes every key; the map is then empty and usable.", ""),
    Clause(
        "eq",
        "m == d is True exactly when m holds the same pairs as the dict d, and m != d is its "
        "negation (Mapping.__eq__).",
        "Checked only for maps that define __eq__; a map without it compares by identity.",
    ),
    Clause(
        "views",
        "m.keys(), m.items() and m.values() show the current contents: the same keys, pairs "
        "and values as iteration, and (for views) their len and membership.",
        "",
    ),
    Clause(
        "equal-keys",
        "Keys that are equal and hash equal are one key, whatever their types: 1, 1.0 and "
        "True; 'a' and a str subclass equal to 'a' (Text('a')).",
        "A dict holds them as one key and code mixes them freely (a count read back as a "
        "float, a str subclass from a parser). A map that stores them apart has more keys "
        "than dict and finds some of them under the wrong value.",
    ),
    Clause(
        "colliding-hashes",
        "Keys that are not equal are distinct keys, even when their hashes collide or are "
        "negative (hash(-1) == hash(-2) in CPython).",
        "A table that compares hashes instead of keys, or reduces a negative hash to a "
        "negative slot, merges or loses such keys. The kit's Collider(n) keys hash to "
        "n % 5 - 3.",
    ),
    Clause(
        "failed-operation",
        "An operation that raises leaves the map as it was: storing an unhashable key raises "
        "TypeError, a key whose __hash__ raises passes its error on, and the map's contents "
        "and len are unchanged afterwards.",
        "Callers catch the error and carry on with the same map.",
    ),
    Clause(
        "read-during-iteration",
        "Reading m[k] (and m.get, k in m) while iterating over m works: Mapping.items() and "
        "values() read each key as they iterate.",
        "A map whose reads reorder it (an LRU cache) must iterate over a snapshot, or keep "
        "reads from changing what iteration walks.",
    ),
)
CLAUSES: dict[str, Clause] = {c.name: c for c in _CLAUSES}


__all__ = ["CLAUSES", "Clause"]
