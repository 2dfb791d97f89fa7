"""Registry extracts and what was read from them: operation rows and refused rows."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from departments.models import Department


class Registry(models.Model):
    """A clinical quality database whose extracts the portal reads (one profile each).

    Its row is also the lock that serialises imports for the registry.
    """

    slug = models.SlugField(_("kode"), max_length=40, unique=True)
    name = models.CharField(_("navn"), max_length=200)
    name_en = models.CharField(_("navn (engelsk)"), max_length=200, blank=True)
    # The installed profile's version (RegistryProfile holds every version's contents).
    version = models.PositiveIntegerField(_("profilversion"), default=0)
    # The table its rows are stored in, typed from its profile (indicators.registry.storage).
    row_table = models.CharField(max_length=63, blank=True)
    # How often an extract is expected (the profile's ``expected_every_days``; the server's
    # ``DELIVERY_EXPECTED_EVERY_DAYS`` overrides it); none: never late.
    expected_every_days = models.PositiveIntegerField(
        _("forventet levering hver (dage)"), null=True, blank=True
    )
    # Set when the newest extract became older than expected (one late episode, one e-mail);
    # cleared by the next extract (indicators.services.deliveries).
    late_since = models.DateTimeField(_("forsinket siden"), null=True, blank=True)
    late_notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("register")
        verbose_name_plural = _("registre")

    def __str__(self) -> str:
        return self.name

    def display_name(self, language: str) -> str:
        return self.name_en if language.startswith("en") and self.name_en else self.name


class RegistryProfile(models.Model):
    """One installed version of a registry's profile file (profile-format.md), as checked data.

    Versions are kept: an extract read with version 2 says so (``Extract.profile_version``).
    """

    registry = models.ForeignKey(Registry, on_delete=models.CASCADE, related_name="profiles")
    version = models.PositiveIntegerField(_("version"))
    # sha256 of the canonical contents: the same file installed twice is recognised.
    digest = models.CharField(max_length=64)
    content = models.JSONField()  # ProfileSpec.as_dict()
    source = models.CharField(_("fil"), max_length=255, blank=True)
    installed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    installed_at = models.DateTimeField(_("installeret"), default=timezone.now)

    class Meta:
        ordering = ["registry", "-version"]
        verbose_name = _("registerprofil")
        verbose_name_plural = _("registerprofiler")
        constraints = [
            models.UniqueConstraint(fields=["registry", "version"], name="one_profile_per_version")
        ]

    def __str__(self) -> str:
        return f"{self.registry.slug} v{self.version}"


class Extract(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", _("I kø")
        READING = "reading", _("Læser")
        VALIDATING = "validating", _("Validerer")
        LOADING = "loading", _("Indlæser")
        DONE = "done", _("Færdig")
        FAILED = "failed", _("Fejlet")

    registry = models.ForeignKey(Registry, on_delete=models.PROTECT, related_name="extracts")
    profile_version = models.PositiveIntegerField(default=1)
    file_name = models.CharField(_("filnavn"), max_length=255)
    sha256 = models.CharField(max_length=64, db_index=True)
    size_bytes = models.BigIntegerField(default=0)
    # The uploaded file waits here for the worker and is deleted once read: the raw file holds
    # CPR numbers, the database never does.
    upload = models.FileField(upload_to="extracts/pending/", blank=True, max_length=255)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    uploaded_at = models.DateTimeField(_("uploadet"), default=timezone.now)
    # How it came: web, cli, inbox or api (a machine client's feed token).
    via = models.CharField(_("leveret via"), max_length=10, blank=True)
    feed_token = models.ForeignKey(
        "indicators.FeedToken",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="extracts",
    )
    # The same file delivered again changes nothing but these: how often it came, and when last.
    deliveries = models.PositiveIntegerField(_("leveringer"), default=1)
    last_delivered_at = models.DateTimeField(_("senest leveret"), null=True, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error_code = models.CharField(max_length=40, blank=True)
    message_da = models.TextField(blank=True)
    message_en = models.TextField(blank=True)
    rows_read = models.PositiveIntegerField(default=0)
    rows_imported = models.PositiveIntegerField(default=0)
    rows_rejected = models.PositiveIntegerField(default=0)
    columns = models.JSONField(default=list, blank=True)
    extra_columns = models.JSONField(default=list, blank=True)
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)
    # The newest extract made current (each department's current rows: CurrentRows).
    is_current = models.BooleanField(_("aktuelt"), default=False)
    made_current_at = models.DateTimeField(null=True, blank=True)
    # Loaded, but it would take more than half of some department's rows away: it waits for a
    # coordinator to look at what changes and confirm (indicators.services.currency).
    awaiting_confirmation = models.BooleanField(_("afventer bekræftelse"), default=False)

    class Meta:
        ordering = ["-uploaded_at", "-pk"]
        # The newest delivery of each registry (/healthz, the late-delivery banner).
        indexes = [
            models.Index(fields=["registry", "status", "uploaded_at"], name="extract_newest")
        ]
        verbose_name = _("udtræk")
        verbose_name_plural = _("udtræk")
        constraints = [
            models.UniqueConstraint(
                fields=["registry"], condition=Q(is_current=True), name="one_current_extract"
            ),
            # A file is imported once: a repeat, also while the first is on its way, counts as
            # a delivery of the same extract (importer.queue_upload).
            models.UniqueConstraint(
                fields=["registry", "sha256"],
                condition=~Q(status="failed"),
                name="one_live_extract_per_file",
            ),
            models.CheckConstraint(
                name="current_extract_is_done", condition=Q(is_current=False) | Q(status="done")
            ),
            models.CheckConstraint(
                name="extract_rows_accounted_for",
                condition=~Q(status="done")
                | Q(rows_read=models.F("rows_imported") + models.F("rows_rejected")),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.registry.slug} #{self.pk} {self.file_name}"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)

    def message(self, language: str) -> str:
        return self.message_en if language == "en" and self.message_en else self.message_da


class ExtractDepartment(models.Model):
    """A department an extract holds rows of, and how many valid rows."""

    extract = models.ForeignKey(Extract, on_delete=models.CASCADE, related_name="departments")
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="+")
    rows = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["extract", "department"], name="one_count_per_extract")
        ]

    def __str__(self) -> str:
        return f"#{self.extract_id} {self.department_id}: {self.rows}"


class CurrentRows(models.Model):
    """Which extract holds a department's current rows in a registry.

    An extract replaces the current rows of exactly the departments it holds; every other
    department keeps the rows of the extract that last held it.
    """

    registry = models.ForeignKey(Registry, on_delete=models.CASCADE, related_name="current_rows")
    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="+")
    extract = models.ForeignKey(Extract, on_delete=models.PROTECT, related_name="current_for")
    rows = models.PositiveIntegerField()
    since = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("aktuelle rækker")
        verbose_name_plural = _("aktuelle rækker")
        constraints = [
            models.UniqueConstraint(
                fields=["registry", "department"], name="one_source_per_department"
            )
        ]

    def __str__(self) -> str:
        return f"{self.registry.slug} {self.department_id} ← #{self.extract_id}"


class OperationRow(models.Model):
    """One operation of a DCCG extract in canonical form, the CPR number replaced by its
    pseudonym. The DCCG registry's row table is older than profiles as files, so Django made it;
    it has exactly the columns ``storage`` makes from ``dccg.toml`` (a test checks), and the
    portal reads and writes it, like every registry's, through ``indicators.registry.storage``.
    This model is there for the admin-free checks of tests and the migrations' history."""

    # No single-column indexes on the two keys: the composite index below serves every query,
    # and each extra index costs seconds on a million-row COPY.
    extract = models.ForeignKey(
        Extract, on_delete=models.CASCADE, related_name="rows", db_index=False
    )
    line = models.PositiveIntegerField()
    pseudonym = models.CharField(max_length=32)
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    admission_date = models.DateField()
    operation_date = models.DateField()
    discharge_date = models.DateField(null=True)
    procedure_code = models.CharField(max_length=10)
    site = models.CharField(max_length=10, null=True)
    priority = models.CharField(max_length=10, null=True)
    asa = models.PositiveSmallIntegerField(null=True)
    age = models.PositiveSmallIntegerField(null=True)
    sex = models.CharField(max_length=1, null=True)
    bmi = models.FloatField(null=True)
    anastomosis = models.BooleanField(null=True)
    anastomotic_leak = models.BooleanField(null=True)
    clavien_dindo = models.CharField(max_length=4, null=True)
    reoperation_date = models.DateField(null=True)
    readmission_date = models.DateField(null=True)
    death_date = models.DateField(null=True)
    extra = models.JSONField(null=True)

    class Meta:
        db_table = "registry_dccg"  # storage.table_name("dccg"), as every registry's
        indexes = [
            models.Index(
                fields=["extract", "department", "operation_date"],
                name="indicators__extract_cc9362_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.pseudonym[:8]} {self.operation_date} {self.procedure_code}"


class RefusedRow(models.Model):
    """A row the importer refused, with the first reason (all reasons in ``details``)."""

    extract = models.ForeignKey(Extract, on_delete=models.CASCADE, related_name="refused")
    line = models.PositiveIntegerField()
    # The department the row names (blank if it names none): only that department's
    # coordinators, and administrators, may read the row (departments.access).
    department_code = models.CharField(max_length=20, blank=True, db_index=True)
    column = models.CharField(max_length=100, blank=True)
    code = models.CharField(max_length=40)
    message_da = models.TextField()
    message_en = models.TextField()
    details = models.JSONField(default=list, blank=True)
    values = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["line"]

    def __str__(self) -> str:
        return f"line {self.line}: {self.code}"

    def message(self, language: str) -> str:
        return self.message_en if language == "en" else self.message_da
