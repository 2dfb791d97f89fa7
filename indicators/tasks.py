"""Celery tasks: thin, they take ids and call a service; each is safe to run twice."""

from __future__ import annotations

from celery import shared_task

from indicators.registry.importer import run_import


@shared_task(acks_late=True)
def import_extract_task(extract_id: int) -> dict:
    outcome = run_import(extract_id)
    return {"extract": outcome.extract.pk, "status": outcome.extract.status}
