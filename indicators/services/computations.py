"""Recomputing results: the one entry point every import, edit, command and task goes through.

A computation reads the current extract's rows, computes with the engine and, in one
transaction holding the registry's lock, writes its results, copies the results it did not
recompute from the current computation (a partial recompute: one department's target, one
definition, one change marker) and becomes current. Readers see the old results or the new,
never half; a failure leaves the old ones current; running a computation twice does nothing
the second time (it is claimed with a conditional UPDATE).

The rows are read and computed before the lock is taken, so a page can follow the progress;
under the lock the inputs are read again and, if a definition, a target or the extract changed
meanwhile, computed again there, so the results always match what they claim to be from.
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from indicators import engine, rules
from indicators.models import (
    Computation,
    DepartmentIndicator,
    Extract,
    IndicatorDefinition,
    Registry,
    Result,
)
from indicators.services import currency
from indicators.services.rows import Source, read_current_rows

logger = logging.getLogger(__name__)
S = Computation.Status
_RESULT_FIELDS = [
    "computation_id", "definition_id", "department_id", "period_type", "period_start",
    "numerator", "denominator", "missing", "value", "ci_low", "ci_high", "mean", "q1", "q3",
    "target", "target_status",
]  # fmt: skip
_FLOATS = {"value", "ci_low", "ci_high", "mean", "q1", "q3", "target"}
_INTS = {"computation_id", "definition_id", "department_id", "numerator", "denominator", "missing"}


class ComputationError(Exception):
    """A computation that cannot be done, with the reason in Danish and English."""

    def __init__(self, da: str, en: str) -> None:
        self.da, self.en = da, en
        super().__init__(en)


def _ids(items: Iterable | None) -> list[int] | None:
    """Model instances or ids as sorted ids; None or empty means every one."""
    if items is None:
        return None
    ids = sorted({int(getattr(item, "pk", item)) for item in items})
    return ids or None


def spec_of(definition: IndicatorDefinition) -> engine.DefinitionSpec:
    return engine.DefinitionSpec(
        id=definition.pk,
        slug=definition.slug,
        kind=definition.kind,
        population=definition.population,
        missing=definition.missing,
        event=definition.event,
        measure=definition.measure,
        lower_is_better=definition.lower_is_better,
        default_target=definition.default_target,
        department_id=definition.department_id,
    )


# --- entry points -----------------------------------------------------------------------------


def create_computation(
    registry: Registry,
    *,
    reason: str,
    departments: Iterable | None = None,
    definitions: Iterable | None = None,
) -> Computation:
    """A queued computation of the registry's current extract (all of it, or the scope given)."""
    extract = Extract.objects.filter(registry=registry, is_current=True).first()
    scope = {"departments": _ids(departments), "definitions": _ids(definitions)}
    return Computation.objects.create(
        registry=registry,
        extract=extract,
        reason=reason[:200],
        scope={k: v for k, v in scope.items() if v is not None},
    )


def recompute(
    registry: Registry,
    *,
    reason: str,
    departments: Iterable | None = None,
    definitions: Iterable | None = None,
) -> Computation:
    """Recompute now (the command and eager setups): every result, or only those of the given
    departments and/or definitions, the rest copied from the current computation."""
    computation = create_computation(
        registry, reason=reason, departments=departments, definitions=definitions
    )
    return run_computation(computation.pk)


def run_computation(computation_id: int) -> Computation:
    """Claim a queued computation and run it; a repeated call changes nothing."""
    now = timezone.now()
    # A computation left "running" by a worker that died (its transaction rolled back) may be
    # claimed again once it has certainly timed out.
    stale = now - timedelta(seconds=getattr(settings, "CELERY_TASK_TIME_LIMIT", 3600) + 60)
    claimed = (
        Computation.objects.filter(pk=computation_id)
        .filter(Q(status=S.QUEUED) | Q(status=S.RUNNING, started_at__lt=stale))
        .update(status=S.RUNNING, progress=5, started_at=now, error_da="", error_en="")
    )
    if claimed:
        try:
            _execute(Computation.objects.select_related("registry").get(pk=computation_id))
        except ComputationError as exc:
            _fail(computation_id, exc.da, exc.en)
        except rules.RuleInvalid as exc:
            _fail(computation_id, "; ".join(exc.messages("da")), "; ".join(exc.messages("en")))
        except Exception as exc:
            logger.exception("computation %s failed", computation_id)
            detail = f"{type(exc).__name__}: {exc}"[:500]
            _fail(
                computation_id,
                f"Beregningen fejlede ({detail}).",
                f"The computation failed ({detail}).",
                retry=True,
            )
    return Computation.objects.select_related("registry", "extract").get(pk=computation_id)


MAX_ATTEMPTS = 3


def _fail(computation_id: int, da: str, en: str, *, retry: bool = False) -> None:
    """The computation failed. One that may succeed another time (``retry``: not a rule or a
    missing extract) goes back to the queue, where beat's ``requeue_stale`` sends it again, until
    it has failed ``MAX_ATTEMPTS`` times."""
    if connection.connection is not None and not connection.is_usable():
        connection.close()  # the old connection died; the failure is written on a new one
    computation = Computation.objects.filter(pk=computation_id)
    computation.update(attempts=F("attempts") + 1, error_da=da, error_en=en)
    if retry and computation.filter(attempts__lt=MAX_ATTEMPTS).update(status=S.QUEUED, progress=0):
        return
    computation.update(status=S.FAILED, progress=100, finished_at=timezone.now())


def _progress(computation_id: int, progress: int) -> None:
    Computation.objects.filter(pk=computation_id).update(progress=progress)


# --- one computation --------------------------------------------------------------------------


@dataclass
class _Plan:
    """What to recompute: the current rows (each department's from the extract that last held
    it: ``sources``), and the departments and definitions in scope (None: all), or everything
    when the current computation is missing or read other rows."""

    extract_id: int | None  # the newest current extract, for the pages to name
    sources: list[list]
    base: Computation | None
    departments: list[int] | None
    definitions: list[int] | None

    @classmethod
    def make(cls, computation: Computation) -> _Plan:
        registry = computation.registry
        extract = Extract.objects.filter(registry=registry, is_current=True).first()
        base = Computation.objects.filter(registry=registry, is_current=True).first()
        extract_id = extract.pk if extract else None
        found = currency.sources(registry)
        if base is None or base.sources != found:
            return cls(extract_id, found, None, None, None)
        scope = computation.scope
        return cls(extract_id, found, base, scope.get("departments"), scope.get("definitions"))

    @property
    def is_partial(self) -> bool:
        return self.departments is not None or self.definitions is not None

    def same_work(self, other: _Plan) -> bool:
        return (self.sources, self.departments, self.definitions) == (
            other.sources,
            other.departments,
            other.definitions,
        )


@dataclass
class _Inputs:
    """Everything the recomputed results depend on besides the rows."""

    definitions: list[engine.DefinitionSpec]
    targets: dict[tuple[int, int], float]

    @classmethod
    def read(cls, registry: Registry, definition_ids: list[int] | None) -> _Inputs:
        definitions = IndicatorDefinition.objects.filter(profile=registry.slug, is_active=True)
        if definition_ids is not None:
            definitions = definitions.filter(pk__in=definition_ids)
        definitions = list(definitions.order_by("pk"))
        errors = [
            rules.RuleError(f"{definition.slug}.{e.path}", e.da, e.en)
            for definition in definitions
            for found in definition.rule_errors().values()
            for e in found
        ]
        if errors:
            raise rules.RuleInvalid(errors)
        chosen = DepartmentIndicator.objects.filter(
            definition__profile=registry.slug, target__isnull=False
        ).values_list("department_id", "definition_id", "target")
        return cls(
            definitions=[spec_of(d) for d in definitions],
            targets={(dept, defn): target for dept, defn, target in chosen},
        )


def _compute(registry: Registry, plan: _Plan, inputs: _Inputs, timings: dict) -> pd.DataFrame:
    if not plan.sources:
        raise ComputationError(
            f"Der er intet aktuelt udtræk for {registry.name}; indlæs et udtræk først.",
            f"There is no current extract for {registry.name}; import an extract first.",
        )
    started = time.perf_counter()
    rows = read_current_rows(
        Source.of(registry),
        currency.restrict(plan.sources, plan.departments),
        engine.needed_fields(inputs.definitions),
    )
    timings["read"] = round(time.perf_counter() - started, 4)
    timings["rows"] = len(rows)
    started = time.perf_counter()
    frame = engine.compute_results(
        rows,
        inputs.definitions,
        inputs.targets,
        departments=plan.departments,
        include_all=plan.departments is None,
    )
    timings["compute"] = round(time.perf_counter() - started, 4)
    return frame


def _execute(computation: Computation) -> None:
    registry, timings = computation.registry, {}
    plan = _Plan.make(computation)
    inputs = _Inputs.read(registry, plan.definitions)
    frame = _compute(registry, plan, inputs, timings)
    _progress(computation.pk, 70)
    with transaction.atomic():
        # The registry row is the lock: computations (and imports) of a registry take turns,
        # and each copies from the computation the one before it made current.
        Registry.objects.select_for_update().get(pk=registry.pk)
        fresh_plan = _Plan.make(computation)
        fresh = _Inputs.read(registry, fresh_plan.definitions)
        if not fresh_plan.same_work(plan) or fresh != inputs:
            # The extract, a definition or a target changed while we computed: again, locked.
            timings["again"] = True
            frame = _compute(registry, fresh_plan, fresh, timings)
        plan = fresh_plan
        started = time.perf_counter()
        written = _write_results(computation.pk, frame)
        copied = 0
        if plan.is_partial:
            copied = _copy_results(computation.pk, plan.base.pk, plan.departments, plan.definitions)
        timings["write"] = round(time.perf_counter() - started, 4)
        Computation.objects.filter(registry=registry, is_current=True).update(is_current=False)
        scope = {"departments": plan.departments, "definitions": plan.definitions}
        Computation.objects.filter(pk=computation.pk).update(
            status=S.DONE,
            progress=100,
            is_current=True,
            extract_id=plan.extract_id,
            sources=plan.sources,
            base=plan.base if plan.is_partial else None,
            scope={k: v for k, v in scope.items() if v is not None},
            result_count=written + copied,
            finished_at=timezone.now(),
            timings=timings,
        )
    _prune(registry)


def _prune(registry: Registry) -> None:
    """Drop the results of computations older than the one the current one replaced (a reader
    that looked up the previous current computation a moment ago can still read its results).

    It runs after the commit, under the registry's lock: by then a newer computation may have
    become current, and what is kept is decided from what is current now, not from what this
    computation knew.
    """
    try:
        with transaction.atomic():
            Registry.objects.select_for_update().get(pk=registry.pk)
            newest = Computation.objects.filter(registry=registry, status=S.DONE).order_by(
                "-finished_at", "-pk"
            )[:2]
            keep = {pk for row in newest.values_list("pk", "base_id") for pk in row if pk}
            Result.objects.filter(computation__registry=registry).exclude(
                computation_id__in=keep
            ).delete()
    except DatabaseError:  # only housekeeping: the next computation tries again
        logger.exception("could not prune old results of %s", registry.slug)


# --- writing ----------------------------------------------------------------------------------


def _write_results(computation_id: int, frame: pd.DataFrame) -> int:
    if frame.empty:
        return 0
    table = frame.assign(computation_id=computation_id)[_RESULT_FIELDS]
    if connection.vendor == "postgresql":
        _copy_in(table)
    else:
        _insert_rows(table)
    return len(table)


def _copy_in(table: pd.DataFrame) -> None:
    buffer = io.StringIO()
    # Every text value is non-empty, so an empty field can stand for NULL; floats are written
    # as repr() (the shortest text that reads back as the same double).
    table.to_csv(buffer, header=False, index=False, date_format="%Y-%m-%d", na_rep="")
    columns = ", ".join(_RESULT_FIELDS)
    sql = f"COPY {Result._meta.db_table} ({columns}) FROM STDIN WITH (FORMAT csv, NULL '')"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        copy.write(buffer.getvalue())


def _insert_rows(table: pd.DataFrame) -> None:
    """Plain INSERTs (SQLite), the values made Python ints, floats, dates and None."""
    columns = {name: table[name].to_numpy(dtype=object) for name in _RESULT_FIELDS}
    columns["period_start"] = pd.to_datetime(table["period_start"]).dt.date.to_numpy(dtype=object)
    for name, values in columns.items():
        if name in _FLOATS:
            floats = table[name].to_numpy(dtype=float)
            values = np.where(np.isnan(floats), None, floats.astype(object))
        elif name in _INTS:
            values = [None if pd.isna(v) else int(v) for v in values]
        else:  # a text column's blanks arrive as NaN once any value is set (pandas' str dtype)
            values = [None if pd.isna(v) else v for v in values]
        columns[name] = values
    marks = ", ".join(["%s"] * len(_RESULT_FIELDS))
    columns_sql = ", ".join(_RESULT_FIELDS)
    sql = f"INSERT INTO {Result._meta.db_table} ({columns_sql}) VALUES ({marks})"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.executemany(sql, list(zip(*columns.values(), strict=True)))


def _copy_results(computation_id: int, base_id: int, departments, definitions) -> int:
    """Copy the base computation's results outside the recomputed scope, in one statement."""
    keep = []
    params: list[int] = [computation_id, base_id]
    if definitions is not None:
        keep.append(f"definition_id NOT IN ({', '.join(['%s'] * len(definitions))})")
        params.extend(definitions)
    if departments is not None:
        marks = ", ".join(["%s"] * len(departments))
        keep.append(f"department_id IS NULL OR department_id NOT IN ({marks})")
        params.extend(departments)
    columns = ", ".join(_RESULT_FIELDS[1:])
    table = Result._meta.db_table
    sql = (
        f"INSERT INTO {table} (computation_id, {columns}) "  # noqa: S608 (no user text)
        f"SELECT %s, {columns} FROM {table} WHERE computation_id = %s AND ({' OR '.join(keep)})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount
