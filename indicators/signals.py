"""An extract's rows are a table of their own on PostgreSQL; it goes when the extract goes."""

from django.db.models.signals import post_delete
from django.dispatch import receiver

from indicators.models import Extract, Registry
from indicators.registry.load import drop_partition


@receiver(post_delete, sender=Extract, dispatch_uid="drop_extract_partition")
def drop_rows_table(sender, instance: Extract, **kwargs) -> None:
    table = Registry.objects.filter(pk=instance.registry_id).values_list("row_table", flat=True)
    if table and table[0]:
        drop_partition(table[0], instance.pk)
