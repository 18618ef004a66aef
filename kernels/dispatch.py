"""Integer dispatch written out from a table: the optimizer rules and the landscape families.

:func:`chain` builds ``f(key, …)`` as one flat ``if key == id: table[id](…) elif …`` chain, the
``unknown`` function at its end. Written out from the table, so it cannot drift from it; flat,
so each entry is compiled into the chain once (a chain of nested two-way dispatches compiled the
entries below each link again: 1.5× the kernels' compile time). Ids that map to the same
function share one branch (``if key == a or key == b``), so a function serving several ids is
compiled into the chain once too. Where the key is a compile-time constant (the CUDA kernels,
built per landscape family) the chain folds to the one branch taken.

:func:`check` is the completeness test run when a table is built: every id of the set must have
an entry and no entry may lie outside it, else ImportError naming them.
"""


def check(where, what, ids, table):
    """ImportError unless ``table``'s keys are exactly ``ids``."""
    missing = sorted(set(ids) - set(table))
    extra = sorted(set(table) - set(ids))
    if missing or extra:
        raise ImportError(f"{where}: {what} ids {missing} have no entry (and {extra} are not "
                          f"among the ids {sorted(ids)})")


def chain(jit, name, key, args, table, unknown, ret=False, keyed=False):
    """``name(key, args…)`` calling ``table[key](args…)`` (``unknown(key, args…)`` for a key
    without an entry); ``args`` a comma-separated string of argument names; ``ret``: return
    the entry's value; ``keyed``: the entries take the key too, ``table[key](key, args…)``.
    Ids sharing a function share one branch, in the order of their smallest id; an empty
    table gives a function that calls ``unknown`` for every key."""
    groups = {}
    for kid in sorted(table):
        groups.setdefault(id(table[kid]), []).append(int(kid))
    call = "return " if ret else ""
    cargs = f"{key}, {args}" if keyed else args
    lines = [f"def {name}({key}, {args}):"]
    scope = {"unknown": unknown}
    for n, kids in enumerate(groups.values()):
        test = " or ".join(f"{key} == {k}" for k in kids)
        lines += [f"    {'if' if n == 0 else 'elif'} {test}:",
                  f"        {call}f{kids[0]}({cargs})"]
        scope[f"f{kids[0]}"] = table[kids[0]]
    if groups:
        lines += ["    else:", f"        {call}unknown({key}, {args})"]
    else:                                   # an empty table: every key is unknown
        lines += [f"    {call}unknown({key}, {args})"]
    exec("\n".join(lines), scope)           # noqa: S102 - source built above from int ids
    return jit(scope[name])
